"""SIGTERM to a server: it stops accepting, finishes what is in flight, hands back outbox rows."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from background.dispatcher import Dispatcher
from db.models import OutboxMessage
from tests.fakes import FakeTelegram
from tests.support import JWT_SECRET, free_port
from tests.test_orders import order_body, setup_shop

ROOT = Path(__file__).resolve().parent.parent


async def wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def start_server(settings, log_path: Path, **env_changes) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": settings.DATABASE_URL,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "AUTO_MIGRATE": "false",
        "RATE_LIMITS_ENABLED": "false",
        "LOG_LEVEL": "info",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "DISPATCHER_IN_SERVER": "false",
        **env_changes,
    }
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "main.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )

    async def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError("server exited")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(healthy)
    return process, port


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def logged(log_path: Path, text: str) -> bool:
    return text in await asyncio.to_thread(log_path.read_text)


async def exit_code(process: subprocess.Popen) -> int:
    async def exited() -> bool:
        return process.poll() is not None

    try:
        await wait_for(exited)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    status = int(head.split(b" ", 2)[1])
    headers = dict(line.decode().lower().split(": ", 1) for line in head.split(b"\r\n")[1:] if line)
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 30)
    return status, json.loads(body)


async def test_sigterm_refuses_new_connections_and_completes_the_order_in_flight(
    settings, client, admin_headers, db, tmp_path
):
    shop = await setup_shop(client, admin_headers)
    server, port = await start_server(settings, tmp_path / "serve.log", GRACEFUL_SHUTDOWN_S="20")
    body = json.dumps(order_body(shop)).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        await writer.drain()
        # The server asks for the body: the request is in its hands.
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        assert interim.startswith(b"HTTP/1.1 100")
        server.send_signal(signal.SIGTERM)
        await wait_for(lambda: refused(port))
        assert server.poll() is None
        writer.write(body)
        await writer.drain()
        status, placed = await read_response(reader)
    finally:
        writer.close()
    assert await exit_code(server) == 0
    assert status == 201
    order = await client.get(f"/orders/{placed['id']}", headers=admin_headers)
    assert order.status_code == 200


async def test_a_stopping_server_hands_back_the_outbox_rows_it_has_not_tried(
    settings, db, tmp_path
):
    async with db.begin() as session:
        session.add_all(
            OutboxMessage(kind="telegram", topic="t", payload={"chat_id": "1", "text": f"m{i}"})
            for i in range(20)
        )
    telegram = await FakeTelegram(delay_s=0.3).start()
    log_path = tmp_path / "serve.log"
    try:
        server, _ = await start_server(
            settings,
            log_path,
            DISPATCHER_IN_SERVER="true",
            GRACEFUL_SHUTDOWN_S="1",
            TELEGRAM_TOKEN="1:x",
            TELEGRAM_API_BASE=telegram.base_url,
        )

        async def sending() -> bool:
            return len(telegram.messages) >= 2

        await wait_for(sending)
        server.send_signal(signal.SIGTERM)
        assert await exit_code(server) == 0
        async with db.session() as session:
            rows = list(await session.scalars(select(OutboxMessage)))
        sent = [row for row in rows if row.state == "sent"]
        still_held = [row for row in rows if row.locked_until is not None]
        handed_back = [row for row in rows if row.state == "pending" and row.locked_until is None]
        assert {row.state for row in rows} <= {"sent", "pending"}
        assert len(still_held) <= 1 and len(handed_back) >= 10
        assert all(row.attempts == 0 for row in handed_back)
        assert await logged(log_path, "outbox leases released")

        configured = settings.replace(TELEGRAM_TOKEN="1:x", TELEGRAM_API_BASE=telegram.base_url)
        telegram.delay_s = 0
        dispatcher = Dispatcher(db, configured)
        try:
            assert await dispatcher.run_once() == len(handed_back)
        finally:
            await dispatcher.close()
    finally:
        await telegram.stop()
    texts = [message["text"] for message in telegram.messages]
    assert len(texts) == len(set(texts)) >= len(sent) + len(handed_back)
