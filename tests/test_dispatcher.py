"""The outbox dispatcher against real local Telegram and SMTP servers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email import message_from_bytes, policy
from html import escape

import pytest
from sqlalchemy import select

from background.dispatcher import Dispatcher
from db.engine import Database
from db.models import OutboxMessage
from db.models.base import utcnow
from services.notifications import split_message
from tests.factories import make_due, order_body, setup_shop
from tests.fakes import FakeSmtp, FakeTelegram
from tests.support import channel_settings, free_port, is_postgresql


async def outbox_states(db) -> dict:
    async with db.session() as session:
        rows = await session.execute(select(OutboxMessage.kind, OutboxMessage.state))
        states: dict = {}
        for kind, state in rows:
            states.setdefault(kind, []).append(state)
    return states


async def test_messages_survive_outages_and_arrive_once(settings, db, make_server, admin_headers):
    telegram_port, smtp_port = free_port(), free_port()
    configured = channel_settings(settings, telegram_port, smtp_port)
    running = await make_server(
        **{
            k: getattr(configured, k)
            for k in (
                "TELEGRAM_TOKEN",
                "TELEGRAM_API_BASE",
                "TELEGRAM_ORDERS_CHAT_ID",
                "SMTP_HOST",
                "SMTP_PORT",
                "SMTP_SECURITY",
                "EMAIL_FROM",
                "EMAIL_SHOP_TO",
            )
        }
    )
    shop = await setup_shop(running.client, admin_headers)
    placed = await running.client.post("/orders", json=order_body(shop, last_name="<Ивановна>"))
    assert placed.status_code == 201
    dispatcher = Dispatcher(db, configured)
    assert await dispatcher.run_once() == 5
    states = await outbox_states(db)
    assert states["telegram"] == ["pending"] and states["email"] == ["pending", "pending"]
    telegram = await FakeTelegram(port=telegram_port).start()
    smtp = FakeSmtp(port=smtp_port).start()
    try:
        await make_due(db)
        await dispatcher.run_once()
        await make_due(db)
        assert await dispatcher.run_once() == 0
    finally:
        await telegram.stop()
        smtp.stop()
        await dispatcher.close()
    assert len(telegram.messages) == 1
    text = telegram.messages[0]["text"]
    assert telegram.messages[0]["parse_mode"] == "HTML"
    assert f"Оформлен заказ №{placed.json()['id']}" in text
    assert "&lt;Ивановна&gt;" in text and "Итого: 11780 руб." in text
    assert f"{escape(shop['first']['name'][:40])} | 2 | 4990" in text
    assert f"{escape(shop['second']['name'][:40])} | 1 | 1500" in text
    assert "<b>Тип доставки:</b> Курьер" in text
    assert sorted(m.rcpt_tos[0] for m in smtp.inbox.messages) == [
        "boss@example.ru",
        "ivan@example.ru",
    ]
    email = message_from_bytes(smtp.inbox.messages[0].content, policy=policy.default)
    assert email["Message-ID"] and email["Date"]
    assert email.get_content_type() == "multipart/alternative"
    plain = email.get_body(preferencelist=("plain",)).get_content()
    assert f"{shop['first']['name']} (2) — 4990 руб." in plain and "Курьер" in plain
    assert all(len(line) <= 998 for line in smtp.inbox.messages[0].content.split(b"\r\n"))
    states = await outbox_states(db)
    assert {state for kind_states in states.values() for state in kind_states} == {"sent"}


async def test_rolled_back_order_sends_nothing(settings, db, make_server, admin_headers):
    running = await make_server(TELEGRAM_ORDERS_CHAT_ID="-1001", EMAIL_FROM="shop@example.ru")
    shop = await setup_shop(running.client, admin_headers)
    body = order_body(shop)
    body["variations"][0]["amount"] = 99
    assert (await running.client.post("/orders", json=body)).status_code == 400
    states = await outbox_states(db)
    assert "telegram" not in states and "email" not in states


async def one_pass(db, configured) -> None:
    """One pass of a dispatcher of its own over the outbox."""
    dispatcher = Dispatcher(db, configured)
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.close()


async def queue_html_message(db, text: str) -> None:
    async with db.begin() as session:
        session.add(
            OutboxMessage(
                kind="telegram",
                topic="t",
                payload={"chat_id": "1", "text": text, "parse_mode": "HTML"},
            )
        )


async def test_telegram_retry_after_delays_a_message_and_bad_markup_is_resent_as_plain_text(
    settings, db
):
    telegram = await FakeTelegram().start()
    configured = settings.replace(TELEGRAM_TOKEN="1:x", TELEGRAM_API_BASE=telegram.base_url)
    await queue_html_message(db, "<b>a &amp; b</b>")
    telegram.replies = [
        (429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}),
        (400, {"ok": False, "description": "Bad Request: can't parse entities"}),
    ]
    dispatcher = Dispatcher(db, configured)
    try:
        await dispatcher.run_once()
        async with db.session() as session:
            row = await session.scalar(select(OutboxMessage))
        delay = (row.next_attempt_at - utcnow()).total_seconds()
        assert 5 < delay <= 7 and row.state == "pending"
        await make_due(db)
        await dispatcher.run_once()
    finally:
        await dispatcher.close()
        await telegram.stop()
    assert telegram.messages == [
        {"chat_id": "1", "text": "a & b", "disable_web_page_preview": True}
    ]


async def test_rejected_chat_gives_up(settings, db):
    telegram = await FakeTelegram().start()
    telegram.replies = [(403, {"ok": False, "description": "Forbidden: bot was blocked"})]
    configured = settings.replace(TELEGRAM_TOKEN="1:x", TELEGRAM_API_BASE=telegram.base_url)
    async with db.begin() as session:
        session.add(
            OutboxMessage(kind="telegram", topic="t", payload={"chat_id": "1", "text": "x"})
        )
    try:
        await one_pass(db, configured)
    finally:
        await telegram.stop()
    assert (await outbox_states(db)) == {"telegram": ["failed"]}


@pytest.mark.skipif(not is_postgresql(), reason="SKIP LOCKED claims need PostgreSQL")
async def test_two_dispatchers_never_send_twice(settings, db):
    telegram = await FakeTelegram().start()
    configured = settings.replace(TELEGRAM_TOKEN="1:x", TELEGRAM_API_BASE=telegram.base_url)
    async with db.begin() as session:
        session.add_all(
            OutboxMessage(kind="telegram", topic="t", payload={"chat_id": "1", "text": f"m{i}"})
            for i in range(120)
        )
    other_db = Database(settings.DATABASE_URL, pool_size=2)
    first, second = Dispatcher(db, configured), Dispatcher(other_db, configured)
    try:
        for _ in range(4):
            await asyncio.gather(first.run_once(), second.run_once())
    finally:
        for dispatcher in (first, second):
            await dispatcher.close()
        await other_db.dispose()
        await telegram.stop()
    texts = [message["text"] for message in telegram.messages]
    assert len(texts) == 120 and len(set(texts)) == 120


async def test_markup_fallback_still_honours_retry_after(settings, db):
    telegram = await FakeTelegram().start()
    configured = settings.replace(TELEGRAM_TOKEN="1:x", TELEGRAM_API_BASE=telegram.base_url)
    await queue_html_message(db, "<b>x")
    telegram.replies = [
        (400, {"ok": False, "description": "Bad Request: can't parse entities"}),
        (429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 300}}),
    ]
    try:
        await one_pass(db, configured)
    finally:
        await telegram.stop()
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert 290 < (row.next_attempt_at - utcnow()).total_seconds() <= 300


async def test_unknown_recipient_is_given_up(settings, db):
    smtp = FakeSmtp().start()
    smtp.inbox.unknown_recipients.add("nobody@example.ru")
    configured = channel_settings(settings, free_port(), smtp.port)
    async with db.begin() as session:
        session.add(
            OutboxMessage(
                kind="email",
                topic="t",
                payload={"to": "nobody@example.ru", "subject": "s", "html": "h", "text": "t"},
            )
        )
    try:
        await one_pass(db, configured)
    finally:
        smtp.stop()
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row.state == "failed" and row.attempts == 1 and row.last_error.startswith("550")


async def test_a_lease_outlived_by_slow_sends_is_renewed_not_shared(settings, db):
    telegram = await FakeTelegram(delay_s=0.6).start()
    configured = settings.replace(TELEGRAM_TOKEN="1:x", TELEGRAM_API_BASE=telegram.base_url)
    async with db.begin() as session:
        session.add_all(
            OutboxMessage(kind="telegram", topic="t", payload={"chat_id": "1", "text": f"m{i}"})
            for i in range(5)
        )
    lease = timedelta(seconds=2)
    other_db = Database(settings.DATABASE_URL, pool_size=2)
    first = Dispatcher(db, configured, lease=lease)
    second = Dispatcher(other_db, configured, lease=lease)

    async def after_the_first_lease():
        await asyncio.sleep(2.3)
        await second.run_once()

    try:
        await asyncio.gather(first.run_once(), after_the_first_lease())
        await second.run_once()
    finally:
        for dispatcher in (first, second):
            await dispatcher.close()
        await other_db.dispose()
        await telegram.stop()
    assert sorted(message["text"] for message in telegram.messages) == [f"m{i}" for i in range(5)]
    assert (await outbox_states(db)) == {"telegram": ["sent"] * 5}


def test_a_long_message_is_split_into_parts_valid_on_their_own():
    rows = "\n".join(f"Платье {index:03d} | 1 | 4990" for index in range(400))
    text = f"<b>Оформлен заказ №1</b>\n<pre>Наименование | Количество | Цена\n{rows}</pre>\nИтого"
    parts = split_message(text)
    assert len(parts) > 1 and all(len(part) <= 4096 for part in parts)
    assert all(part.count("<pre>") == part.count("</pre>") == 1 for part in parts)
    assert "\n".join(parts).replace("</pre>\n<pre>", "\n") == text
