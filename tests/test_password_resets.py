"""Customer password reset: a one-time, expiring emailed token that ends other sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from db.models import PasswordReset
from db.models.base import utcnow
from tests import factories
from tests.factories import log_in, register

SHOP_MAIL = {"EMAIL_FROM": "shop@vinterr.example"}


def _token(email: dict) -> str:
    return re.search(r"token=([\w-]+)", email["text"]).group(1)


async def test_a_reset_link_sets_a_new_password_and_ends_other_sessions(make_server, db):
    client = (await make_server(**SHOP_MAIL)).client
    customer = await register(client)
    old_session = await log_in(client)
    asked = await client.post("/customers/password_reset", json={"login": "8 902 516-31-11"})
    assert asked.status_code == 202
    (email,) = await factories.outbox_payloads(db, "password_reset")
    assert email["to"] == "ivan@example.ru"
    assert "https://vinterr-plus.ru/password_reset?token=" in email["text"]
    assert _token(email) in email["html"]
    confirmed = await client.post(
        "/customers/password_reset/confirm",
        json={"token": _token(email), "password": "new-secret"},
    )
    assert confirmed.status_code == 204
    stale = await client.get(f"/customers/{customer['id']}", headers=old_session)
    assert stale.status_code == 401
    await log_in(client, password="new-secret")
    wrong_old = await client.post(
        "/customers/auth", json={"login": "ivan@example.ru", "password": "secret-1"}
    )
    assert wrong_old.status_code == 401
    again = await client.post(
        "/customers/password_reset/confirm", json={"token": _token(email), "password": "x-2"}
    )
    assert again.status_code == 400
    assert again.json()["fields"] == {"token": ["Invalid or expired token."]}


async def test_unknown_accounts_get_the_same_answer_and_no_email(make_server, db):
    client = (await make_server(**SHOP_MAIL)).client
    known = await client.post("/customers/password_reset", json={"login": "nobody@example.ru"})
    assert known.status_code == 202
    assert known.json()["message"].startswith("If the account exists")
    assert await factories.outbox_payloads(db, "password_reset") == []


async def test_only_the_newest_unexpired_token_works(make_server, db):
    client = (await make_server(**SHOP_MAIL)).client
    await register(client)
    for _ in range(2):
        await client.post("/customers/password_reset", json={"login": "ivan@example.ru"})
    first, second = await factories.outbox_payloads(db, "password_reset")
    superseded = await client.post(
        "/customers/password_reset/confirm", json={"token": _token(first), "password": "p-1"}
    )
    assert superseded.status_code == 400
    async with db.begin() as session:
        await session.execute(
            update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await client.post(
        "/customers/password_reset/confirm", json={"token": _token(second), "password": "p-2"}
    )
    assert expired.status_code == 400


async def test_bad_reset_requests_are_refused(client):
    missing = await client.post("/customers/password_reset", json={})
    assert missing.status_code == 400 and "login" in missing.json()["fields"]
    no_password = await client.post("/customers/password_reset/confirm", json={"token": "abc"})
    assert no_password.status_code == 400 and "password" in no_password.json()["fields"]
    forged = await client.post(
        "/customers/password_reset/confirm", json={"token": "forged", "password": "p-1"}
    )
    assert forged.status_code == 400


async def test_reset_requests_are_rate_limited(make_server):
    client = (
        await make_server(**SHOP_MAIL, RATE_LIMITS_ENABLED=True, RATE_LIMIT_SIGNUP=(2, 600))
    ).client
    statuses = [
        (await client.post("/customers/password_reset", json={"login": "a@example.ru"})).status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
