"""The buyer gets an email when the order moves to a status the shop lists as notifying."""

from __future__ import annotations

from pathlib import Path

from tests import factories
from tests.factories import order_body, setup_shop

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


async def test_listed_statuses_email_the_buyer_with_their_template(make_server, db, admin_headers):
    running = await make_server(EMAIL_FROM="shop@vinterr.example", ORDER_STATUS_EMAIL_IDS=(2, 3))
    client, headers = running.client, admin_headers
    shop = await setup_shop(client, headers)
    order = (await client.post("/orders", json=order_body(shop))).json()
    path = f"/orders/{order['id']}"
    own_template = TEMPLATES / "order_status_3.txt"
    own_template.write_text("Заказ №$order_id в пути, $name!", encoding="utf-8")
    try:
        assert (await client.patch(path, json={"status_id": 2}, headers=headers)).status_code == 200
        assert (await client.patch(path, json={"status_id": 1}, headers=headers)).status_code == 200
        assert (await client.patch(path, json={"status_id": 3}, headers=headers)).status_code == 200
    finally:
        own_template.unlink()
    cancelled, handed = await factories.outbox_payloads(db, "order_status")
    assert cancelled["to"] == "ivan@example.ru"
    assert cancelled["subject"] == f"Заказ №{order['id']}: Отменён"
    assert "Отменён" in cancelled["text"] and "Иван" in cancelled["html"]
    assert handed["text"] == f"Заказ №{order['id']} в пути, Иван!"
    assert "Передан в 1С" in handed["html"]


async def test_no_status_email_without_a_listed_status(client, admin_headers, db):
    shop = await setup_shop(client, admin_headers)
    order = (await client.post("/orders", json=order_body(shop))).json()
    await client.patch(f"/orders/{order['id']}", json={"status_id": 2}, headers=admin_headers)
    assert await factories.outbox_payloads(db, "order_status") == []
