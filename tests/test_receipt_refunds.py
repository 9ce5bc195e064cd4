"""Refund receipts of labelled goods: the payment's positions, each returned unit by its code."""

from __future__ import annotations

import base64
import json

import pytest

from helpers.money import to_kopecks
from services.paid_after_cancel import submit_refund_job
from tests.factories import (
    ORDER_TOTAL,
    PAYMENT_RETURN,
    expire_unpaid_order,
    marking_code,
    order_body,
    order_view,
    outbox_payloads,
    receipt,
    setup_shop,
    stock,
)
from tests.support import with_gateway

UNNAMED = "Name the marking codes of the returned units"
NOT_REFUNDABLE = "Marking code is not refundable"
FIRST, SECOND = marking_code(1), marking_code(2)


@pytest.fixture
async def shop_server(make_server, gateway, admin_headers):
    """The shop of the refund tests (tests/test_refunds.py), with labelled goods."""
    running = await make_server(
        SBER_BASE_URL=gateway.base_url,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
        SBER_CALLBACK_SECRET="callback-secret",
        TELEGRAM_ORDERS_CHAT_ID="-1001",
        ORDER_CANCELLED_STATUS_IDS=(2,),
    )
    shop = await setup_shop(running.client, admin_headers)
    return running.client, shop, running.app.ctx.settings


async def registered_order(client, shop, headers) -> tuple[dict, str]:
    """Two labelled units of the first variation with their codes, one of the second without,
    registered for payment."""
    await client.patch(f"/goods/{shop['good']['id']}", json={"is_marked": True}, headers=headers)
    order = (await client.post("/orders", json=order_body(shop))).json()
    attached = await client.put(
        f"/orders/{order['id']}/lines/{order['variations'][0]['id']}/marking_codes",
        json={"marking_codes": [FIRST, SECOND]},
        headers=headers,
    )
    assert attached.status_code == 200
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert payment.status_code == 200, payment.text
    return order, payment.json()["sberbank_order_id"]


async def labelled_paid_order(client, shop, gateway, headers) -> tuple[dict, str]:
    order, gateway_id = await registered_order(client, shop, headers)
    gateway.pay(gateway_id)
    assert (await client.get(f"/orders/{gateway_id}/status_payment")).json()["is_payed"]
    return order, gateway_id


def marked(item: dict) -> str | None:
    mark = item.get("markCode")
    return base64.b64decode(mark["gs1m"]).decode() if mark else None


async def test_returned_labelled_units_are_named_by_their_codes(
    shop_server, gateway, admin_headers
):
    client, shop, _ = shop_server
    order, gateway_id = await labelled_paid_order(client, shop, gateway, admin_headers)
    paid_items = json.loads(gateway.registered[gateway_id]["orderBundle"])["cartItems"]["items"]
    assert [(i["positionId"], marked(i)) for i in paid_items] == [
        (1, FIRST),
        (2, SECOND),
        (3, None),
        (4, None),
    ]
    path = f"/orders/{order['id']}/refund"
    first_line, second_line = (line["id"] for line in order["variations"])

    unnamed = await client.post(
        path, json={"lines": [{"line_id": first_line, "quantity": 1}]}, headers=admin_headers
    )
    assert unnamed.status_code == 409
    assert unnamed.json() == {
        "message": UNNAMED,
        "error_code": 409,
        "lines": [{"line_id": first_line, "marking_codes": [FIRST, SECOND]}],
    }
    stranger = await client.post(
        path,
        json={
            "lines": [{"line_id": first_line, "quantity": 1, "marking_codes": [marking_code(9)]}]
        },
        headers=admin_headers,
    )
    assert stranger.status_code == 409 and stranger.json()["message"] == NOT_REFUNDABLE
    on_other_line = await client.post(
        path,
        json={"lines": [{"line_id": second_line, "quantity": 1, "marking_codes": [FIRST]}]},
        headers=admin_headers,
    )
    assert on_other_line.status_code == 409 and on_other_line.json()["message"] == NOT_REFUNDABLE
    for bad, field in (
        ({"line_id": first_line, "quantity": 1, "marking_codes": [FIRST, SECOND]}, "marking_codes"),
        ({"line_id": first_line, "quantity": 2, "marking_codes": [FIRST, FIRST]}, "marking_codes"),
        ({"line_id": first_line, "quantity": 1, "marking_codes": ["123"]}, "marking_codes.0"),
    ):
        rejected = await client.post(path, json={"lines": [bad]}, headers=admin_headers)
        assert rejected.status_code == 400, rejected.text
        assert f"lines.0.{field}" in rejected.json()["fields"], rejected.json()
    assert gateway.calls("refund") == []

    one = await client.post(
        path,
        json={"lines": [{"line_id": first_line, "quantity": 1, "marking_codes": [SECOND]}]},
        headers=admin_headers,
    )
    assert one.status_code == 201, one.text
    assert one.json()["lines"] == [
        {
            "line_id": first_line,
            "variation_id": shop["first"]["id"],
            "quantity": 1,
            "unit_price": 4990,
            "marking_codes": [SECOND],
        }
    ]
    [item] = receipt(gateway.calls("refund")[0])
    assert (item["positionId"], marked(item), item["quantity"]["value"]) == (2, SECOND, 1)
    assert item["itemAmount"] == 499000 and item["markProcessingMode"] == "0"
    again = await client.post(
        path,
        json={"lines": [{"line_id": first_line, "quantity": 1, "marking_codes": [SECOND]}]},
        headers=admin_headers,
    )
    assert again.status_code == 409 and again.json()["message"] == NOT_REFUNDABLE

    # The unit without a code comes back without naming one; the last coded one is no guess.
    plain = await client.post(
        path, json={"lines": [{"line_id": second_line, "quantity": 1}]}, headers=admin_headers
    )
    assert plain.status_code == 201
    [item] = receipt(gateway.calls("refund")[1])
    assert (item["positionId"], marked(item)) == (3, None)
    last = await client.post(
        path, json={"lines": [{"line_id": first_line, "quantity": 1}]}, headers=admin_headers
    )
    assert last.status_code == 201 and last.json()["lines"][0]["marking_codes"] == [FIRST]
    rest = await client.post(path, json={"full": True}, headers=admin_headers)
    assert rest.status_code == 201 and rest.json()["amount"] == 300
    assert [i["itemCode"] for i in receipt(gateway.calls("refund")[3])] == ["delivery"]
    assert rest.json()["refunded_sum"] == ORDER_TOTAL and rest.json()["payment_state"] == "refunded"
    assert gateway.bad_carts == []
    assert gateway.refunded_positions[gateway_id] == {1: 1, 2: 1, 3: 1, 4: 1}
    assert await stock(client, shop["first"]) == {"available": 5, "reserved": 0, "stock": 5}


async def test_refunds_repeat_the_receipt_the_payment_registered(
    shop_server, gateway, admin_headers
):
    client, shop, _ = shop_server
    order, gateway_id = await labelled_paid_order(client, shop, gateway, admin_headers)
    second_line = order["variations"][1]["id"]
    # Changed after the payment: neither reaches the refund receipt of what was paid.
    await client.patch(f"/goods/{shop['good']['id']}", json={"tax_type": 12}, headers=admin_headers)
    later = await client.put(
        f"/orders/{order['id']}/lines/{second_line}/marking_codes",
        json={"marking_codes": [marking_code(3)]},
        headers=admin_headers,
    )
    assert later.status_code == 200
    full = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert full.status_code == 201, full.text
    assert gateway.bad_carts == []
    items = receipt(gateway.calls("refund")[0])
    paid_items = json.loads(gateway.registered[gateway_id]["orderBundle"])["cartItems"]["items"]
    assert items == paid_items
    assert [line.get("marking_codes") for line in full.json()["lines"]] == [[FIRST, SECOND], None]


async def test_cabinet_refund_of_everything_returns_every_code(shop_server, gateway, admin_headers):
    client, shop, _ = shop_server
    order, gateway_id = await labelled_paid_order(client, shop, gateway, admin_headers)
    gateway.refund_in_cabinet(gateway_id, to_kopecks(ORDER_TOTAL))
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json()["status"] == 4
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert refund["source"] == "gateway" and refund["lines"][0]["marking_codes"] == [FIRST, SECOND]
    view = await order_view(client, admin_headers, order["id"])
    assert (view["payment_state"], view["refunded_sum"]) == ("refunded", ORDER_TOTAL)
    nothing = await client.post(f"/orders/{order['id']}/refund", headers=admin_headers)
    assert nothing.status_code == 409 and nothing.json()["message"] == "Nothing left to refund"


async def test_automatic_refund_of_a_paid_cancelled_order_repeats_the_receipt(
    shop_server, gateway, admin_headers, db
):
    client, shop, settings = shop_server
    order, gateway_id = await registered_order(client, shop, admin_headers)
    await expire_unpaid_order(db, settings, order["id"])
    line = {"variation_id": shop["first"]["id"], "amount": 5, "current_price": 4990}
    assert (await client.post("/orders", json=order_body(shop, variations=[line]))).is_success
    gateway.pay(gateway_id)
    await client.get(f"/orders/{gateway_id}/status_payment")
    [job] = await outbox_payloads(db, "refund_submit")
    await with_gateway(settings, submit_refund_job, db, settings, job)
    [form] = gateway.calls("refund")
    assert gateway.bad_carts == []
    assert [marked(item) for item in receipt(form)] == [FIRST, SECOND, None, None]
    [refund] = (await client.get(f"/orders/{order['id']}/refunds", headers=admin_headers)).json()
    assert (refund["source"], refund["state"]) == ("auto", "succeeded")
