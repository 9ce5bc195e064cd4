"""Refunds and reversals against a real local server speaking the gateway's protocol."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from db.models import Refund
from db.models.base import utcnow
from helpers.money import to_kopecks
from helpers.sberbank import GatewayUnavailable
from services.errors import Conflict
from services.paid_after_cancel import submit_refund_job
from services.payments import callback_checksum, confirm_payment_job
from services.refund_plans import RefundableLine, plan_refund
from services.refund_reconciliation import reconcile_refunds
from tests.factories import (
    ORDER_TOTAL,
    PAYMENT_RETURN,
    expire_unpaid_order,
    order_body,
    order_view,
    outbox_payloads,
    receipt,
    setup_shop,
    stock,
)
from tests.support import auth, customer_token, free_port, make_settings, with_gateway

SECRET = "callback-secret"
OVER_REFUND = "Refund exceeds the paid amount"


@pytest.fixture
async def shop_server(make_server, gateway, admin_headers):
    running = await make_server(
        SBER_BASE_URL=gateway.base_url,
        SBER_TIMEOUT_S=0.5,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
        SBER_CALLBACK_SECRET=SECRET,
        TELEGRAM_ORDERS_CHAT_ID="-1001",
        EMAIL_FROM="shop@vinterr-plus.ru",
        ORDER_CANCELLED_STATUS_IDS=(2,),
        ORDER_HANDED_TO_1C_STATUS_IDS=(3,),
    )
    shop = await setup_shop(running.client, admin_headers)
    return running.client, shop, running.app.ctx.settings


async def registered_order(client, shop) -> tuple[dict, str]:
    order = (await client.post("/orders", json=order_body(shop))).json()
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert payment.status_code == 200, payment.text
    return order, payment.json()["sberbank_order_id"]


async def paid_order(client, shop, gateway) -> tuple[dict, str]:
    order, gateway_id = await registered_order(client, shop)
    gateway.pay(gateway_id)
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json()["is_payed"] is True
    return order, gateway_id


async def test_full_refund_returns_everything(shop_server, gateway, admin_headers, db):
    client, shop, settings = shop_server
    order, gateway_id = await paid_order(client, shop, gateway)
    response = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "succeeded" and body["kind"] == "refund"
    assert body["amount"] == ORDER_TOTAL and body["delivery"] is True and body["restocked"] is True
    assert body["refunded_sum"] == ORDER_TOTAL and body["payment_state"] == "refunded"
    [form] = gateway.calls("refund")
    assert form["orderId"] == gateway_id and form["amount"] == str(ORDER_TOTAL * 100)
    items = receipt(form)
    assert [item["positionId"] for item in items] == [1, 2, 3]
    assert sum(item["itemAmount"] for item in items) == ORDER_TOTAL * 100
    registered = json.loads(gateway.registered[gateway_id]["orderBundle"])["cartItems"]["items"]
    assert [(i["positionId"], i["itemCode"]) for i in items] == [
        (i["positionId"], i["itemCode"]) for i in registered
    ]
    view = await order_view(client, admin_headers, order["id"])
    assert view["payment_state"] == "refunded" and view["refunded_sum"] == ORDER_TOTAL
    assert view["is_payed"] is True
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}
    texts = [p["text"] for p in await outbox_payloads(db, "order_refunded") if "text" in p]
    assert any(f"Возврат по заказу №{order['id']}" in text for text in texts)
    emails = [p for p in await outbox_payloads(db, "order_refunded") if "subject" in p]
    assert [email["to"] for email in emails] == ["ivan@example.ru"]
    assert "11780" in emails[0]["text"]
    [event] = await outbox_payloads(db, "OrderRefunded")
    assert event["data"]["amount_kopecks"] == ORDER_TOTAL * 100
    params = {"mdOrder": gateway_id, "operation": "refunded", "status": "1"}
    signed = {**params, "checksum": callback_checksum(params, SECRET)}
    assert (await client.post("/payments/callback", data=signed)).status_code == 200
    [check] = await outbox_payloads(db, "callback")

    async def confirm(payload, gateway_client):
        await confirm_payment_job(db, settings, payload, None, gateway_client)

    await with_gateway(settings, confirm, check)
    again = await client.post(f"/orders/{order['id']}/refund", json={}, headers=admin_headers)
    assert again.status_code == 409 and again.json()["message"] == "Nothing left to refund"
    assert len(gateway.calls("refund")) == 1
    listed = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert [(r["id"], r["state"]) for r in listed] == [(body["id"], "succeeded")]


async def test_partial_refunds_by_lines_and_delivery(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, _ = await paid_order(client, shop, gateway)
    path = f"/orders/{order['id']}/refund"
    first_line = {"variation_id": shop["first"]["id"], "quantity": 1}
    one = await client.post(path, json={"lines": [first_line]}, headers=admin_headers)
    assert one.status_code == 201, one.text
    assert one.json()["amount"] == 4990 and one.json()["payment_state"] == "partially_refunded"
    [item] = receipt(gateway.calls("refund")[0])
    assert item["positionId"] == 1 and item["quantity"]["value"] == 1
    assert item["itemAmount"] == 499000
    assert await stock(client, shop["first"]) == {"available": 4, "reserved": 1, "stock": 5}

    view = await order_view(client, admin_headers, order["id"])
    second_line_id = view["variations"][1]["id"]
    two = await client.post(
        path,
        json={"lines": [{"line_id": second_line_id, "quantity": 1}], "delivery": True},
        headers=admin_headers,
    )
    assert two.status_code == 201 and two.json()["amount"] == 1800
    assert [i["itemCode"] for i in receipt(gateway.calls("refund")[1])] == [
        str(shop["second"]["id"]),
        "delivery",
    ]

    too_many = await client.post(
        path, json={"lines": [{**first_line, "quantity": 2}]}, headers=admin_headers
    )
    assert too_many.status_code == 409 and too_many.json()["message"] == OVER_REFUND
    assert too_many.json()["lines"][0]["refundable"] == 1
    delivery_again = await client.post(path, json={"delivery": True}, headers=admin_headers)
    assert delivery_again.status_code == 409 and delivery_again.json()["message"] == OVER_REFUND
    stranger = await client.post(
        path, json={"lines": [{"variation_id": 999999, "quantity": 1}]}, headers=admin_headers
    )
    assert stranger.status_code == 409
    assert stranger.json() == {
        "message": "Line is not in the order",
        "error_code": 409,
        "lines": [0],
    }
    assert len(gateway.calls("refund")) == 2

    rest = await client.post(path, json={"full": True}, headers=admin_headers)
    assert rest.status_code == 201 and rest.json()["amount"] == 4990
    assert rest.json()["refunded_sum"] == ORDER_TOTAL and rest.json()["payment_state"] == "refunded"
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}


async def test_concurrent_full_refunds_refund_once(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, _ = await paid_order(client, shop, gateway)
    path = f"/orders/{order['id']}/refund"
    answers = await asyncio.gather(*(client.post(path, headers=admin_headers) for _ in range(3)))
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409]
    assert len(gateway.calls("refund")) == 1
    view = await order_view(client, admin_headers, order["id"])
    assert view["refunded_sum"] == ORDER_TOTAL


async def test_units_handed_to_1c_stay_with_1c(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, _ = await paid_order(client, shop, gateway)
    handed = await client.patch(
        f"/orders/{order['id']}", json={"status_id": 3}, headers=admin_headers
    )
    assert handed.status_code == 200
    refund = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert refund.status_code == 201 and refund.json()["restocked"] is False
    assert await stock(client, shop["first"]) == {"available": 3, "reserved": 0, "stock": 3}


async def test_refused_refund_is_502_and_recorded_failed(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, _ = await paid_order(client, shop, gateway)
    gateway.refund_mode = "refuse"
    response = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert response.status_code == 502
    body = response.json()
    assert body["message"] == "Refund failed" and body["gateway_message"] == "Операция невозможна"
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert refund["state"] == "failed" and refund["gateway_code"] == "7"
    view = await order_view(client, admin_headers, order["id"])
    assert view["payment_state"] == "paid" and view["refunded_sum"] == 0
    assert await stock(client, shop["first"]) == {"available": 3, "reserved": 2, "stock": 5}
    gateway.refund_mode = "ok"
    retried = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert retried.status_code == 201


async def test_unpaid_orders_and_malformed_refunds_are_refused_before_the_gateway(
    shop_server, gateway, admin_headers, db
):
    client, shop, _ = shop_server
    order, _ = await registered_order(client, shop)
    path = f"/orders/{order['id']}/refund"
    unpaid = await client.post(path, headers=admin_headers)
    assert unpaid.status_code == 409 and unpaid.json()["message"] == "Order is not paid"
    never = (await client.post("/orders", json=order_body(shop))).json()
    response = await client.post(f"/orders/{never['id']}/refund", headers=admin_headers)
    assert response.status_code == 409 and response.json()["message"] == "Order is not paid"
    for bad, field in (
        ({"full": True, "lines": [{"line_id": 1, "quantity": 1}]}, "full"),
        ({"full": False}, "lines"),
        ({"delivery": False}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": [{"quantity": 1}]}, "lines.0.line_id"),
        ({"lines": [{"line_id": 1, "variation_id": 2, "quantity": 1}]}, "lines.0.line_id"),
        ({"lines": [{"line_id": 1, "quantity": 0}]}, "lines.0.quantity"),
        ({"delivery": "maybe"}, "delivery"),
    ):
        rejected = await client.post(path, json=bad, headers=admin_headers)
        assert rejected.status_code == 400, (bad, rejected.text)
        assert field in rejected.json()["fields"], (bad, rejected.json())
    assert (await client.post(path, content=b"[", headers=admin_headers)).status_code == 400
    assert (await client.post(path)).status_code == 401
    customer = auth(customer_token(order["customer_id"]))
    assert (await client.post(path, headers=customer)).status_code == 403
    assert (await client.get(f"/orders/{order['id']}/refunds", headers=customer)).status_code == 403
    missing = await client.post("/orders/999999/refund", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["message"] == "Order not found"
    listed = await client.get("/orders/999999/refunds", headers=admin_headers)
    assert listed.status_code == 404
    assert gateway.calls("refund") == []
    async with db.session() as session:
        assert await session.scalar(select(Refund.id)) is None


async def test_idempotency_key_makes_a_retry_harmless(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, _ = await paid_order(client, shop, gateway)
    path = f"/orders/{order['id']}/refund"
    headers = {**admin_headers, "Idempotency-Key": "refund-1"}
    body = {"lines": [{"variation_id": shop["first"]["id"], "quantity": 1}]}
    first = await client.post(path, json=body, headers=headers)
    second = await client.post(path, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(gateway.calls("refund")) == 1
    reused = await client.post(path, json={"full": True}, headers=headers)
    assert reused.status_code == 409 and reused.json()["message"] == "Idempotency key reused"


@pytest.mark.parametrize(("mode", "settled"), [("slow_done", "succeeded"), ("slow_lost", "failed")])
async def test_unanswered_refund_is_settled_by_reconciliation(
    shop_server, gateway, admin_headers, db, mode, settled
):
    client, shop, settings = shop_server
    order, _ = await paid_order(client, shop, gateway)
    gateway.refund_mode = mode
    response = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "pending"
    assert await with_gateway(settings, reconcile_refunds, db, settings) == 0
    async with db.begin() as session:
        await session.execute(update(Refund).values(requested_at=utcnow() - timedelta(minutes=10)))
    assert await with_gateway(settings, reconcile_refunds, db, settings) == 1
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert refund["state"] == settled
    view = await order_view(client, admin_headers, order["id"])
    expected = ("refunded", ORDER_TOTAL) if settled == "succeeded" else ("paid", 0)
    assert (view["payment_state"], view["refunded_sum"]) == expected
    assert len(gateway.calls("refund")) == 1


async def test_held_payment_is_reversed_in_full(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, gateway_id = await registered_order(client, shop)
    gateway.hold(gateway_id)
    path = f"/orders/{order['id']}/refund"
    partial = await client.post(path, json={"delivery": True}, headers=admin_headers)
    assert partial.status_code == 409
    assert partial.json()["message"] == "Only a full reversal is possible while the payment is held"
    response = await client.post(path, json={"full": True}, headers=admin_headers)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "reversal" and response.json()["amount"] == ORDER_TOTAL
    assert [form["orderId"] for form in gateway.calls("reverse")] == [gateway_id]
    assert gateway.calls("refund") == []
    assert gateway.statuses[gateway_id]["orderStatus"] == 3
    view = await order_view(client, admin_headers, order["id"])
    assert view["is_payed"] is False and view["payment_state"] == "refunded"
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}


async def test_refunds_made_in_the_gateway_cabinet_are_recorded_once_and_restock_when_full(
    shop_server, gateway, admin_headers, db
):
    client, shop, settings = shop_server
    order, gateway_id = await paid_order(client, shop, gateway)
    gateway.refund_in_cabinet(gateway_id, 50000)
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.status_code == 200 and status.json()["status"] == 4
    view = await order_view(client, admin_headers, order["id"])
    assert (view["payment_state"], view["refunded_sum"]) == ("partially_refunded", 500)
    assert await stock(client, shop["first"]) == {"available": 3, "reserved": 2, "stock": 5}
    assert len(await outbox_payloads(db, "refund_without_lines")) == 1

    params = {
        "mdOrder": gateway_id,
        "orderNumber": f"{order['id']}-1",
        "operation": "refunded",
        "status": "1",
    }
    signed = {**params, "checksum": callback_checksum(params, SECRET)}

    async def confirm(payload, gateway_client):
        await confirm_payment_job(db, settings, payload, None, gateway_client)

    # Each cabinet refund sends the same callback parameters; every one is checked.
    assert (await client.post("/payments/callback", data=signed)).status_code == 200
    [first_check] = await outbox_payloads(db, "callback")
    await with_gateway(settings, confirm, first_check)
    gateway.refund_in_cabinet(gateway_id, ORDER_TOTAL * 100 - 50000)
    assert (await client.post("/payments/callback", data=signed)).status_code == 200
    checks = await outbox_payloads(db, "callback")
    assert len(checks) == 2
    await with_gateway(settings, confirm, checks[1])
    await with_gateway(settings, confirm, checks[1])
    refunds = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert [(r["source"], r["state"], r["amount_kopecks"]) for r in refunds] == [
        ("gateway", "succeeded", 50000),
        ("gateway", "succeeded", ORDER_TOTAL * 100 - 50000),
    ]
    assert refunds[1]["restocked"] is True and refunds[1]["delivery"] is True
    view = await order_view(client, admin_headers, order["id"])
    assert (view["payment_state"], view["refunded_sum"]) == ("refunded", ORDER_TOTAL)
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}


async def test_payment_after_expiry_reserves_again(shop_server, gateway, admin_headers, db):
    client, shop, settings = shop_server
    order, gateway_id = await registered_order(client, shop)
    await expire_unpaid_order(db, settings, order["id"])
    assert (await order_view(client, admin_headers, order["id"]))["status_id"] == 2
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}
    gateway.pay(gateway_id)
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json()["is_payed"] is True
    view = await order_view(client, admin_headers, order["id"])
    assert view["status_id"] == 1 and view["payment_state"] == "paid"
    assert await stock(client, shop["first"]) == {"available": 3, "reserved": 2, "stock": 5}
    [message] = await outbox_payloads(db, "paid_after_cancel")
    assert "снова зарезервированы" in message["text"]
    assert gateway.calls("refund") == []


async def test_payment_after_expiry_without_stock_is_refunded(
    shop_server, gateway, admin_headers, db
):
    client, shop, settings = shop_server
    order, gateway_id = await registered_order(client, shop)
    await expire_unpaid_order(db, settings, order["id"])
    line = {"variation_id": shop["first"]["id"], "amount": 5, "current_price": 4990}
    other = await client.post("/orders", json=order_body(shop, variations=[line]))
    assert other.status_code == 201
    gateway.pay(gateway_id)
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json()["is_payed"] is True
    view = await order_view(client, admin_headers, order["id"])
    assert view["status_id"] == 2 and view["is_payed"] is True
    [message] = await outbox_payloads(db, "paid_after_cancel")
    assert "возвращается" in message["text"]
    [job] = await outbox_payloads(db, "refund_submit")
    await with_gateway(settings, submit_refund_job, db, settings, job)
    await with_gateway(settings, submit_refund_job, db, settings, job)
    [form] = gateway.calls("refund")
    assert form["amount"] == str(ORDER_TOTAL * 100)
    assert sum(item["itemAmount"] for item in receipt(form)) == ORDER_TOTAL * 100
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert (refund["source"], refund["state"], refund["restocked"]) == ("auto", "succeeded", False)
    view = await order_view(client, admin_headers, order["id"])
    assert (view["payment_state"], view["refunded_sum"]) == ("refunded", ORDER_TOTAL)
    assert await stock(client, shop["first"]) == {"available": 0, "reserved": 5, "stock": 5}


async def test_automatic_refund_retries_an_unreachable_gateway_and_alerts_a_refusal(
    shop_server, gateway, admin_headers, db
):
    client, shop, settings = shop_server
    order, gateway_id = await registered_order(client, shop)
    await expire_unpaid_order(db, settings, order["id"])
    line = {"variation_id": shop["first"]["id"], "amount": 5, "current_price": 4990}
    assert (await client.post("/orders", json=order_body(shop, variations=[line]))).is_success
    gateway.pay(gateway_id)
    await client.get(f"/orders/{gateway_id}/status_payment")
    [job] = await outbox_payloads(db, "refund_submit")
    down = settings.replace(SBER_BASE_URL=f"http://127.0.0.1:{free_port()}/payment/rest/")
    with pytest.raises(GatewayUnavailable):
        await with_gateway(down, submit_refund_job, db, down, job)
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert refund["state"] == "pending"
    gateway.refund_mode = "refuse"
    await with_gateway(settings, submit_refund_job, db, settings, job)
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert refund["state"] == "failed" and refund["gateway_message"] == "Операция невозможна"
    [alert] = await outbox_payloads(db, "refund_failed")
    assert f"заказа №{order['id']}" in alert["text"]
    assert len(gateway.calls("refund")) == 1


SETTINGS = make_settings("sqlite+aiosqlite:///:memory:", "/nonexistent")
order_lines = st.lists(
    st.tuples(st.integers(0, 100_000), st.integers(1, 20)), min_size=1, max_size=8
)
requests = st.lists(
    st.one_of(
        st.just({"full": True}),
        st.fixed_dictionaries(
            {
                "lines": st.lists(
                    st.fixed_dictionaries(
                        {"line_id": st.integers(1, 8), "quantity": st.integers(1, 25)}
                    ),
                    min_size=1,
                    max_size=4,
                ),
                "delivery": st.booleans(),
            }
        ),
        st.just({"delivery": True}),
    ),
    max_size=8,
)


@given(order_lines, st.integers(0, 5000), requests)
def test_refund_receipts_add_up_and_never_exceed_the_payment(lines, delivery_cost, sequence):
    refundable = [
        RefundableLine(index, 100 + index, f"Товар {index}", price, quantity)
        for index, (price, quantity) in enumerate(lines, start=1)
    ]
    delivery = ("Курьер", delivery_cost) if delivery_cost else None
    paid = to_kopecks(sum(price * quantity for price, quantity in lines) + delivery_cost)
    refunded, delivery_taken = 0, False
    for request in sequence:
        try:
            plan = plan_refund(
                refundable, delivery, delivery_taken, paid - refunded, request, SETTINGS
            )
        except Conflict:
            continue
        assert sum(item["itemAmount"] for item in plan.receipt) == plan.amount_kopecks
        assert all(
            item["itemAmount"] == item["itemPrice"] * item["quantity"]["value"]
            for item in plan.receipt
        )
        for item in plan.lines:
            refundable[item["line_id"] - 1].taken += item["quantity"]
        delivery_taken = delivery_taken or plan.delivery
        refunded += plan.amount_kopecks
        assert refunded <= paid
        assert all(0 <= line.taken <= line.quantity for line in refundable)
