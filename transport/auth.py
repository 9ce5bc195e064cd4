"""Auth guards: parse the Authorization header and check the caller kinds a route allows."""

from __future__ import annotations

import binascii
import hmac
from base64 import b64decode
from typing import Any

from sanic import Request

from db.direct import DirectReads
from services import onec_exchange
from services.auth import Principal, defer_principal, load_principal
from services.errors import NotFound, PermissionDenied, Unauthorized
from transport.http import request_reads, request_session

_PREFIXES = ("bearer ", "token ")


def bearer_token(request: Request) -> str | None:
    """The raw token, `Bearer <t>` or `Token <t>`; empty, `null` and `undefined` mean none."""
    value = (request.headers.get("authorization") or "").strip()
    lowered = value.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            value = value[len(prefix) :].strip()
            break
    if value.lower() in {"", "null", "undefined"}:
        return None
    return value


async def current_principal(request: Request) -> Principal | None:
    token = bearer_token(request)
    if token is None:
        return None
    secret = request.app.ctx.settings.JWT_SECRET
    if request.app.ctx.db.dialect == "sqlite":
        # SQLite takes its write lock at BEGIN: a shared session would hold it all request long.
        async with request.app.ctx.db.session() as session:
            return await load_principal(session, secret, token)
    reads = request_reads(request)
    if isinstance(reads, DirectReads):
        principal = defer_principal(reads, secret, token)
        if principal is not None:
            return principal
    return await load_principal(reads, secret, token)


async def authorize(request: Request, auth: tuple[str, ...], params: dict[str, Any]) -> None:
    request.ctx.principal = None
    if not auth or "checksum" in auth:
        return
    if "tg" in auth:
        _check_bot_secret(request)
        return
    if "basic-1c" in auth:
        await _check_onec_caller(request)
        return
    if "opt-customer" in auth:
        await _optional_customer(request)
        return
    principal = await current_principal(request)
    if principal is None:
        raise Unauthorized()
    request.ctx.principal = principal
    if not is_allowed(principal, auth, params):
        await settle_auth(request)
        raise PermissionDenied()


def may_hold_deferred_check(request: Request) -> bool:
    """Whether a caller check may still wait for the request's first read (only direct reads
    defer one): when False, `settle_auth` has nothing to do."""
    return getattr(request.ctx, "direct_reads", None) is not None


async def settle_auth(request: Request) -> None:
    """A caller check left for the first read (services.auth.defer_principal) runs now if no
    read came: a refused caller gets 401 whatever else the request would have answered."""
    if may_hold_deferred_check(request):
        await request.ctx.direct_reads.settle()


def is_allowed(principal: Principal, auth: tuple[str, ...], params: dict[str, Any]) -> bool:
    if "admin" in auth and principal.is_staff_or_admin_client:
        return True
    if "api" in auth and principal.kind == "api_client":
        return True
    if "owner" in auth and principal.kind == "customer":
        return True
    return (
        "self" in auth
        and principal.kind == "customer"
        and params.get("customer_id") == principal.id
    )


async def _optional_customer(request: Request) -> None:
    try:
        principal = await current_principal(request)
    except (Unauthorized, PermissionDenied):
        return
    if principal is not None and principal.kind == "customer":
        request.ctx.principal = principal


def _check_bot_secret(request: Request) -> None:
    secret = request.app.ctx.settings.TELEGRAM_BOT_SECRET
    value = (request.headers.get("authorization") or "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    if not secret or not hmac.compare_digest(value.encode(), secret.encode()):
        raise Unauthorized()


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(login, password) of an `Authorization: Basic` header; None when absent or garbled."""
    value = (request.headers.get("authorization") or "").strip()
    if value[:6].lower() != "basic ":
        return None
    try:
        login, separator, password = b64decode(value[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (login, password) if separator else None


async def _check_onec_caller(request: Request) -> None:
    """1C: Basic credentials open a session at `checkauth`, its cookie admits every later call.

    Credentials sent along with the cookie must be right too. Unset credentials: no exchange.
    """
    settings = request.app.ctx.settings
    if not settings.onec_enabled:
        raise NotFound("Not found")
    credentials = basic_credentials(request)
    if credentials is not None and not onec_exchange.credentials_match(settings, *credentials):
        raise Unauthorized("Not authorized")
    if request.args.get("mode") == "checkauth":
        if credentials is None:
            raise Unauthorized("Not authorized")
        return
    token = request.cookies.get(onec_exchange.COOKIE_NAME, "")
    found = await onec_exchange.find_session(request_session(request), token)
    if found is None:
        raise Unauthorized("Not authorized")
    request.ctx.onec_session = found
