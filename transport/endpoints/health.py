"""Liveness routes: `GET|POST /` (compatibility), `GET /health` and `GET /metrics`."""

from __future__ import annotations

import asyncio
import hmac

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sanic import Request
from sanic.response import raw

from api.health import HealthSchema, HelloSchema
from helpers.metrics import MULTIPROCESS, exposition
from services import health
from services.errors import Unauthorized
from transport.http import InvalidJSON, dump, json_body, reply
from transport.routing import PUBLIC, route

HELLO = {"hello": "world"}


@route("/", "GET", auth=PUBLIC, response=HelloSchema, summary="Hello world")
async def hello(request: Request):
    return reply(HELLO)


@route("/", "POST", auth=PUBLIC, summary="Echo the body merged with the X- headers")
async def echo(request: Request):
    try:
        body = json_body(request)
    except InvalidJSON:
        body = None
    merged = dict(body) if isinstance(body, dict) else {}
    merged.update({k.lower(): v for k, v in request.headers.items() if k.lower().startswith("x-")})
    return reply(merged)


@route("/health", "GET", auth=PUBLIC, response=HealthSchema, errors=(503,), summary="Health")
async def health_check(request: Request):
    app = request.app
    report = await health.check(
        app.ctx.db,
        app.ctx.settings,
        getattr(app.ctx, "broker", None),
        app.ctx.migrations,
        app.ctx.rate_limits,
    )
    body = {"service": app.ctx.settings.SERVICE_NAME, **report}
    return dump(HealthSchema, body, status=200 if report["status"] == "healthy" else 503)


@route("/metrics", "GET", auth=PUBLIC, errors=(401,), summary="Prometheus metrics")
async def metrics(request: Request):
    token = request.app.ctx.settings.METRICS_TOKEN
    if token:
        header = request.headers.get("authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
            raise Unauthorized()
    await health.refresh_gauges(request.app.ctx.db)
    # Every worker's files are read in multiprocess mode: not on the event loop.
    text = await asyncio.to_thread(exposition) if MULTIPROCESS else exposition()
    return raw(text, content_type=CONTENT_TYPE_PLAIN_0_0_4)
