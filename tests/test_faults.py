"""Faults: outside services broken for a while, PostgreSQL restarted or cut off under load,
a worker killed mid-checkout. Nothing half-written, no 500, recovery without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from background.dispatcher import Dispatcher
from db.engine import Database
from db.migrate import upgrade
from db.models import Order, OrderLine, OutboxMessage, PaymentAttempt, Variation
from services.staff_users import create_or_reset_admin
from tests.factories import PAYMENT_RETURN, make_due, order_body, setup_shop
from tests.fakes import FakeGateway, FakeSmtp, FakeTelegram
from tests.private_servers import PrivatePostgres
from tests.support import (
    auth,
    channel_settings,
    is_postgresql,
    staff_token,
    start_server_process,
    truncate_all,
    wait_for,
)

CLIENT_TIMEOUT_S = 0.5
SLOW_S = 3.0
CHANNEL_KEYS = (
    "TELEGRAM_TOKEN",
    "TELEGRAM_API_BASE",
    "TELEGRAM_ORDERS_CHAT_ID",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "EMAIL_FROM",
    "EMAIL_SHOP_TO",
    "TELEGRAM_TIMEOUT_S",
    "SMTP_TIMEOUT_S",
    "SBER_TIMEOUT_S",
    "SBER_BASE_URL",
    "PAYMENT_ALLOWED_RETURN_HOSTS",
)


class _Outside:
    """The three fakes, switched together between ok, down, slow and garbage."""

    def __init__(self):
        self.telegram = FakeTelegram(slow_s=SLOW_S)
        self.smtp = FakeSmtp()
        self.smtp.inbox.slow_s = SLOW_S
        self.gateway = FakeGateway(slow_s=SLOW_S)

    async def start(self) -> None:
        await self.telegram.start()
        self.smtp.start()
        await self.gateway.start()
        self.up = True

    async def stop(self) -> None:
        if self.up:
            self.up = False
            await self.telegram.stop()
            self.smtp.stop()
            await self.gateway.stop()

    async def switch(self, mode: str) -> None:
        if mode == "down":
            await self.stop()
            return
        self.telegram.mode = self.smtp.inbox.mode = self.gateway.mode = mode

    async def recover(self, mode: str) -> None:
        if mode == "down":
            await self.start()
        self.telegram.mode = self.smtp.inbox.mode = self.gateway.mode = "ok"


async def test_orders_survive_broken_outside_services_and_are_notified_once_they_recover(
    settings, db, make_server, admin_headers
):
    outside = _Outside()
    await outside.start()
    configured = channel_settings(settings, outside.telegram.port, outside.smtp.port).replace(
        TELEGRAM_TIMEOUT_S=CLIENT_TIMEOUT_S,
        SMTP_TIMEOUT_S=CLIENT_TIMEOUT_S,
        SBER_TIMEOUT_S=CLIENT_TIMEOUT_S,
        SBER_BASE_URL=outside.gateway.base_url,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
    )
    running = await make_server(**{key: getattr(configured, key) for key in CHANNEL_KEYS})
    shop = await setup_shop(running.client, admin_headers, stock=50)
    dispatcher = Dispatcher(db, configured)
    order_ids = []
    try:
        for mode in ("down", "slow", "garbage"):
            await outside.switch(mode)
            started = time.monotonic()
            placed = await running.client.post("/orders", json=order_body(shop))
            assert placed.status_code == 201, (mode, placed.text)
            order_ids.append(placed.json()["id"])
            paying = await running.client.post(
                "/register_payment", json={"order_id": order_ids[-1], **PAYMENT_RETURN}
            )
            # Waiting for the slow gateway would take SLOW_S; the client gives up well before.
            assert time.monotonic() - started < SLOW_S, mode
            assert paying.status_code == 502, (mode, paying.text)
            assert paying.json()["message"] == "Payment gateway unavailable"
            assert paying.json()["error_code"] == 502 and paying.json()["request_id"]
            for _ in range(2):
                await dispatcher.run_once()
                await make_due(db)
            assert outside.telegram.messages == [] and outside.smtp.inbox.messages == []
            await outside.recover(mode)
        await make_due(db)
        while await dispatcher.run_once():
            await make_due(db)
    finally:
        await dispatcher.close()
        await outside.stop()
    async with db.session() as session:
        outbox = (await session.execute(select(OutboxMessage.kind, OutboxMessage.state))).all()
        attempts = list(await session.scalars(select(PaymentAttempt.state)))
    assert {state for _, state in outbox} == {"sent"}
    telegram_rows = [kind for kind, _ in outbox if kind == "telegram"]
    email_rows = [kind for kind, _ in outbox if kind == "email"]
    assert len(outside.telegram.messages) == len(telegram_rows) == len(order_ids)
    for order_id in order_ids:
        mentions = [m for m in outside.telegram.messages if re.search(rf"№{order_id}\b", m["text"])]
        assert len(mentions) == 1, order_id
    assert len(outside.smtp.inbox.messages) == len(email_rows) == 2 * len(order_ids)
    assert attempts == ["failed"] * len(order_ids)


needs_postgresql = pytest.mark.skipif(
    not is_postgresql() or not PrivatePostgres.available(),
    reason="the fault tests restart a private PostgreSQL cluster (TEST_DATABASE_URL and "
    "/usr/lib/postgresql/15/bin needed); SQLite has no server to lose",
)
STOCK = 1000


@pytest.fixture(scope="module")
async def private_pg():
    folder = Path(tempfile.mkdtemp(prefix="shop-faults-"))
    cluster = PrivatePostgres(folder)
    await asyncio.to_thread(cluster.start)
    try:
        await asyncio.to_thread(upgrade, cluster.url)
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(cluster.stop)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def shop_on_private_pg(private_pg, settings, tmp_path):
    """A `main.py serve` process on the private cluster, with a shop to order from."""
    database = Database(private_pg.url, pool_size=2)
    await truncate_all(database)
    async with database.begin() as session:
        user, _ = await create_or_reset_admin(session, 4, "faults", "faults-pass", "F", "F")
    headers = auth(staff_token(user.id))
    log_path = tmp_path / "serve.log"
    process, port = await start_server_process(
        settings.replace(DATABASE_URL=private_pg.url), log_path, WORKERS="1", LOG_LEVEL="warning"
    )
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        shop = await setup_shop(client, headers, stock=STOCK)
        yield {"client": client, "shop": shop, "db": database, "process": process, "port": port}
    finally:
        await client.aclose()
        if process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait, 30)
        await database.dispose()


class Load:
    """A steady small load of reads and orders; every answer is kept."""

    def __init__(self, client, shop):
        self.client, self.shop = client, shop
        self.answers: list[tuple[str, int, object]] = []
        self.stopping = False

    async def _loop(self, name: str, send) -> None:
        while not self.stopping:
            try:
                response = await send()
            except httpx.HTTPError as exc:
                self.answers.append((name, 0, type(exc).__name__))
                continue
            try:
                body = response.json()
            except ValueError:
                body = response.text
            self.answers.append((name, response.status_code, body))
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> Load:
        variation = self.shop["first"]["id"]
        self.tasks = [
            asyncio.create_task(
                self._loop("read", lambda: self.client.get(f"/variations/{variation}"))
            ),
            asyncio.create_task(self._loop("read", lambda: self.client.get("/goods/all"))),
            asyncio.create_task(
                self._loop("order", lambda: self.client.post("/orders", json=order_body(self.shop)))
            ),
        ]
        return self

    async def __aexit__(self, *exc) -> None:
        self.stopping = True
        await asyncio.gather(*self.tasks)

    def count(self, status: int, since: int = 0) -> int:
        return sum(1 for _, code, _ in self.answers[since:] if code == status)

    def check(self) -> None:
        """Only answers of the contract: 200, 201, or a clear 503 with the error body."""
        for name, status, body in self.answers:
            assert status in (200, 201, 503), (name, status, body)
            if status == 503:
                assert body["message"] == "Service unavailable", body
                assert body["error_code"] == 503 and body["request_id"], body


async def health(client) -> int:
    try:
        return (await client.get("/health")).status_code
    except httpx.HTTPError:
        return 0


async def check_orders_whole(database: Database, shop: dict) -> int:
    """Every order has its lines, its reservation and its outbox row; returns the count."""
    async with database.session() as session:
        orders = list(await session.scalars(select(Order.id)))
        lines = (
            await session.execute(
                select(OrderLine.order_id, OrderLine.variation_id, OrderLine.amount)
            )
        ).all()
        events = list(
            await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.topic == "OrderCreated")
            )
        )
        variations = (
            await session.execute(select(Variation.id, Variation.stock, Variation.reserved))
        ).all()
    assert {order_id for order_id, _, _ in lines} == set(orders)
    assert sorted(event["data"]["order_id"] for event in events) == sorted(orders)
    reserved: dict[int, int] = {}
    for _, variation_id, amount in lines:
        reserved[variation_id] = reserved.get(variation_id, 0) + amount
    for variation_id, stock, held in variations:
        assert held == reserved.get(variation_id, 0), variation_id
        assert stock == STOCK
    return len(orders)


@needs_postgresql
async def test_a_postgresql_restart_under_load_gives_503s_then_recovers_with_orders_whole(
    shop_on_private_pg, private_pg
):
    """Stopped and started (so the outage is seen), then `pg_ctl restart -m fast`."""
    client = shop_on_private_pg["client"]
    async with Load(client, shop_on_private_pg["shop"]) as load:
        await wait_for(lambda: _at_least(load, 201, 3))
        stopped_at = time.monotonic()
        await asyncio.to_thread(private_pg.stop)
        down_from = len(load.answers)

        async def down() -> bool:
            return await health(client) == 503 and load.count(503, down_from) >= 5

        await wait_for(down)
        await asyncio.to_thread(private_pg.start)
        accepting_at = time.monotonic()

        async def healthy() -> bool:
            return await health(client) == 200

        await wait_for(healthy, timeout_s=5)
        recovery_s = time.monotonic() - accepting_at
        outage_s = time.monotonic() - stopped_at
        back_from = len(load.answers)
        await wait_for(lambda: _at_least(load, 201, 3, back_from), timeout_s=5)
        await asyncio.to_thread(private_pg.restart)
        await wait_for(healthy, timeout_s=5)
        back_from = len(load.answers)
        await wait_for(lambda: _at_least(load, 201, 3, back_from), timeout_s=5)
    print(
        f"\nPostgreSQL outage recovery: {recovery_s:.2f} s from accepting again to the first "
        f"200 ({outage_s:.2f} s from the stop; {load.count(503)} answers were 503)"
    )
    load.check()
    assert await check_orders_whole(shop_on_private_pg["db"], shop_on_private_pg["shop"]) > 0


async def _at_least(load: Load, status: int, count: int, since: int = 0) -> bool:
    return load.count(status, since) >= count


@needs_postgresql
async def test_killed_postgresql_connections_are_replaced_without_a_restart_or_half_orders(
    shop_on_private_pg, private_pg
):
    client, database = shop_on_private_pg["client"], shop_on_private_pg["db"]
    async with Load(client, shop_on_private_pg["shop"]) as load:
        for _ in range(3):
            await wait_for(lambda since=len(load.answers): _at_least(load, 201, 2, since))
            async with database.begin() as session:
                killed = await session.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    )
                )
            assert killed > 0
        killed_at = time.monotonic()

        async def healthy() -> bool:
            return await health(client) == 200

        await wait_for(healthy, timeout_s=5)
        await wait_for(lambda since=len(load.answers): _at_least(load, 201, 2, since), timeout_s=5)
    print(f"\nconnections killed: first 200 after {time.monotonic() - killed_at:.2f} s")
    load.check()
    await check_orders_whole(database, shop_on_private_pg["shop"])


@needs_postgresql
async def test_a_worker_killed_mid_checkout_leaves_every_retried_order_placed_once(
    shop_on_private_pg, private_pg, settings, tmp_path
):
    client, shop = shop_on_private_pg["client"], shop_on_private_pg["shop"]
    keys = [str(uuid.uuid4()) for _ in range(30)]
    first_answers: dict[str, int] = {}

    async def checkout(key: str, through) -> int | None:
        try:
            response = await through.post(
                "/orders", json=order_body(shop), headers={"Idempotency-Key": key}
            )
        except httpx.HTTPError:
            return None
        assert response.status_code in (201, 503), response.text
        return response.json()["id"] if response.status_code == 201 else None

    async def remember(key: str) -> None:
        order_id = await checkout(key, client)
        if order_id is not None:
            first_answers[key] = order_id

    in_flight = [asyncio.create_task(remember(key)) for key in keys]

    async def some_answered() -> bool:
        return len(first_answers) >= 3

    await wait_for(some_answered)
    os.kill(shop_on_private_pg["process"].pid, signal.SIGKILL)
    await asyncio.to_thread(shop_on_private_pg["process"].wait, 30)
    await asyncio.gather(*in_flight)
    assert 3 <= len(first_answers) < len(keys)

    process, port = await start_server_process(
        settings.replace(DATABASE_URL=private_pg.url), tmp_path / "again.log", WORKERS="1"
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as again:
            retried = {key: await checkout(key, again) for key in keys}
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
    assert all(order_id is not None for order_id in retried.values())
    assert {key: retried[key] for key in first_answers} == first_answers
    assert len(set(retried.values())) == len(keys)
    assert await check_orders_whole(shop_on_private_pg["db"], shop) == len(keys)
    async with shop_on_private_pg["db"].session() as session:
        reserved = dict((await session.execute(select(Variation.id, Variation.reserved))).all())
    assert reserved[shop["first"]["id"]] == 2 * len(keys)
    assert reserved[shop["second"]["id"]] == len(keys)
