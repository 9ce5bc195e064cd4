"""Two server processes and two dispatchers on one PostgreSQL database: no oversell, no repeat."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from db.models import OutboxMessage, Variation
from tests.fakes import FakeTelegram
from tests.support import JWT_SECRET, free_port, is_postgresql
from tests.test_orders import order_body, setup_shop

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not is_postgresql(), reason="needs PostgreSQL")


async def start_server_process(settings, port: int, **overrides: str) -> subprocess.Popen:
    """`main.py serve` on the tests' database and port `port`, once it answers."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": settings.DATABASE_URL,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "RATE_LIMITS_ENABLED": "false",
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "warning",
        "DISPATCHER_IN_SERVER": "false",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        **overrides,
    }
    process = subprocess.Popen(
        [sys.executable, "main.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    process.kill()
    raise AssertionError("server did not start")


async def test_two_processes_never_oversell_or_send_twice(settings, db, client, admin_headers):
    shop = await setup_shop(client, admin_headers, stock=12)
    telegram = await FakeTelegram().start()
    ports = [free_port(), free_port()]
    servers = [
        await start_server_process(
            settings,
            port,
            TELEGRAM_TOKEN="1:x",
            TELEGRAM_API_BASE=telegram.base_url,
            TELEGRAM_ORDERS_CHAT_ID="-1001",
            DISPATCHER_IN_SERVER="true",
        )
        for port in ports
    ]
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
        for _ in range(100):
            if len(telegram.messages) >= 12:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
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
