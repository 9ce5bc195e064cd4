"""SIGTERM to a server: it stops accepting, finishes what is in flight, hands back outbox rows."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

from sqlalchemy import select

from background.dispatcher import Dispatcher
from db.models import OutboxMessage
from tests.factories import order_body, setup_shop
from tests.fakes import FakeTelegram
from tests.support import start_server_process, wait_for


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
    server, port = await start_server_process(
        settings, tmp_path / "serve.log", GRACEFUL_SHUTDOWN_S="20"
    )
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
        server, _ = await start_server_process(
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
