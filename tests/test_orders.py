"""Orders: placement with server prices and reservations, staff edits, status history."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from db.models import Customer, OutboxMessage, Variation
from tests.factories import order_body, register, setup_shop
from tests.support import auth, customer_token, is_postgresql


@pytest.fixture
async def shop(client, admin_headers):
    return await setup_shop(client, admin_headers)


async def test_placing_an_order_reserves_stock_records_the_contact_and_queues_events(
    client, admin_headers, shop, db
):
    response = await client.post("/orders", json=order_body(shop))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status_id"] == 1 and order["is_payed"] is False
    assert order["total_sum"] == 2 * 4990 + 1500 + 300
    assert order["apartment"] == "5а" and order["city"] == "Челябинск"
    assert [
        (line["variation_id"], line["amount"], line["current_price"])
        for line in order["variations"]
    ] == [(shop["first"]["id"], 2, 4990), (shop["second"]["id"], 1, 1500)]
    assert order["created_at"].endswith("Z")
    variation = (await client.get(f"/variations/{shop['first']['id']}")).json()
    assert (variation["stock"], variation["reserved"], variation["amount"]) == (5, 2, 3)
    full = (await client.get(f"/orders/{order['id']}", headers=admin_headers)).json()
    assert full["contact"] == {
        "first_name": "Иван",
        "second_name": "Петров",
        "last_name": None,
        "phone_number": "79123456789",
        "email": "ivan@example.ru",
    }
    assert full["customer"]["phone_number"] == "79123456789"
    assert full["status"]["name"] == "Новый" and full["delivery_type"]["name"] == "Курьер"
    line = full["variations"][0]
    assert line["order_id"] == order["id"]
    assert line["variation"]["good"]["category"]["name"] == "Платья"
    assert line["variation"]["color"]["name"] == "Красный"
    history = (
        await client.get(f"/orders/{order['id']}/status_changes", headers=admin_headers)
    ).json()
    assert [h["status_id"] for h in history] == [1]
    async with db.session() as session:
        topics = set(await session.scalars(select(OutboxMessage.topic)))
    assert {"OrderCreated", "CustomerCreated"} <= topics


async def test_price_changed_is_409_and_saves_nothing(client, shop, db):
    body = order_body(shop)
    body["variations"][0]["current_price"] = 4000
    response = await client.post("/orders", json=body)
    assert response.status_code == 409
    assert response.json() == {
        "message": "price_changed",
        "error_code": 409,
        "variations": [
            {"variation_id": shop["first"]["id"], "current_price": 4990},
            {"variation_id": shop["second"]["id"], "current_price": 1500},
        ],
        "delivery_cost": 300,
    }
    wrong_delivery = await client.post("/orders", json=order_body(shop, delivery_cost=100))
    assert wrong_delivery.status_code == 409
    assert wrong_delivery.json()["delivery_cost"] == 300
    variation = (await client.get(f"/variations/{shop['first']['id']}")).json()
    assert variation["reserved"] == 0
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_the_buyer_names_the_cost_of_a_calculated_delivery_up_to_the_maximum(
    client, shop, admin_headers, settings
):
    body = order_body(shop, delivery_type_id=shop["pickup"]["id"], delivery_cost=450)
    response = await client.post("/orders", json=body)
    assert response.status_code == 201
    assert response.json()["delivery_cost"] == 450
    too_much = order_body(
        shop, delivery_type_id=shop["pickup"]["id"], delivery_cost=settings.DELIVERY_COST_MAX + 1
    )
    assert (await client.post("/orders", json=too_much)).status_code == 400


async def test_invalid_unknown_or_hidden_order_lines_are_refused_by_field(
    client, shop, admin_headers
):
    empty = await client.post("/orders", json=order_body(shop, variations=[]))
    assert empty.status_code == 400
    assert empty.json()["message"] == "There are no variations in the order"
    bad = await client.post(
        "/orders",
        json=order_body(
            shop,
            phone_number="123",
            email="x",
            delivery_cost=1.5,
            variations=[{"variation_id": shop["first"]["id"], "amount": 0, "current_price": 1}],
        ),
    )
    assert bad.status_code == 400
    assert {"phone_number", "email", "delivery_cost", "variations.0.amount"} <= set(
        bad.json()["fields"]
    )
    unknown = await client.post(
        "/orders",
        json=order_body(
            shop,
            delivery_type_id=999,
            variations=[{"variation_id": 999, "amount": 1, "current_price": 1}],
        ),
    )
    assert unknown.json()["fields"] == {
        "variations.0.variation_id": ["Variation not found"],
        "delivery_type_id": ["Delivery type not found"],
    }
    await client.patch(
        f"/goods/{shop['good']['id']}", json={"is_visible": False}, headers=admin_headers
    )
    hidden = await client.post("/orders", json=order_body(shop))
    assert hidden.json()["fields"]["variations.0.variation_id"] == ["Variation is not available"]
    different_prices = order_body(
        shop,
        variations=[
            {"variation_id": shop["first"]["id"], "amount": 1, "current_price": 4990},
            {"variation_id": shop["first"]["id"], "amount": 1, "current_price": 10},
        ],
    )
    assert (await client.post("/orders", json=different_prices)).status_code == 400


async def test_an_order_beyond_stock_is_refused_with_the_shortfall_and_reserves_nothing(
    client, shop
):
    body = order_body(
        shop,
        variations=[
            {"variation_id": shop["first"]["id"], "amount": 4, "current_price": 4990},
            {"variation_id": shop["first"]["id"], "amount": 2, "current_price": 4990},
            {"variation_id": shop["second"]["id"], "amount": 1, "current_price": 1500},
        ],
    )
    response = await client.post("/orders", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Insufficient number of variations in stock to order",
        "error_code": 400,
        "variations": [{"variation_id": shop["first"]["id"], "requested": 6, "available": 5}],
    }
    second = (await client.get(f"/variations/{shop['second']['id']}")).json()
    assert second["reserved"] == 0


async def test_an_idempotency_key_replays_the_same_order_and_refuses_another_body(
    client, shop, admin_headers
):
    headers = {"Idempotency-Key": "checkout-42"}
    first = await client.post("/orders", json=order_body(shop), headers=headers)
    again = await client.post("/orders", json=order_body(shop), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    orders = (await client.get("/orders/all", headers=admin_headers)).json()
    assert len(orders) == 1
    reused = await client.post("/orders", json=order_body(shop, city="Москва"), headers=headers)
    assert reused.status_code == 409
    assert reused.json()["message"] == "Idempotency key reused"
    customer = await register(client)
    replayed = await client.post(
        "/orders",
        json=order_body(shop),
        headers={**headers, **auth(customer_token(customer["id"]))},
    )
    assert replayed.status_code == 409
    assert replayed.json()["message"] == "Idempotency key reused"
    too_long = await client.post(
        "/orders", json=order_body(shop), headers={"Idempotency-Key": "k" * 101}
    )
    assert too_long.status_code == 400


async def test_guests_are_one_customer_by_phone_and_a_logged_in_customer_orders_as_themselves(
    client, admin_headers, db
):
    shop = await setup_shop(client, admin_headers, stock=20)
    await client.post("/orders", json=order_body(shop))
    await client.post("/orders", json=order_body(shop, first_name="Пётр", email="other@example.ru"))
    async with db.session() as session:
        guests = list(await session.scalars(select(Customer)))
    assert len(guests) == 1 and guests[0].first_name == "Пётр"
    async with db.session() as session:
        changes = {
            row.topic: row.payload["data"]
            for row in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic.like("Customer%Changed"))
            )
        }
    assert changes["CustomerProfileChanged"]["changed"] == {"first_name": "Пётр"}
    assert changes["CustomerContactsChanged"]["email"] == "other@example.ru"
    assert changes["CustomerContactsChanged"]["phone_number"] == "79123456789"
    registration = {
        "first_name": "Анна",
        "second_name": "Смирнова",
        "password": "pw-12345",
        "phone_number": "79000000001",
        "email": "anna@example.ru",
    }
    customer = (await client.post("/customers", json=registration)).json()
    as_guest = await client.post(
        "/orders", json=order_body(shop, phone_number="79000000001", email="anna@example.ru")
    )
    assert as_guest.json()["customer_id"] != customer["id"]
    token = (
        await client.post(
            "/customers/auth", json={"login": "anna@example.ru", "password": "pw-12345"}
        )
    ).json()["Authorization"]
    mine = await client.post("/orders", json=order_body(shop), headers=auth(token))
    assert mine.json()["customer_id"] == customer["id"]


async def test_a_phone_match_beats_an_email_match(client, admin_headers, db):
    shop = await setup_shop(client, admin_headers)
    by_phone = (await client.post("/orders", json=order_body(shop, email="a@example.ru"))).json()
    async with db.begin() as session:
        session.add(
            Customer(
                first_name="Б",
                second_name="Б",
                email="b@example.ru",
                is_registered=False,
                source="legacy_import",
            )
        )
    again = await client.post("/orders", json=order_body(shop, email="b@example.ru"))
    assert again.json()["customer_id"] == by_phone["customer_id"]


async def test_status_lifecycle_moves_reservations(make_server, admin_headers, admin):
    running = await make_server(ORDER_CANCELLED_STATUS_IDS=(2,), ORDER_HANDED_TO_1C_STATUS_IDS=(3,))
    client = running.client
    shop = await setup_shop(client, admin_headers)
    order = (await client.post("/orders", json=order_body(shop))).json()
    path = f"/orders/{order['id']}"

    async def first_variation():
        return (await client.get(f"/variations/{shop['first']['id']}")).json()

    same = await client.patch(path, json={"status_id": 1}, headers=admin_headers)
    assert same.status_code == 200
    cancelled = await client.patch(path, json={"status_id": 2}, headers=admin_headers)
    assert cancelled.status_code == 200
    assert (await first_variation())["reserved"] == 0
    reopened = await client.patch(path, json={"status_id": 1}, headers=admin_headers)
    assert reopened.status_code == 200
    assert (await first_variation())["reserved"] == 2
    handed = await client.patch(path, json={"status_id": 3}, headers=admin_headers)
    assert handed.status_code == 200
    variation = await first_variation()
    assert (variation["stock"], variation["reserved"]) == (3, 0)
    await client.patch(path, json={"status_id": 2}, headers=admin_headers)
    variation = await first_variation()
    assert (variation["stock"], variation["reserved"]) == (3, 0)
    history = (await client.get(f"{path}/status_changes", headers=admin_headers)).json()
    assert [h["status_id"] for h in history] == [1, 2, 1, 3, 2]


async def test_reopening_without_stock_is_refused(make_server, admin_headers, admin):
    running = await make_server(ORDER_CANCELLED_STATUS_IDS=(2,))
    client = running.client
    shop = await setup_shop(client, admin_headers)
    order = (await client.post("/orders", json=order_body(shop))).json()
    await client.patch(f"/orders/{order['id']}", json={"status_id": 2}, headers=admin_headers)
    await client.patch(
        f"/variations/{shop['first']['id']}", json={"stock": 1}, headers=admin_headers
    )
    refused = await client.patch(
        f"/orders/{order['id']}", json={"status_id": 1}, headers=admin_headers
    )
    assert refused.status_code == 400
    assert refused.json()["message"] == "Insufficient number of variations in stock to order"
    detail = (await client.get(f"/orders/{order['id']}", headers=admin_headers)).json()
    assert detail["status_id"] == 2


async def test_staff_edits_keep_the_id_recompute_the_total_and_mark_admin_payments(
    client, shop, admin_headers, db
):
    order = (await client.post("/orders", json=order_body(shop))).json()
    path = f"/orders/{order['id']}"
    moved = await client.patch(path, json={"id": order["id"] + 1}, headers=admin_headers)
    assert moved.status_code == 400
    assert moved.json()["fields"] == {"id": ["Cannot be changed."]}
    unknown = await client.patch(path, json={"status_id": 99}, headers=admin_headers)
    assert unknown.status_code == 400
    cost = await client.patch(
        path, json={"delivery_cost": 0, "is_payed": True}, headers=admin_headers
    )
    assert cost.status_code == 200
    assert cost.json()["total_sum"] == 2 * 4990 + 1500 and cost.json()["is_payed"] is True
    async with db.session() as session:
        paid = await session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "OrderPaid"))
    assert paid.payload["data"]["source"] == "admin"
    assert (await client.patch("/orders/999", json={}, headers=admin_headers)).status_code == 404
    assert (await client.patch(path, json={"status_id": 2})).status_code == 401


async def test_staff_list_orders_newest_first_and_status_changes_oldest_first_in_pages(
    client, shop, admin_headers
):
    first = (await client.post("/orders", json=order_body(shop))).json()
    second = (await client.post("/orders", json=order_body(shop, is_cash_payment=True))).json()
    listed = (await client.get("/orders/all", headers=admin_headers)).json()
    assert [o["id"] for o in listed] == [second["id"], first["id"]]
    paged = (await client.get("/orders/all?limit=1", headers=admin_headers)).json()
    assert paged["count"] == 2 and [o["id"] for o in paged["items"]] == [second["id"]]
    filtered = (await client.get("/orders/all?is_payed=true", headers=admin_headers)).json()
    assert filtered == []
    assert (await client.get("/orders/all?limit=0", headers=admin_headers)).status_code == 400
    assert (await client.get("/orders/999", headers=admin_headers)).status_code == 404
    assert (
        await client.get("/orders/999/status_changes", headers=admin_headers)
    ).status_code == 404
    changes = (await client.get("/status_changes/all", headers=admin_headers)).json()
    assert [c["order_id"] for c in changes] == [first["id"], second["id"]]
    paged_changes = (
        await client.get("/status_changes/all?offset=1&status_id=1", headers=admin_headers)
    ).json()
    assert paged_changes["count"] == 2 and len(paged_changes["items"]) == 1
    assert (await client.get("/orders/all")).status_code == 401


async def test_initial_status_missing_is_503(make_server, shop, admin_headers):
    running = await make_server(ORDER_INITIAL_STATUS_ID=77)
    response = await running.client.post("/orders", json=order_body(shop))
    assert response.status_code == 503
    assert response.json()["message"] == "Order intake is not configured"


@pytest.mark.skipif(not is_postgresql(), reason="row-level concurrency needs PostgreSQL")
async def test_concurrent_orders_never_oversell(client, admin_headers, db):
    shop = await setup_shop(client, admin_headers, stock=10)
    body = order_body(
        shop, variations=[{"variation_id": shop["first"]["id"], "amount": 1, "current_price": 4990}]
    )
    responses = await asyncio.gather(*(client.post("/orders", json=body) for _ in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 10 and statuses.count(400) == 40
    assert all(
        r.json()["message"].startswith("Insufficient") for r in responses if r.status_code == 400
    )
    async with db.session() as session:
        variation = await session.get(Variation, shop["first"]["id"])
    assert (variation.stock, variation.reserved) == (10, 10)


async def test_unpaid_online_orders_are_cancelled(settings, db, client, admin_headers):
    from datetime import timedelta

    from sqlalchemy import update

    from db.models import Order
    from db.models.base import utcnow
    from services.status_changes import cancel_unpaid_orders

    shop = await setup_shop(client, admin_headers)
    online = (await client.post("/orders", json=order_body(shop))).json()
    cash = (await client.post("/orders", json=order_body(shop, is_cash_payment=True))).json()
    async with db.begin() as session:
        await session.execute(update(Order).values(created_at=utcnow() - timedelta(hours=2)))
    configured = settings.replace(UNPAID_ORDER_TTL_MIN=60, ORDER_CANCELLED_STATUS_IDS=(2,))
    async with db.begin() as session:
        assert await cancel_unpaid_orders(session, configured) == 1
    assert (await client.get(f"/orders/{online['id']}", headers=admin_headers)).json()[
        "status_id"
    ] == 2
    assert (await client.get(f"/orders/{cash['id']}", headers=admin_headers)).json()[
        "status_id"
    ] == 1
    variation = (await client.get(f"/variations/{shop['first']['id']}")).json()
    assert variation["reserved"] == 2
