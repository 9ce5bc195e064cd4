"""A client hanging up mid-transaction leaves no lock: replays and later writes go through."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sanic.response import empty
from sqlalchemy import select, text

from background.dispatcher import Dispatcher
from db.engine import Database
from db.models import OutboxMessage
from helpers.metrics import REGISTRY
from tests.factories import order_body, setup_shop
from tests.support import free_port, start_server, wait_for

# About a second of work for either database, inside a write transaction.
SLOW_READ = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
    "SELECT count(*) FROM c"
)


def add_slow_write_route(app) -> None:
    async def slow_write(request):
        async with request.app.ctx.db.begin() as session:
            await session.execute(SLOW_READ)
        return empty()

    app.add_route(slow_write, "/test/slow-write", methods=["POST"])


@pytest.fixture
async def impatient(settings):
    """A server on its own engine whose SQLite writers wait 2 s for a lock, so a leak shows."""
    db = Database(settings.DATABASE_URL, pool_size=5, busy_timeout_s=2)
    running = await start_server(settings, db, prepare=add_slow_write_route)
    yield running, db
    await running.stop()
    await db.dispose()


async def test_hung_up_request_leaves_no_lock_for_replays_writes_or_dispatcher(
    client, admin_headers, settings, impatient
):
    running, db = impatient
    shop = await setup_shop(client, admin_headers, stock=10)
    body = order_body(shop)
    key = {"Idempotency-Key": "checkout-42"}
    first = await running.client.post("/orders", json=body, headers=key)
    assert first.status_code == 201
    async with httpx.AsyncClient(base_url=running.base_url, timeout=0.2) as hasty:
        with pytest.raises(httpx.ReadTimeout):
            await hasty.post("/test/slow-write")
    await wait_for(lambda: db.engine.pool.checkedout() == 0)

    replayed = await running.client.post("/orders", json=body, headers=key)
    again = await running.client.post("/orders", json=body, headers=key)
    assert replayed.status_code == again.status_code == 201
    assert replayed.json() == again.json() == first.json()
    written = await running.client.post("/orders", json=body)
    assert written.status_code == 201, written.text
    category = await running.client.post(
        "/categories", json={"name": "Юбки"}, headers=admin_headers
    )
    assert category.status_code == 201, category.text
    dispatcher = Dispatcher(db, settings)
    try:
        assert await dispatcher.run_once() >= 2
    finally:
        await dispatcher.close()
    async with db.session() as session:
        states = set(await session.scalars(select(OutboxMessage.state)))
    assert states == {"sent"}
    stock = (await running.client.get(f"/variations/{shop['first']['id']}")).json()
    assert stock["reserved"] == 4


def add_slow_route(app) -> None:
    async def slow(request):
        await asyncio.sleep(5)
        return empty()

    app.add_route(slow, "/test/slow", methods=["POST"])


def requests_counted(status: str) -> float:
    labels = {"method": "POST", "route": "/test/slow", "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


async def test_a_client_hanging_up_is_logged_and_counted_as_499_without_an_alert(
    settings, db, capsys
):
    alerting = settings.replace(
        TELEGRAM_TOKEN="1:x",
        TELEGRAM_API_BASE=f"http://127.0.0.1:{free_port()}",
        TELEGRAM_ERRORS_CHAT_ID="-100",
        LOG_LEVEL="info",
    )
    running = await start_server(alerting, db, prepare=add_slow_route)
    cancelled_before, failed_before = requests_counted("499"), requests_counted("500")
    try:
        async with httpx.AsyncClient(base_url=running.base_url, timeout=0.2) as hasty:
            with pytest.raises(httpx.ReadTimeout):
                await hasty.post("/test/slow", headers={"X-Request-ID": "hung-up-1"})
        await wait_for(lambda: requests_counted("499") == cancelled_before + 1)
    finally:
        await running.stop()
    assert requests_counted("500") == failed_before
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    about_it = [line for line in lines if line.get("request_id") == "hung-up-1"]
    assert [(line["level"], line["message"], line["status"]) for line in about_it] == [
        ("INFO", "client closed the request", 499)
    ]
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    assert not [line for line in lines if line["logger"] == "shop.alerts"]
