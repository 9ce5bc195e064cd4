"""Domain events relayed from the outbox to the local RabbitMQ (skipped when it is not there)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import aio_pika
import pytest
from sqlalchemy import select, update

from background.dispatcher import MAX_ATTEMPTS, Dispatcher
from db.models import OutboxMessage
from db.models.base import utcnow
from helpers.broker import EventPublisher
from tests.support import free_port, wait_for

BROKER_URL = os.environ.get("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def _reachable() -> bool:
    try:
        connection = await aio_pika.connect(BROKER_URL, timeout=3)
    except Exception as exc:
        print(f"RabbitMQ at {BROKER_URL} is unreachable ({type(exc).__name__}): relay tests skip")
        return False
    await connection.close()
    return True


async def _first_message(queue):
    received = []

    async def arrived() -> bool:
        message = await queue.get(fail=False)
        if message is not None:
            received.append(message)
        return bool(received)

    await wait_for(arrived, timeout_s=5, interval_s=0.1)
    return received[0]


@pytest.fixture
async def exchange_name():
    if not await _reachable():
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
    return f"shop.events.test.{uuid.uuid4().hex[:8]}"


async def test_events_reach_the_broker_once(settings, db, client, exchange_name):
    connection = await aio_pika.connect(BROKER_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="CustomerCreated")
    registered = await client.post(
        "/customers",
        json={
            "first_name": "Иван",
            "second_name": "Петров",
            "password": "pw-12345",
            "phone_number": "79001112233",
            "email": "ivan@example.ru",
        },
    )
    assert registered.status_code == 201
    publisher = EventPublisher(BROKER_URL, exchange_name)
    dispatcher = Dispatcher(db, settings, publisher=publisher)
    try:
        assert await dispatcher.run_once() == 1
        assert await dispatcher.run_once() == 0
        message = await _first_message(queue)
        await message.ack()
    finally:
        await publisher.close()
        await dispatcher.close()
        await exchange.delete()
        await connection.close()
    body = json.loads(message.body)
    assert message.routing_key == "CustomerCreated"
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == body["message_id"] == body["data"]["event_uuid"]
    assert body["data"]["event_name"] == "CustomerCreated"
    assert body["data"]["customer_id"] == registered.json()["id"]
    async with db.session() as session:
        states = set(await session.scalars(select(OutboxMessage.state)))
    assert states == {"sent"}


async def test_health_reports_the_broker(make_server, exchange_name):
    running = await make_server(BROKER_URL=BROKER_URL, EVENTS_EXCHANGE=exchange_name)
    await asyncio.sleep(0)
    body = (await running.client.get("/health")).json()
    assert body["checks"] == {"db": "ok", "broker": "ok", "migrations": "ok", "redis": "disabled"}
    publisher = running.app.ctx.broker
    connection = await aio_pika.connect(BROKER_URL)
    channel = await connection.channel()
    await channel.exchange_delete(exchange_name)
    await connection.close()
    assert publisher is not None


async def register_customer(client, phone: str) -> None:
    """A registration, which writes one CustomerCreated event to the outbox."""
    body = {"first_name": "А", "second_name": "Б", "password": "pw-12345", "phone_number": phone}
    assert (await client.post("/customers", json=body)).status_code == 201


async def test_events_without_a_broker_are_marked_delivered(settings, db, client):
    await register_customer(client, "79001112234")
    dispatcher = Dispatcher(db, settings)
    assert await dispatcher.run_once() == 1
    async with db.session() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [(row.kind, row.state) for row in rows] == [("event", "sent")]
    await dispatcher.close()


async def test_events_wait_for_a_broker_however_long_it_is_down(settings, db, client):
    await register_customer(client, "79001112235")
    down = EventPublisher(f"amqp://guest:guest@127.0.0.1:{free_port()}/", "shop.events.down")
    dispatcher = Dispatcher(db, settings, publisher=down)
    try:
        for _ in range(MAX_ATTEMPTS + 2):
            async with db.begin() as session:
                await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
            await dispatcher.run_once()
    finally:
        await dispatcher.close()
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row.state == "pending" and row.attempts == MAX_ATTEMPTS + 2
