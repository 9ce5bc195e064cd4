"""The `route` decorator: records auth, schemas and limits of a route for guards and OpenAPI."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from marshmallow import Schema
from sanic import Request
from sanic.response import HTTPResponse

from services.errors import NotFound, NulCharacter, TooLarge
from transport.http import close_request_session, holds_connection

JSON_BODY_LIMIT = 1024 * 1024

PUBLIC: tuple[str, ...] = ()
ADMIN = ("admin",)
ADMIN_SELF = ("admin", "self")
ADMIN_SELF_API = ("admin", "self", "api")
ADMIN_API = ("admin", "api")
# Any customer passes the guard; the service answers 404 for what is not theirs.
ADMIN_OWNER = ("admin", "owner")
OPT_CUSTOMER = ("opt-customer",)
TELEGRAM_BOT = ("tg",)
CHECKSUM = ("checksum",)
BASIC_1C = ("basic-1c",)

Handler = Callable[..., Awaitable[HTTPResponse]]

MAX_ID = 2**31 - 1
# Path ids that are not 32-bit row ids (Telegram chat ids are 64-bit and may be negative).
WIDE_ID_PARAMS = frozenset({"telegram_user_id"})
NOT_FOUND_NAMES = {"account_id": "Social account", "img_path": "Image", "line_id": "Order line"}


@dataclass(eq=False)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    name: str
    module: str
    handler: Handler
    auth: tuple[str, ...] = PUBLIC
    summary: str = ""
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    # The shape answered instead when the request asks for a page (limit/offset).
    paged: type[Schema] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    # Bytes, or the name of the setting that holds them; None: the app's largest upload.
    body_limit: int | str | None = JSON_BODY_LIMIT
    content: str = "application/json"
    # What the route answers; errors too are plain text (`failure\n<reason>`) for text/plain.
    answers: str = "application/json"
    validation_status: int = 400
    error_detail: bool = False
    # Receives its body and answers within UPLOAD_TIMEOUT_S rather than the normal limits.
    long_running: bool = False
    # A GET that changes data says so; every other GET runs in a read-only session.
    writes: bool = False
    # A read-only route whose auth check and service read through PreparedReads alone: on
    # PostgreSQL they run straight on asyncpg, without a session (db/direct.py).
    direct_reads: bool = False
    # Called with every answer of the route, errors included (e.g. to count them).
    observe: Callable[[Request, HTTPResponse], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reads_only(self) -> bool:
        return self.methods == ("GET",) and not self.writes

    def max_body(self, settings) -> int | None:
        if isinstance(self.body_limit, str):
            return getattr(settings, self.body_limit)
        return self.body_limit

    @property
    def plain_text(self) -> bool:
        return self.answers.startswith("text/plain")


ROUTES: list[RouteSpec] = []


def route(path: str, *methods: str, **options: Any) -> Callable[[Handler], Handler]:
    """Register a handler; `auth` names the caller kinds of the contract (PUBLIC, ADMIN...)."""

    def decorator(handler: Handler) -> Handler:
        module = handler.__module__.rsplit(".", 1)[-1]
        spec = RouteSpec(
            path=path,
            methods=methods,
            name=handler.__name__,
            module=module,
            handler=handler,
            **options,
        )

        checks_caller = bool(spec.auth) and "checksum" not in spec.auth

        @functools.wraps(handler)
        async def guarded(request: Request, **params: Any) -> HTTPResponse:
            auth = _auth_module()
            auth.apply_route_limits(request, spec)
            limit = spec.max_body(request.app.ctx.settings)
            if limit is not None and request.body and len(request.body) > limit:
                raise TooLarge("Request body too large")
            try:
                if checks_caller:
                    await auth.authorize(request, spec.auth, params)
                else:
                    request.ctx.principal = None
                try:
                    if params:
                        _check_path_params(params)
                    response = await handler(request, **params)
                except Exception:
                    await auth.settle_auth(request)
                    raise
                if auth.may_hold_deferred_check(request):
                    await auth.settle_auth(request)
                return response
            finally:
                if holds_connection(request):
                    await close_request_session(request)

        spec.handler = guarded
        ROUTES.append(spec)
        return guarded

    return decorator


@functools.cache
def _auth_module() -> SimpleNamespace:
    """The guard's helpers, imported at the first request and kept.

    Imported with this module instead, the SQLite run of tests/test_background.py's job-claim
    test waits out the write lock after tests/test_after_commit.py (an ordering the cause of
    which is still open).
    """
    from transport.auth import authorize, may_hold_deferred_check, settle_auth
    from transport.timeouts import apply_route_limits

    return SimpleNamespace(
        authorize=authorize,
        settle_auth=settle_auth,
        may_hold_deferred_check=may_hold_deferred_check,
        apply_route_limits=apply_route_limits,
    )


def _check_path_params(params: dict[str, Any]) -> None:
    """An id outside the range of the id columns cannot exist: 404 before any query."""
    for name, value in params.items():
        if isinstance(value, str) and "\x00" in value:
            raise NulCharacter()
        if not isinstance(value, int):
            continue
        in_range = -(2**63) <= value < 2**63 if name in WIDE_ID_PARAMS else 0 < value <= MAX_ID
        if not in_range:
            raise NotFound(f"{not_found_name(name)} not found")


def not_found_name(param: str) -> str:
    return NOT_FOUND_NAMES.get(param) or param.removesuffix("_id").replace("_", " ").capitalize()
