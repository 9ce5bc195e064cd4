"""Rate limits of the contract (§1.7), applied by endpoints that need them."""

from __future__ import annotations

from sanic import Request

from helpers.rate_limit import RateLimiter
from services.errors import TooManyRequests


def build_limiters(settings) -> dict[str, RateLimiter]:
    return {
        "login": RateLimiter(*settings.RATE_LIMIT_LOGIN),
        "signup": RateLimiter(*settings.RATE_LIMIT_SIGNUP),
        "orders": RateLimiter(*settings.RATE_LIMIT_ORDERS),
    }


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "-"


def _keys(request: Request, extra_key: str | None) -> list[str]:
    keys = ["ip:" + client_ip(request)]
    if extra_key:
        keys.append("value:" + extra_key.strip().lower())
    return keys


def check_limit(request: Request, name: str, extra_key: str | None = None) -> None:
    """429 when the caller is over the named limit."""
    if not request.app.ctx.settings.RATE_LIMITS_ENABLED:
        return
    limiter = request.app.ctx.limiters[name]
    for key in _keys(request, extra_key):
        retry_after = limiter.retry_after(key)
        if retry_after is not None:
            raise TooManyRequests(retry_after)


def count_hit(request: Request, name: str, extra_key: str | None = None) -> None:
    if not request.app.ctx.settings.RATE_LIMITS_ENABLED:
        return
    limiter = request.app.ctx.limiters[name]
    for key in _keys(request, extra_key):
        limiter.hit(key)


def limit_request(request: Request, name: str) -> None:
    """Check and count in one go (signup and order limits count every request)."""
    check_limit(request, name)
    count_hit(request, name)
