"""Request id, CORS, metrics and access log middleware."""

from __future__ import annotations

import functools
import re
import time

from sanic import Request
from sanic.response import HTTPResponse

from helpers import metrics
from helpers.logs import AccessLog, new_request_id, request_id_var
from transport.errors import CLIENT_CLOSED_REQUEST

access_log = AccessLog()

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "X-Total-Count, X-Request-ID, Retry-After"
CLOSED_MESSAGE = "client closed the request"


def start_request(request: Request) -> None:
    """Called as the request is made (transport.timeouts.ShopRequest), before any middleware."""
    ctx = request.ctx
    ctx.started = time.perf_counter()
    incoming = request.headers.get("x-request-id")
    ctx.request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else new_request_id()
    request_id_var.set(ctx.request_id)


def finish_request(request: Request, response: HTTPResponse) -> None:
    """Response middleware; plain (not a coroutine), as it awaits nothing."""
    ctx = request.ctx
    request_id = getattr(ctx, "request_id", None)
    if request_id is None:
        start_request(request)
        request_id = ctx.request_id
    response.headers["X-Request-ID"] = request_id
    status = response.status
    method = request.method
    if method != "GET" and status < 400 and request.app.ctx.dispatcher is not None:
        request.app.ctx.dispatcher.wake.set()
    if "origin" in request.headers:
        _add_cors_headers(request, response)
    route = _route_label(request.route.path) if request.route is not None else "unmatched"
    elapsed = time.perf_counter() - ctx.started
    metrics.count_request(method, route, str(status), elapsed)
    spec = getattr(ctx, "route_spec", None)
    if spec is not None and spec.observe is not None:
        spec.observe(request, response)
    if access_log.enabled():
        message = "request" if status != CLIENT_CLOSED_REQUEST else CLOSED_MESSAGE
        access_log.write(request_id, method, route, status, elapsed, message)


@functools.cache
def _route_label(path: str) -> str:
    return "/" + path.lstrip("/")


def _add_cors_headers(request: Request, response: HTTPResponse) -> None:
    origin = request.headers.get("origin")
    allowed = request.app.ctx.settings.CORS_ORIGINS
    if not origin or not (origin in allowed or "*" in allowed):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = response.headers.get("Allow", "")
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
