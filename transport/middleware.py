"""Request id, CORS, metrics and access log middleware."""

from __future__ import annotations

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
    incoming = request.headers.get("x-request-id", "")
    request.ctx.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_request_id()
    request.ctx.started = time.perf_counter()
    request_id_var.set(request.ctx.request_id)


async def finish_request(request: Request, response: HTTPResponse) -> None:
    request_id = getattr(request.ctx, "request_id", None)
    if request_id is None:
        start_request(request)
        request_id = request.ctx.request_id
    response.headers["X-Request-ID"] = request_id
    dispatcher = request.app.ctx.dispatcher
    if dispatcher is not None and request.method != "GET" and response.status < 400:
        dispatcher.wake.set()
    _add_cors_headers(request, response)
    route = "/" + request.route.path.lstrip("/") if request.route else "unmatched"
    elapsed = time.perf_counter() - getattr(request.ctx, "started", time.perf_counter())
    metrics.count_request(request.method, route, str(response.status), elapsed)
    spec = getattr(request.ctx, "route_spec", None)
    if spec is not None and spec.observe is not None:
        spec.observe(request, response)
    if access_log.enabled():
        message = "request" if response.status != CLIENT_CLOSED_REQUEST else CLOSED_MESSAGE
        access_log.write(request_id, request.method, route, response.status, elapsed, message)


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
