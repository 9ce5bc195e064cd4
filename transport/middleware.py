"""Request id, CORS, metrics and access log middleware."""

from __future__ import annotations

import re
import time

from sanic import Request
from sanic.response import HTTPResponse

from helpers import metrics
from helpers.logs import AccessLog, new_request_id, request_id_var

access_log = AccessLog()

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "X-Total-Count, X-Request-ID, Retry-After"


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
    _count(request.method, route, response.status, elapsed)
    if access_log.enabled():
        access_log.write(request_id, request.method, route, response.status, elapsed)


_counters: dict[tuple, object] = {}
_timers: dict[tuple, object] = {}


def _count(method: str, route: str, status: int, elapsed: float) -> None:
    # A labelled child is looked up once per label set (routes and statuses are few).
    counter = _counters.get((method, route, status))
    if counter is None:
        counter = metrics.http_requests_total.labels(method, route, str(status))
        _counters[method, route, status] = counter
    timer = _timers.get((method, route))
    if timer is None:
        timer = _timers[method, route] = metrics.http_request_duration_seconds.labels(method, route)
    counter.inc()
    timer.observe(elapsed)


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
