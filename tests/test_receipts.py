"""Fiscal receipts sent with payments: VAT types of goods and categories, measure codes of the
fiscal data format, and labelled units with their marking codes, against the local gateway."""

from __future__ import annotations

import base64
import json

from tests import factories
from tests.factories import PAYMENT_RETURN, marking_code, order_body, setup_shop


async def shop_with(make_server, gateway, admin_headers, **settings):
    running = await make_server(
        SBER_BASE_URL=gateway.base_url,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
        **settings,
    )
    shop = await setup_shop(running.client, admin_headers, stock=50)
    return running.client, shop


async def registered_items(client, shop, gateway, **changes) -> list[dict]:
    order = (await client.post("/orders", json=order_body(shop, **changes))).json()
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert payment.status_code == 200, payment.text
    form = gateway.calls("register")[-1]
    assert gateway.bad_carts == []
    items = json.loads(form["orderBundle"])["cartItems"]["items"]
    assert sum(item["itemAmount"] for item in items) == int(form["amount"])
    return items


def attributes(item: dict) -> dict:
    return {a["name"]: a["value"] for a in item["itemAttributes"]["attributes"]}


async def test_goods_and_categories_take_a_vat_type(client, admin_headers):
    refs = await factories.directories(client, admin_headers)
    category = refs["category"]
    assert category["tax_type"] is None
    patched = await client.patch(
        f"/categories/{category['id']}", json={"tax_type": "6"}, headers=admin_headers
    )
    assert patched.status_code == 200 and patched.json()["tax_type"] == 6
    listed = (await client.get("/categories/all")).json()
    assert [c["tax_type"] for c in listed if c["id"] == category["id"]] == [6]
    child = await factories.post(
        client,
        "/categories",
        {"name": "Сарафаны", "parent_id": category["id"], "tax_type": 12},
        admin_headers,
    )
    assert child["tax_type"] == 12
    good = await factories.good(client, admin_headers, refs)
    assert good["tax_type"] is None and good["is_marked"] is False
    path = f"/goods/{good['id']}"
    changed = await client.patch(
        path, json={"tax_type": 2, "is_marked": True}, headers=admin_headers
    )
    assert changed.status_code == 200
    assert (changed.json()["tax_type"], changed.json()["is_marked"]) == (2, True)
    read = (await client.get(path, headers=admin_headers)).json()
    assert (read["tax_type"], read["is_marked"]) == (2, True)
    cleared = await client.patch(path, json={"tax_type": None}, headers=admin_headers)
    assert cleared.json()["tax_type"] is None
    for bad in (3, 5, 14, -1, "20%", 6.5, True):
        for target in (path, f"/categories/{category['id']}"):
            rejected = await client.patch(target, json={"tax_type": bad}, headers=admin_headers)
            assert rejected.status_code == 400, (target, bad)
            assert "tax_type" in rejected.json()["fields"]
    created = await client.post(
        "/goods",
        json={
            **{k: good[k] for k in ("name", "description", "category_id", "structure_id")},
            "article": "ART-2",
            "weight": 1,
            "tax_type": 13,
            "is_marked": "true",
        },
        headers=admin_headers,
    )
    assert created.status_code == 201
    assert (created.json()["tax_type"], created.json()["is_marked"]) == (13, True)
    bad_category = await client.post(
        "/categories", json={"name": "Обувь", "tax_type": 99}, headers=admin_headers
    )
    assert bad_category.status_code == 400 and "tax_type" in bad_category.json()["fields"]
    assert (await client.patch(path, json={"tax_type": 6})).status_code == 401
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    enum = schema["GoodUpdate"]["properties"]["tax_type"]["enum"]
    assert enum == [0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13]
    assert "is_marked" in schema["GoodCreate"]["properties"]
    assert "tax_type" in schema["CategoryCreate"]["properties"]


async def test_receipt_lines_carry_each_goods_vat_type(make_server, gateway, admin_headers, client):
    client, shop = await shop_with(make_server, gateway, admin_headers, SBER_TAX_TYPE=6)
    refs = shop["refs"]
    parent = await factories.post(
        client, "/categories", {"name": "Одежда", "tax_type": 2}, admin_headers
    )
    await client.patch(
        f"/categories/{refs['category']['id']}",
        json={"parent_id": parent["id"]},
        headers=admin_headers,
    )
    items = await registered_items(client, shop, gateway)
    # No VAT type of its own or of its category: the parent category's; delivery: the shop's.
    assert [item["tax"]["taxType"] for item in items] == [2, 2, 6]
    await client.patch(
        f"/categories/{refs['category']['id']}", json={"tax_type": 7}, headers=admin_headers
    )
    assert [i["tax"]["taxType"] for i in await registered_items(client, shop, gateway)] == [
        7,
        7,
        6,
    ]
    await client.patch(f"/goods/{shop['good']['id']}", json={"tax_type": 12}, headers=admin_headers)
    items = await registered_items(client, shop, gateway)
    assert [item["tax"]["taxType"] for item in items] == [12, 12, 6]
    # FFD 1.2: the numeric measure code 0 (pieces), never free text.
    assert [item["quantity"] for item in items] == [
        {"value": 2, "measure": "0"},
        {"value": 1, "measure": "0"},
        {"value": 1, "measure": "0"},
    ]
    assert [attributes(item)["paymentObject"] for item in items] == ["1", "1", "4"]
    assert {attributes(item)["paymentMethod"] for item in items} == {"1"}


async def test_a_shop_on_ffd_105_keeps_the_measure_as_text(make_server, gateway, admin_headers):
    client, shop = await shop_with(make_server, gateway, admin_headers, SBER_FFD_VERSION="1.05")
    items = await registered_items(client, shop, gateway)
    assert {item["quantity"]["measure"] for item in items} == {"шт."}


async def attach(client, headers, order_id, line_id, codes):
    path = f"/orders/{order_id}/lines/{line_id}/marking_codes"
    return await client.put(path, json={"marking_codes": codes}, headers=headers)


async def test_labelled_units_are_positions_with_their_marking_codes(
    make_server, gateway, admin_headers
):
    client, shop = await shop_with(make_server, gateway, admin_headers)
    await client.patch(
        f"/goods/{shop['good']['id']}", json={"is_marked": True}, headers=admin_headers
    )
    order = (await client.post("/orders", json=order_body(shop))).json()
    first_line, second_line = (line["id"] for line in order["variations"])
    codes = [marking_code(1), marking_code(2)]
    assert (await attach(client, admin_headers, order["id"], first_line, codes)).status_code == 200
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert payment.status_code == 200, payment.text
    assert gateway.bad_carts == []
    items = json.loads(gateway.calls("register")[0]["orderBundle"])["cartItems"]["items"]
    assert [(i["positionId"], i["itemCode"], i["quantity"]["value"]) for i in items] == [
        (1, str(shop["first"]["id"]), 1),
        (2, str(shop["first"]["id"]), 1),
        (3, str(shop["second"]["id"]), 1),
        (4, "delivery", 1),
    ]
    for item, code in zip(items[:2], codes, strict=True):
        assert base64.b64decode(item["markCode"]["gs1m"]).decode() == code
        assert item["markProcessingMode"] == "0"
        assert attributes(item)["paymentObject"] == "33"
        assert item["itemPrice"] == item["itemAmount"] == 499000
    # A labelled unit without its code yet is paid all the same, as a plain good.
    assert "markCode" not in items[2] and attributes(items[2])["paymentObject"] == "1"
    assert sum(item["itemAmount"] for item in items) == order["total_sum"] * 100
    del second_line


async def test_units_without_codes_yet_share_one_position(make_server, gateway, admin_headers):
    client, shop = await shop_with(make_server, gateway, admin_headers, SBER_FFD_VERSION="1.05")
    await client.patch(
        f"/goods/{shop['good']['id']}", json={"is_marked": True}, headers=admin_headers
    )
    order = (await client.post("/orders", json=order_body(shop))).json()
    first_line = order["variations"][0]["id"]
    code = marking_code(7)
    assert (await attach(client, admin_headers, order["id"], first_line, [code])).is_success
    await client.post("/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN})
    assert gateway.bad_carts == []
    items = json.loads(gateway.calls("register")[0]["orderBundle"])["cartItems"]["items"]
    assert [i["quantity"] for i in items[:2]] == [
        {"value": 1, "measure": "шт."},
        {"value": 1, "measure": "шт."},
    ]
    # FFD 1.05 has no code 33 nor tag 1163: the code goes as the product code (tag 1162).
    assert items[0]["nomenclatureCode"] == code and "markCode" not in items[0]
    assert "nomenclatureCode" not in items[1]
    assert attributes(items[0])["paymentObject"] == "1"
