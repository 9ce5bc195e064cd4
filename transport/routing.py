"""The `route` decorator: records auth, schemas and limits of a route for guards and OpenAPI."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from sanic import Request
from sanic.response import HTTPResponse

from services.errors import TooLarge

JSON_BODY_LIMIT = 1024 * 1024

PUBLIC: tuple[str, ...] = ()
ADMIN = ("admin",)
ADMIN_SELF = ("admin", "self")
ADMIN_SELF_API = ("admin", "self", "api")
ADMIN_API = ("admin", "api")
OPT_CUSTOMER = ("opt-customer",)
TELEGRAM_BOT = ("tg",)
CHECKSUM = ("checksum",)

Handler = Callable[..., Awaitable[HTTPResponse]]


@dataclass
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
    status: int = 200
    errors: tuple[int, ...] = ()
    body_limit: int | None = JSON_BODY_LIMIT
    content: str = "application/json"
    validation_status: int = 400
    error_detail: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


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

        @functools.wraps(handler)
        async def guarded(request: Request, **params: Any) -> HTTPResponse:
            from transport.auth import authorize

            request.ctx.route_spec = spec
            if spec.body_limit is not None and len(request.body or b"") > spec.body_limit:
                raise TooLarge("Request body too large")
            await authorize(request, spec.auth, params)
            return await handler(request, **params)

        spec.handler = guarded
        ROUTES.append(spec)
        return guarded

    return decorator
