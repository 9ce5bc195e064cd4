"""Unexpected errors: 500 with a request id, traceback only in the log, never to the client."""

from __future__ import annotations

import pytest
from sanic.response import json
from sqlalchemy import text

from tests.support import is_postgresql, start_server


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


async def test_alerts_mask_whole_secret_values(settings, db, capsys):
    def prepare(app):
        async def explode(request):
            raise RuntimeError(
                'Authorization: Bearer eyJhbGci.payload.sig; {"password": "correct horse"}'
            )

        app.add_route(explode, "/explode", methods=["GET"])

    running = await start_server(settings, db, prepare)
    try:
        assert (await running.client.get("/explode")).status_code == 500
    finally:
        await running.stop()
    alerts = [line for line in capsys.readouterr().out.splitlines() if '"shop.alerts"' in line]
    assert alerts and all("Authorization: ***" in line for line in alerts)
    assert not any("eyJhbGci" in line or "horse" in line for line in alerts)


@pytest.mark.skipif(not is_postgresql(), reason="SQLite stores any value in any column")
async def test_values_the_database_refuses_are_400(settings, db):
    def prepare(app):
        async def bad_text(request):
            async with app.ctx.db.begin() as session:
                await session.execute(text("SELECT CAST('x' AS integer)"))

        async def bad_argument(request):
            async with app.ctx.db.begin() as session:
                await session.execute(text("SELECT CAST(:v AS integer)"), {"v": 2**40})

        app.add_route(bad_text, "/bad-text", methods=["GET"])
        app.add_route(bad_argument, "/bad-argument", methods=["GET"])

    running = await start_server(settings, db, prepare)
    try:
        responses = [await running.client.get(path) for path in ("/bad-text", "/bad-argument")]
    finally:
        await running.stop()
    for response in responses:
        assert response.status_code == 400, response.text
        assert response.json() == {"message": "Invalid value", "error_code": 400}


@pytest.mark.skipif(not is_postgresql(), reason="SQLSTATE codes come from PostgreSQL")
async def test_a_deadlock_victim_is_told_to_retry(settings, db):
    def prepare(app):
        async def deadlocked(request):
            async with app.ctx.db.begin() as session:
                await session.execute(
                    text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
                )

        app.add_route(deadlocked, "/deadlocked", methods=["GET"])

    running = await start_server(settings, db, prepare)
    try:
        response = await running.client.get("/deadlocked")
    finally:
        await running.stop()
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json()["message"] == "Service unavailable"
