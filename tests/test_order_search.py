"""Staff search of orders: by order number, the buyer's phone, email or name."""

from __future__ import annotations

from tests.factories import order_body, setup_shop


async def _place(client, shop, **contact):
    response = await client.post("/orders", json=order_body(shop, **contact))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _found(client, headers, q: str) -> list[int]:
    response = await client.get("/orders/all", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()]


async def test_orders_are_found_by_number_phone_email_and_name(client, admin_headers):
    shop = await setup_shop(client, admin_headers, stock=10)
    ivan = await _place(client, shop)
    olga = await _place(
        client,
        shop,
        first_name="Ольга",
        second_name="Смирнова",
        phone_number="+7 (900) 111-22-33",
        email="olga@mail.ru",
    )
    assert await _found(client, admin_headers, str(olga)) == [olga]
    assert await _found(client, admin_headers, "+7 (900) 111") == [olga]
    assert await _found(client, admin_headers, "912 345-67") == [ivan]
    assert await _found(client, admin_headers, "OLGA@mail") == [olga]
    assert await _found(client, admin_headers, "смирн") == [olga]
    assert await _found(client, admin_headers, "Петров") == [ivan]
    assert await _found(client, admin_headers, "Сидоров") == []
    assert await _found(client, admin_headers, "99999999999999") == []
    assert sorted(await _found(client, admin_headers, "%")) == []
    paged = await client.get("/orders/all", params={"q": "ru", "limit": 1}, headers=admin_headers)
    assert paged.json()["count"] == 2 and len(paged.json()["items"]) == 1


async def test_order_search_needs_staff_and_a_sane_query(client, admin_headers):
    assert (await client.get("/orders/all", params={"q": "1"})).status_code == 401
    too_long = await client.get("/orders/all", params={"q": "я" * 201}, headers=admin_headers)
    assert too_long.status_code == 400 and "q" in too_long.json()["fields"]
