"""Outside effects follow the transaction: after-commit work runs for a commit only, and an
alert about written data reaches the errors chat once its transaction has committed."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from db.after_commit import on_commit, on_rollback
from services.payments import callback_checksum
from tests.fakes import FakeTelegram
from tests.support import wait_for

SECRET = "callback-secret"


async def test_after_commit_work_runs_only_for_a_commit(db):
    done = []

    class Refused(Exception):
        pass

    try:
        async with db.begin() as session:
            on_commit(session, lambda: done.append("published"))
            on_rollback(session, lambda: done.append("removed"))
            await session.execute(text("SELECT 1"))
            raise Refused()
    except Refused:
        pass
    async with db.begin() as session:
        on_commit(session, lambda: done.append("published"))
        on_rollback(session, lambda: done.append("removed"))
        async with session.begin_nested():
            await session.execute(text("SELECT 1"))
        assert done == ["removed"]
    assert done == ["removed", "published"]


async def test_an_alert_about_a_stored_callback_follows_its_commit(make_server):
    telegram = await FakeTelegram().start()
    try:
        running = await make_server(
            TELEGRAM_TOKEN="123:abc",
            TELEGRAM_API_BASE=telegram.base_url,
            TELEGRAM_ERRORS_CHAT_ID="-42",
            SBER_CALLBACK_SECRET=SECRET,
        )
        md_order = str(uuid.uuid4())
        params = {"mdOrder": md_order, "orderNumber": "999-1", "operation": "deposited"}
        signed = {**params, "status": "1"}
        signed["checksum"] = callback_checksum(signed, SECRET)
        for _ in range(2):
            response = await running.client.get("/payments/callback", params=signed)
            assert response.status_code == 200, response.text

        async def alerted() -> bool:
            return bool(telegram.messages)

        await wait_for(alerted)
    finally:
        await telegram.stop()
    assert [message["chat_id"] for message in telegram.messages] == ["-42"]
    assert md_order in telegram.messages[0]["text"]
