"""Customer self-service: a customer reads their own orders, never another customer's."""

from __future__ import annotations

from tests.factories import order_body, register, setup_shop
from tests.support import auth, customer_token


async def _order_as(client, shop, headers, **contact):
    response = await client.post("/orders", json=order_body(shop, **contact), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_customer_lists_their_own_orders_newest_first(client, admin_headers):
    shop = await setup_shop(client, admin_headers, stock=10)
    anna = await register(client)
    other = await register(client, email="petr@example.ru", phone_number="+79000000002")
    anna_headers = auth(customer_token(anna["id"]))
    first = await _order_as(client, shop, anna_headers)
    second = await _order_as(client, shop, anna_headers)
    await _order_as(client, shop, auth(customer_token(other["id"])), email="petr@example.ru")
    mine = await client.get(f"/customers/{anna['id']}/orders", headers=anna_headers)
    assert mine.status_code == 200
    assert mine.json()["count"] == 2
    assert [order["id"] for order in mine.json()["items"]] == [second, first]
    page = await client.get(
        f"/customers/{anna['id']}/orders", params={"limit": 1, "offset": 1}, headers=anna_headers
    )
    assert [order["id"] for order in page.json()["items"]] == [first]
    staff = await client.get(f"/customers/{anna['id']}/orders", headers=admin_headers)
    assert staff.json()["count"] == 2


async def test_customer_orders_refuse_strangers_and_bad_paging(client, admin_headers):
    anna = await register(client)
    other = await register(client, email="petr@example.ru", phone_number="+79000000002")
    path = f"/customers/{anna['id']}/orders"
    assert (await client.get(path)).status_code == 401
    stranger = await client.get(path, headers=auth(customer_token(other["id"])))
    assert stranger.status_code == 403
    bad = await client.get(path, params={"limit": 0}, headers=admin_headers)
    assert bad.status_code == 400 and "limit" in bad.json()["fields"]
    missing = await client.get("/customers/999999/orders", headers=admin_headers)
    assert missing.status_code == 404


async def test_an_order_is_read_by_its_own_customer_only(client, admin_headers):
    shop = await setup_shop(client, admin_headers, stock=10)
    anna = await register(client)
    other = await register(client, email="petr@example.ru", phone_number="+79000000002")
    anna_headers = auth(customer_token(anna["id"]))
    order_id = await _order_as(client, shop, anna_headers)
    guest_order = await _order_as(client, shop, {}, email="guest@example.ru")
    own = await client.get(f"/orders/{order_id}", headers=anna_headers)
    assert own.status_code == 200 and own.json()["id"] == order_id
    assert len(own.json()["variations"]) == 2
    foreign = await client.get(f"/orders/{order_id}", headers=auth(customer_token(other["id"])))
    assert foreign.status_code == 404
    assert foreign.json() == {"message": "Order not found", "error_code": 404}
    assert (await client.get(f"/orders/{guest_order}", headers=anna_headers)).status_code == 404
    assert (await client.get(f"/orders/{order_id}")).status_code == 401
    assert (await client.get(f"/orders/{order_id}", headers=admin_headers)).status_code == 200
