"""A payment the shop first sees as refunded (gateway status 4): it was paid, then money went
back before any status check or callback reached the shop."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import OutboxMessage
from helpers.money import to_kopecks
from tests.factories import (
    ORDER_TOTAL,
    PAYMENT_RETURN,
    expire_unpaid_order,
    order_body,
    order_view,
    outbox_payloads,
    setup_shop,
    stock,
)


@pytest.fixture
async def shop(make_server, gateway, admin_headers):
    running = await make_server(
        SBER_BASE_URL=gateway.base_url,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
        TELEGRAM_ORDERS_CHAT_ID="-1001",
        ORDER_CANCELLED_STATUS_IDS=(2,),
    )
    return running.client, await setup_shop(running.client, admin_headers), running.app


async def paid_unseen(client, shop, gateway) -> tuple[dict, str]:
    order = (await client.post("/orders", json=order_body(shop))).json()
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    gateway_id = payment.json()["sberbank_order_id"]
    gateway.pay(gateway_id)
    return order, gateway_id


async def test_a_partly_refunded_payment_marks_the_order_paid(shop, gateway, admin_headers, db):
    client, shop, _ = shop
    order, gateway_id = await paid_unseen(client, shop, gateway)
    gateway.refund_in_cabinet(gateway_id, 50000)
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json() == {
        "order_id": order["id"],
        "is_payed": True,
        "status": 4,
        "amount": ORDER_TOTAL,
    }
    view = await order_view(client, admin_headers, order["id"])
    assert (view["is_payed"], view["payment_state"], view["refunded_sum"]) == (
        True,
        "partially_refunded",
        500,
    )
    async with db.session() as session:
        events = await session.scalars(
            select(OutboxMessage.topic)
            .where(
                OutboxMessage.kind == "event",
                OutboxMessage.topic.like("OrderPa%") | OutboxMessage.topic.like("OrderRef%"),
            )
            .order_by(OutboxMessage.id)
        )
        assert list(events) == ["OrderPaid", "OrderRefunded"]
    assert len(await outbox_payloads(db, "order_paid")) == 1
    # The cabinet named no goods: they stay reserved until staff say which came back.
    assert await stock(client, shop["first"]) == {"available": 3, "reserved": 2, "stock": 5}
    second_line = order["variations"][1]["id"]
    refund = await client.post(
        f"/orders/{order['id']}/refund",
        json={"lines": [{"line_id": second_line, "quantity": 1}]},
        headers=admin_headers,
    )
    assert refund.status_code == 201 and refund.json()["refunded_sum"] == 2000
    await client.get(f"/orders/{gateway_id}/status_payment")
    refunds = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert [(r["source"], r["amount_kopecks"]) for r in refunds] == [
        ("gateway", 50000),
        ("staff", 150000),
    ]


async def test_a_fully_refunded_payment_returns_the_goods(shop, gateway, admin_headers):
    client, shop, _ = shop
    order, gateway_id = await paid_unseen(client, shop, gateway)
    gateway.refund_in_cabinet(gateway_id, to_kopecks(ORDER_TOTAL))
    again = await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    assert again.status_code == 409 and again.json()["message"] == "Order is already paid"
    view = await order_view(client, admin_headers, order["id"])
    assert (view["is_payed"], view["payment_state"], view["refunded_sum"]) == (
        True,
        "refunded",
        ORDER_TOTAL,
    )
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}


async def test_a_cancelled_order_paid_and_refunded_stays_cancelled(
    shop, gateway, admin_headers, db
):
    client, shop, app = shop
    order, gateway_id = await paid_unseen(client, shop, gateway)
    await expire_unpaid_order(db, app.ctx.settings, order["id"])
    gateway.refund_in_cabinet(gateway_id, to_kopecks(ORDER_TOTAL))
    assert (await client.get(f"/orders/{gateway_id}/status_payment")).json()["is_payed"]
    view = await order_view(client, admin_headers, order["id"])
    assert (view["status_id"], view["payment_state"]) == (2, "refunded")
    assert await outbox_payloads(db, "paid_after_cancel") == []
    assert await outbox_payloads(db, "refund_submit") == []
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}


async def test_a_refunded_status_without_a_deposit_only_fails_the_attempt(
    shop, gateway, admin_headers
):
    client, shop, _ = shop
    order = (await client.post("/orders", json=order_body(shop))).json()
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    gateway_id = payment.json()["sberbank_order_id"]
    gateway.statuses[gateway_id]["orderStatus"] = 4
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json()["is_payed"] is False
    view = await order_view(client, admin_headers, order["id"])
    assert (view["is_payed"], view["payment_state"]) == (False, "unpaid")
    retry = await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    assert retry.status_code == 200 and retry.json()["sberbank_order_id"] != gateway_id
