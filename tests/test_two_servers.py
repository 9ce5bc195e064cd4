"""Two server processes and two dispatchers on one PostgreSQL database: no oversell, no repeat."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from db.models import OutboxMessage, Variation
from tests.factories import order_body, setup_shop
from tests.fakes import FakeTelegram
from tests.support import is_postgresql, start_server_process, stop_processes, wait_for

pytestmark = pytest.mark.skipif(not is_postgresql(), reason="needs PostgreSQL")


async def test_two_processes_never_oversell_or_send_twice(settings, db, client, admin_headers):
    shop = await setup_shop(client, admin_headers, stock=12)
    telegram = await FakeTelegram().start()
    started = [
        await start_server_process(
            settings,
            TELEGRAM_TOKEN="1:x",
            TELEGRAM_API_BASE=telegram.base_url,
            TELEGRAM_ORDERS_CHAT_ID="-1001",
            DISPATCHER_IN_SERVER="true",
        )
        for _ in range(2)
    ]
    ports = [port for _, port in started]
    body = order_body(
        shop, variations=[{"variation_id": shop["first"]["id"], "amount": 1, "current_price": 4990}]
    )
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            responses = await asyncio.gather(
                *(
                    http.post(f"http://127.0.0.1:{ports[i % 2]}/orders", json=body)
                    for i in range(40)
                )
            )
        statuses = [response.status_code for response in responses]
        assert statuses.count(201) == 12 and statuses.count(400) == 28
        await wait_for(lambda: len(telegram.messages) >= 12)
        # A message sent twice would arrive within moments of the first; give it the chance.
        await asyncio.sleep(1.5)
    finally:
        stop_processes([process for process, _ in started])
        await telegram.stop()
    texts = [message["text"] for message in telegram.messages]
    assert len(texts) == 12 and len(set(texts)) == 12
    async with db.session() as session:
        variation = await session.get(Variation, shop["first"]["id"])
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "telegram", OutboxMessage.state != "sent")
        )
    assert (variation.stock, variation.reserved) == (12, 12)
    assert pending == 0
