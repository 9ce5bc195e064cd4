"""Payments against a real local server speaking the acquiring gateway's protocol."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from db.models import OutboxMessage, PaymentCallback
from helpers.sberbank import SberbankGateway
from services.payments import callback_checksum, confirm_payment_job
from tests import factories
from tests.factories import PAYMENT_RETURN, order_body, setup_shop
from tests.support import free_port

SECRET = "callback-secret"


@pytest.fixture
async def paying(make_server, gateway, admin_headers):
    running = await make_server(
        SBER_BASE_URL=gateway.base_url,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
        SBER_CALLBACK_SECRET=SECRET,
        TELEGRAM_ORDERS_CHAT_ID="-1001",
        ORDER_CANCELLED_STATUS_IDS=(2,),
    )
    shop = await setup_shop(running.client, admin_headers)
    order = (await running.client.post("/orders", json=order_body(shop))).json()
    return running.client, order, running.app.ctx.settings


async def confirm(db, settings, payload: dict) -> None:
    """The dispatcher's payment check, through a gateway client of its own."""
    gateway = SberbankGateway(settings)
    try:
        await confirm_payment_job(db, settings, payload, None, gateway)
    finally:
        await gateway.close()


async def count(db, model, *conditions) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def test_a_registered_payment_is_reused_until_paid_and_pays_the_order_once(
    paying, gateway, db
):
    client, order, _ = paying
    response = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == order["id"] and body["amount"] == order["total_sum"] == 11780
    assert set(body) == {"order_id", "amount", "sberbank_order_id", "payment_form_url"}
    _, form = gateway.requests[0]
    assert form["amount"] == "1178000" and form["orderNumber"] == f"{order['id']}-1"
    assert form["currency"] == "643" and form["description"] == f"Заказ №{order['id']}"
    bundle = json.loads(form["orderBundle"])
    items = bundle["cartItems"]["items"]
    assert sum(item["itemAmount"] for item in items) == 1178000
    assert items[-1]["itemCode"] == "delivery"
    again = await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    assert again.json() == body
    assert [kind for kind, _ in gateway.requests] == ["register", "status"]
    gateway.pay(body["sberbank_order_id"])
    status = await client.get(f"/orders/{body['sberbank_order_id']}/status_payment")
    assert status.json() == {
        "order_id": order["id"],
        "is_payed": True,
        "status": 2,
        "amount": 11780,
    }
    await client.get(f"/orders/{body['sberbank_order_id']}/status_payment")
    assert await count(db, OutboxMessage, OutboxMessage.topic == "OrderPaid") == 1
    assert await count(db, OutboxMessage, OutboxMessage.topic == "order_paid") == 1
    paid = await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    assert paid.status_code == 409 and paid.json()["message"] == "Order is already paid"


async def test_amount_mismatch_is_not_paid(paying, gateway):
    client, order, _ = paying
    body = (
        await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    ).json()
    gateway.pay(body["sberbank_order_id"], amount=100)
    status = (await client.get(f"/orders/{body['sberbank_order_id']}/status_payment")).json()
    assert status["is_payed"] is False and status["status"] == 2


async def test_a_refused_registration_is_409_and_the_next_attempt_gets_a_new_number(
    paying, gateway
):
    client, order, _ = paying
    gateway.refuse_with = "Заказ с таким номером уже обработан"
    refused = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert refused.status_code == 409
    assert refused.json()["message"] == "Заказ с таким номером уже обработан"
    gateway.refuse_with = None
    ok = await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    assert ok.status_code == 200
    assert gateway.requests[-1][1]["orderNumber"] == f"{order['id']}-2"


async def test_unreachable_gateway_is_502(make_server, admin_headers):
    running = await make_server(
        SBER_BASE_URL=f"http://127.0.0.1:{free_port()}/payment/rest/",
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
    )
    shop = await setup_shop(running.client, admin_headers)
    order = (await running.client.post("/orders", json=order_body(shop))).json()
    down = await running.client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert down.status_code == 502
    assert down.json()["message"] == "Payment gateway unavailable"


async def test_a_payment_registration_refuses_foreign_return_urls_unknown_and_cancelled_orders(
    paying, admin_headers
):
    client, order, _ = paying
    evil = await client.post(
        "/register_payment",
        json={
            "order_id": order["id"],
            "return_url": "https://evil.example/x",
            "fail_url": "http://vinterr-plus.ru/fail",
        },
    )
    assert evil.status_code == 400
    assert set(evil.json()["fields"]) == {"return_url", "fail_url"}
    missing = await client.post("/register_payment", json={"order_id": 999, **PAYMENT_RETURN})
    assert missing.status_code == 404
    await client.patch(f"/orders/{order['id']}", json={"status_id": 2}, headers=admin_headers)
    cancelled = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert cancelled.status_code == 409 and cancelled.json()["message"] == "Order is cancelled"
    unknown = await client.get(f"/orders/{uuid.uuid4()}/status_payment")
    assert unknown.status_code == 404


async def registered_callback(client, order, operation: str, **extra: str):
    """A registered attempt and the unsigned parameters of a gateway callback about it."""
    body = (
        await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    ).json()
    params = {
        "mdOrder": body["sberbank_order_id"],
        "orderNumber": f"{order['id']}-1",
        "operation": operation,
        "status": "1",
        **extra,
    }
    return body, params


async def test_a_signed_callback_is_stored_once_and_confirmed_with_the_gateway(paying, gateway, db):
    client, order, settings = paying
    body, params = await registered_callback(client, order, "deposited")
    for checksum in ("00AA", "é"):
        forged = await client.post("/payments/callback", data={**params, "checksum": checksum})
        assert forged.status_code == 403 and forged.json()["message"] == "Invalid checksum"
    signed = {**params, "checksum": callback_checksum(params, SECRET)}
    for _ in range(2):
        accepted = await client.get("/payments/callback", params=signed)
        assert accepted.status_code == 200 and accepted.json() == {"message": "OK"}
    assert await count(db, PaymentCallback) == 1
    async with db.session() as session:
        job = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "payment_confirm")
        )
    gateway.pay(body["sberbank_order_id"])
    await confirm(db, settings, job.payload)
    status = (await client.get(f"/orders/{body['sberbank_order_id']}/status_payment")).json()
    assert status["is_payed"] is True


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1/ok",
        "https://vinterr-plus.ru:99999/ok",
        "https://vinterr-plus.ru:0/ok",
        "https://evil.io\\@vinterr-plus.ru/ok",
        "https://user@vinterr-plus.ru/ok",
    ],
)
async def test_register_refuses_malformed_urls(paying, url):
    client, order, _ = paying
    response = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN, "return_url": url}
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"return_url": ["Must be an absolute https URL."]}


async def test_callback_signs_blank_values_and_refuses_unstorable_ones(paying, db):
    client, order, _ = paying
    _, params = await registered_callback(client, order, "approved", approvalCode="")
    signed = {**params, "checksum": callback_checksum(params, SECRET)}
    by_get = await client.get("/payments/callback", params=signed)
    assert by_get.status_code == 200, by_get.text
    by_post = await client.post("/payments/callback", data={**signed, "status": "0"})
    assert by_post.status_code == 403
    resigned = {**params, "status": "0"}
    resigned["checksum"] = callback_checksum(resigned, SECRET)
    assert (await client.post("/payments/callback", data=resigned)).status_code == 200
    for changes in ({"mdOrder": "x" * 65}, {"status": "123456789"}, {"operation": "a\x00b"}):
        odd = {**params, **changes}
        odd["checksum"] = callback_checksum(odd, SECRET)
        response = await client.post("/payments/callback", data=odd)
        assert response.status_code == 400, (changes, response.text)
        assert response.json()["message"] == "Invalid callback parameters"
    assert await count(db, PaymentCallback) == 2


async def test_totals_beyond_32_bits_are_ordered_and_paid(make_server, gateway, admin_headers):
    running = await make_server(
        SBER_BASE_URL=gateway.base_url, PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",)
    )
    client = running.client
    shop = await setup_shop(client, admin_headers)
    refs = shop["refs"]
    price = 2_000_000_000
    costly = await factories.variation(
        client, admin_headers, shop["good"]["id"], refs["blue"], refs["s"], amount=3, price=price
    )
    line = {"variation_id": costly["id"], "amount": 3, "current_price": price}
    placed = await client.post("/orders", json=order_body(shop, variations=[line]))
    assert placed.status_code == 201, placed.text
    assert placed.json()["total_sum"] == 3 * price + 300
    registered = await client.post(
        "/register_payment", json={"order_id": placed.json()["id"], **PAYMENT_RETURN}
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["amount"] == 3 * price + 300
    assert gateway.requests[0][1]["amount"] == str((3 * price + 300) * 100)


async def test_callback_is_matched_by_the_gateway_id_first(paying, gateway, db):
    client, order, _ = paying
    gateway.refuse_with = "Системная ошибка"
    await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    gateway.refuse_with = None
    body = (
        await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    ).json()
    params = {
        "mdOrder": body["sberbank_order_id"],
        "orderNumber": f"{order['id']}-1",
        "operation": "deposited",
        "status": "1",
    }
    signed = {**params, "checksum": callback_checksum(params, SECRET)}
    assert (await client.get("/payments/callback", params=signed)).status_code == 200
    async with db.session() as session:
        job = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "payment_confirm")
        )
    assert job.payload["gateway_order_id"] == body["sberbank_order_id"]


async def test_callback_disabled_without_secret(client):
    assert (await client.get("/payments/callback")).status_code == 404


async def test_reconciliation_checks_stale_attempts(paying, gateway, db):
    from datetime import timedelta

    from sqlalchemy import update

    from db.models import PaymentAttempt
    from db.models.base import utcnow
    from services.payments import reconcile_payments

    client, order, settings = paying
    body = (
        await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    ).json()
    async with db.begin() as session:
        await session.execute(
            update(PaymentAttempt).values(created_at=utcnow() - timedelta(hours=1))
        )
    assert await reconcile_payments(db, settings) == 1
    async with db.session() as session:
        job = await session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "reconcile"))
    gateway.pay(body["sberbank_order_id"])
    await confirm(db, settings, job.payload)
    assert (await client.get(f"/orders/{body['sberbank_order_id']}/status_payment")).json()[
        "is_payed"
    ] is True
    async with db.begin() as session:
        await session.execute(
            update(PaymentAttempt).values(
                state="registered", created_at=utcnow() - timedelta(hours=25)
            )
        )
    await reconcile_payments(db, settings)
    async with db.session() as session:
        assert await session.scalar(select(PaymentAttempt.state)) == "expired"
