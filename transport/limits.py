"""Rate limits of the contract (§1.7), applied by the endpoints that need them.

Counted per client IP and route (failed logins per route kind, IP and login value), in Redis
when REDIS_URL is set, so every worker and host sees the same counts, else in the process.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sanic import Request

from helpers.phones import normalize_phone
from helpers.rate_limit import RateLimits
from services.errors import NotFound, TooManyRequests, Unauthorized


def build_rate_limits(settings) -> RateLimits:
    rules = {
        "login": settings.RATE_LIMIT_LOGIN,
        "signup": settings.RATE_LIMIT_SIGNUP,
        "orders": settings.RATE_LIMIT_ORDERS,
    }
    return RateLimits(
        rules, settings.REDIS_URL, settings.REDIS_KEY_PREFIX, settings.REDIS_TIMEOUT_S
    )


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "-"


def login_key(value: str) -> str:
    """One key for every way of typing a login (case, spaces, a phone's punctuation); hashed, so
    the counters hold no addresses or phone numbers."""
    normal = normalize_phone(value) or value.strip().lower()
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def _enabled(request: Request) -> bool:
    return request.app.ctx.settings.RATE_LIMITS_ENABLED


async def limit_request(request: Request, name: str, value: str | None = None) -> None:
    """Counts this request against the named limit for the client's IP on this route, and with
    `value` (a login) for that value on this route from any IP; 429 when over."""
    if not _enabled(request):
        return
    route = request.ctx.route_spec.name
    keys = [(route, client_ip(request))]
    if value is not None:
        keys.append((route, "login", login_key(value)))
    for key in keys:
        retry_after = await request.app.ctx.rate_limits.hit(name, *key)
        if retry_after is not None:
            raise TooManyRequests(retry_after)


@asynccontextmanager
async def login_attempt(request: Request, kind: str, login: str | None = None) -> AsyncIterator:
    """429 when this IP has used up its failed attempts at this kind of login for this login
    value; a failure inside the block (NotFound, Unauthorized) counts one."""
    if not _enabled(request):
        yield
        return
    key = (kind, client_ip(request))
    if login is not None:
        key += (login_key(login),)
    limits = request.app.ctx.rate_limits
    retry_after = await limits.retry_after("login", *key)
    if retry_after is not None:
        raise TooManyRequests(retry_after)
    try:
        yield
    except (NotFound, Unauthorized):
        await limits.hit("login", *key)
        raise
