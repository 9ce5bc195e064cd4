"""Unexpected errors: 500 with a request id, traceback only in the log, never to the client."""

from __future__ import annotations

from sanic.response import json

from tests.support import start_server


async def test_unexpected_exception_is_500_with_request_id(settings, db, caplog):
    def prepare(app):
        async def explode(request):
            raise RuntimeError("secret internals: password=hunter2")

        app.add_route(explode, "/explode", methods=["GET"])

        async def fine(request):
            return json({"ok": True})

        app.add_route(fine, "/fine", methods=["GET"])

    running = await start_server(settings, db, prepare)
    try:
        response = await running.client.get("/explode", headers={"X-Request-ID": "req-500"})
    finally:
        await running.stop()
    assert response.status_code == 500
    assert response.json() == {
        "message": "Internal server error",
        "error_code": 500,
        "request_id": "req-500",
    }
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
