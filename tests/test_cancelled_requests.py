"""A client hanging up mid-transaction leaves no lock: replays and later writes go through."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sanic.response import empty
from sqlalchemy import select, text

from background.dispatcher import Dispatcher
from db.engine import Database
from db.models import OutboxMessage
from tests.support import start_server
from tests.test_orders import order_body, setup_shop

# About a second of work for either database, inside a write transaction.
SLOW_READ = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
    "SELECT count(*) FROM c"
)


async def wait_for(condition, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


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
