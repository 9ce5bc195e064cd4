"""Marking codes of labelled units: staff attach them to an order's lines over HTTP."""

from __future__ import annotations

from tests.factories import marking_code, order_body, setup_shop
from tests.support import auth, customer_token


def codes_path(order_id, line_id) -> str:
    return f"/orders/{order_id}/lines/{line_id}/marking_codes"


async def labelled_order(client, headers):
    shop = await setup_shop(client, headers, stock=20)
    marked = await client.patch(
        f"/goods/{shop['good']['id']}", json={"is_marked": True}, headers=headers
    )
    assert marked.status_code == 200
    order = (await client.post("/orders", json=order_body(shop))).json()
    return shop, order


async def test_staff_attach_and_replace_a_lines_codes(client, admin_headers):
    shop, order = await labelled_order(client, admin_headers)
    first, second = (line["id"] for line in order["variations"])
    path = codes_path(order["id"], first)
    empty = await client.get(path, headers=admin_headers)
    assert empty.status_code == 200
    assert empty.json() == {
        "order_id": order["id"],
        "line_id": first,
        "variation_id": shop["first"]["id"],
        "quantity": 2,
        "marking_codes": [],
    }
    codes = [marking_code(1), "  " + marking_code(2) + " "]
    put = await client.put(path, json={"marking_codes": codes}, headers=admin_headers)
    assert put.status_code == 200, put.text
    assert put.json()["marking_codes"] == [marking_code(1), marking_code(2)]
    assert (await client.get(path, headers=admin_headers)).json() == put.json()
    # A PUT replaces: the line now has only the new code; the freed one may go elsewhere.
    replaced = await client.put(
        path, json={"marking_codes": [marking_code(3)]}, headers=admin_headers
    )
    assert replaced.json()["marking_codes"] == [marking_code(3)]
    moved = await client.put(
        codes_path(order["id"], second),
        json={"marking_codes": [marking_code(1)]},
        headers=admin_headers,
    )
    assert moved.status_code == 200
    cleared = await client.put(path, json={"marking_codes": []}, headers=admin_headers)
    assert cleared.status_code == 200 and cleared.json()["marking_codes"] == []
    # Another order may carry the same code (a unit returned and sold again).
    other = (await client.post("/orders", json=order_body(shop))).json()
    again = await client.put(
        codes_path(other["id"], other["variations"][1]["id"]),
        json={"marking_codes": [marking_code(1)]},
        headers=admin_headers,
    )
    assert again.status_code == 200


async def test_marking_codes_are_validated_unique_per_order_and_only_for_labelled_goods(
    client, admin_headers
):
    shop, order = await labelled_order(client, admin_headers)
    first, second = (line["id"] for line in order["variations"])
    path = codes_path(order["id"], first)
    for body, field in (
        ({}, "marking_codes"),
        ({"marking_codes": "0104601234567893210000000000001"}, "marking_codes"),
        ({"marking_codes": [""]}, "marking_codes.0"),
        ({"marking_codes": ["4601234567893"]}, "marking_codes.0"),
        ({"marking_codes": ["01046012345678932"]}, "marking_codes.0"),
        ({"marking_codes": [marking_code(1) + "x" * 150]}, "marking_codes.0"),
        ({"marking_codes": [marking_code(1)[:-1] + "\u00e9"]}, "marking_codes.0"),
        ({"marking_codes": [marking_code(1), 5]}, "marking_codes.1"),
        ({"marking_codes": [marking_code(1), marking_code(1)]}, "marking_codes"),
        ({"marking_codes": [marking_code(n) for n in range(3)]}, "marking_codes"),
    ):
        rejected = await client.put(path, json=body, headers=admin_headers)
        assert rejected.status_code == 400, (body, rejected.text)
        assert field in rejected.json()["fields"], (body, rejected.json())
    assert (await client.put(path, content=b"[", headers=admin_headers)).status_code == 400
    assert (await client.get(path, headers=admin_headers)).json()["marking_codes"] == []

    taken = await client.put(
        codes_path(order["id"], second),
        json={"marking_codes": [marking_code(5)]},
        headers=admin_headers,
    )
    assert taken.status_code == 200
    clash = await client.put(
        path, json={"marking_codes": [marking_code(4), marking_code(5)]}, headers=admin_headers
    )
    assert clash.status_code == 409
    assert clash.json() == {
        "message": "Marking code is already on this order",
        "error_code": 409,
        "marking_codes": [marking_code(5)],
    }
    assert (await client.get(path, headers=admin_headers)).json()["marking_codes"] == []

    await client.patch(
        f"/goods/{shop['good']['id']}", json={"is_marked": False}, headers=admin_headers
    )
    plain = await client.put(path, json={"marking_codes": [marking_code(6)]}, headers=admin_headers)
    assert plain.status_code == 409 and plain.json()["message"] == "Good is not labelled"


async def test_codes_of_unknown_orders_or_lines_are_404_and_need_staff(client, admin_headers):
    shop, order = await labelled_order(client, admin_headers)
    other = (await client.post("/orders", json=order_body(shop))).json()
    line = order["variations"][0]["id"]
    body = {"marking_codes": [marking_code(1)]}
    for path, message in (
        (codes_path(999999, line), "Order not found"),
        (codes_path(order["id"], 999999), "Order line not found"),
        (codes_path(order["id"], other["variations"][0]["id"]), "Order line not found"),
        (codes_path(order["id"], 2**40), "Order line not found"),
    ):
        for method in ("GET", "PUT"):
            answer = await client.request(method, path, json=body, headers=admin_headers)
            assert answer.status_code == 404, (method, path)
            assert answer.json()["message"] == message
    path = codes_path(order["id"], line)
    assert (await client.put(path, json=body)).status_code == 401
    customer = auth(customer_token(order["customer_id"]))
    assert (await client.put(path, json=body, headers=customer)).status_code == 403
    assert (await client.get(path, headers=customer)).status_code == 403
