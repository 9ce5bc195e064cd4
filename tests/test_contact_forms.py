"""Contact forms and the assortment bot's users."""

from __future__ import annotations

from sqlalchemy import select

from db.models import OutboxMessage

BOT = {"Authorization": "bot-secret-value"}


async def test_a_contact_form_queues_an_escaped_message_to_the_orders_chat(make_server, db):
    running = await make_server(TELEGRAM_ORDERS_CHAT_ID="-100123")
    response = await running.client.post(
        "/contact_forms",
        json={
            "customer_name": "Мария <b>",
            "phone_number": "8 (912) 000",
            "text": "Есть ли размер M?",
            "email": "",
        },
    )
    assert response.status_code == 201
    form = response.json()
    assert form == {
        "id": form["id"],
        "customer_name": "Мария <b>",
        "phone_number": "8 (912) 000",
        "text": "Есть ли размер M?",
        "email": None,
    }
    async with db.session() as session:
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.topic == "contact_form")
        )
    assert message.payload["chat_id"] == "-100123"
    assert "Мария &lt;b&gt;" in message.payload["text"]
    assert "Email:" not in message.payload["text"]


async def test_a_contact_form_names_every_invalid_field(client):
    response = await client.post(
        "/contact_forms", json={"customer_name": "", "text": "x" * 2001, "email": "bad"}
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"customer_name", "phone_number", "text", "email"}


async def test_the_bot_registers_telegram_users_with_a_default_status_and_unique_chat_ids(
    make_server, admin_headers
):
    running = await make_server(TELEGRAM_BOT_SECRET="bot-secret-value")
    client = running.client
    big = 2**40
    created = await client.post("/telegram_users", json={"chat_id": big}, headers=BOT)
    assert created.status_code == 201
    assert created.json() == {"chat_id": big, "status_id": 10}
    negative = await client.post(
        "/telegram_users",
        json={"chat_id": -100, "status_id": 3},
        headers={"Authorization": "Bearer bot-secret-value"},
    )
    assert negative.json() == {"chat_id": -100, "status_id": 3}
    unset = await client.post(
        "/telegram_users", json={"chat_id": 7, "status_id": None}, headers=BOT
    )
    assert unset.status_code == 201 and unset.json() == {"chat_id": 7, "status_id": 10}
    busy = await client.post("/telegram_users", json={"chat_id": big}, headers=BOT)
    assert busy.status_code == 409 and busy.json()["message"] == "Chat_id is busy"
    read = await client.get(f"/telegram_users/{big}", headers=BOT)
    assert read.json()["chat_id"] == big
    patched = await client.patch(f"/telegram_users/{big}", json={"status_id": 12}, headers=BOT)
    assert patched.json()["status_id"] == 12
    taken = await client.patch(f"/telegram_users/{big}", json={"chat_id": -100}, headers=BOT)
    assert taken.status_code == 409
    missing = await client.get("/telegram_users/5", headers=BOT)
    assert missing.status_code == 404 and missing.json()["message"] == "Telegram user not found"
    assert (await client.get(f"/telegram_users/{2**70}", headers=BOT)).status_code == 404
    assert (await client.get(f"/telegram_users/{big}", headers=admin_headers)).status_code == 401
    assert (await client.get(f"/telegram_users/{big}")).status_code == 401


async def test_bot_routes_are_closed_without_a_secret(client):
    response = await client.post(
        "/telegram_users", json={"chat_id": 1}, headers={"Authorization": ""}
    )
    assert response.status_code == 401
