"""Per-route time and size limits: normal limits for every route, the long one where declared.

Sanic's own timeouts restart on every byte received, so a client trickling its body could hold
a request open for as long as it likes; the body therefore also gets a deadline for the whole.
A route declares `long_running=True` (transport.routing.route) to get `UPLOAD_TIMEOUT_S` for
receiving its body and answering.
"""

from __future__ import annotations

import asyncio

from sanic import Request, Sanic
from sanic.exceptions import RequestTimeout

from config import Settings
from transport.middleware import start_request


class ShopRequest(Request):
    """A request with its id and start time from the moment it is made, whose body must
    arrive whole within the route's deadline."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        start_request(self)

    async def receive_body(self) -> None:
        if self.body:
            return
        route = self.route
        apply_route_limits(self, getattr(route.ctx, "spec", None) if route else None)
        try:
            async with asyncio.timeout(_body_deadline(self)):
                await super().receive_body()
        except TimeoutError:
            # The rest of the body is not waited for: the connection closes after the 408.
            self.stream.request_body = None
            self.stream.keep_alive = False
            raise RequestTimeout("Request body not received in time") from None


def _body_deadline(request: Request) -> float:
    settings: Settings = request.app.ctx.settings
    spec = getattr(request.ctx, "route_spec", None)
    if spec is not None and spec.long_running:
        return settings.UPLOAD_TIMEOUT_S
    return settings.REQUEST_TIMEOUT_S


def apply_route_limits(request: Request, spec) -> None:
    """The route's time and size limits, set once the route is known: before its body is read
    (ShopRequest.receive_body) and again before its handler runs (transport.routing)."""
    settings: Settings = request.app.ctx.settings
    request.ctx.route_spec = spec
    long_running = spec is not None and spec.long_running
    stream = request.stream
    protocol = getattr(stream, "protocol", None)
    if protocol is not None:
        # The protocol object lives as long as the connection: set it back on every request.
        protocol.response_timeout = (
            settings.UPLOAD_TIMEOUT_S if long_running else settings.RESPONSE_TIMEOUT_S
        )
    limit = spec.max_body(settings) if spec is not None else None
    if stream is not None and limit is not None:
        stream.request_max_size = min(stream.request_max_size, limit)


def configure_timeouts(app: Sanic, settings: Settings) -> None:
    app.config.REQUEST_TIMEOUT = settings.REQUEST_TIMEOUT_S
    app.config.RESPONSE_TIMEOUT = settings.RESPONSE_TIMEOUT_S
    app.config.KEEP_ALIVE_TIMEOUT = settings.KEEP_ALIVE_TIMEOUT_S
