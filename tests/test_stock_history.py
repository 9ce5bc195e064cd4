"""Stock history: every change of stock or reservation is a movement, and they add up."""

from __future__ import annotations

import asyncio
import random

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, text

from db.engine import Database
from db.migrate import alembic_config, upgrade
from services.api_clients import create_api_client
from tests.factories import PAYMENT_RETURN, order_body, outbox_payloads, remains_report, setup_shop
from tests.support import auth, create_database, customer_token, drop_database, is_postgresql

CANCELLED, HANDED = 2, 3


@pytest.fixture
async def shop_server(make_server, gateway, admin_headers):
    running = await make_server(
        SBER_BASE_URL=gateway.base_url,
        PAYMENT_ALLOWED_RETURN_HOSTS=("vinterr-plus.ru",),
        SBER_CALLBACK_SECRET="callback-secret",
        ORDER_CANCELLED_STATUS_IDS=(CANCELLED,),
        ORDER_HANDED_TO_1C_STATUS_IDS=(HANDED,),
    )
    shop = await setup_shop(running.client, admin_headers)
    return running.client, shop


async def history(client, headers, variation_id: int) -> list[dict]:
    response = await client.get(
        f"/variations/{variation_id}/stock_history?limit=500", headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["items"])
    return body["items"]


async def assert_movements_add_up(client, headers, variation_id: int) -> None:
    movements = await history(client, headers, variation_id)
    variation = (await client.get(f"/variations/{variation_id}")).json()
    assert sum(m["delta_stock"] for m in movements) == variation["stock"], movements
    assert sum(m["delta_reserved"] for m in movements) == variation["reserved"], movements
    if movements:
        newest = movements[0]
        assert (newest["stock"], newest["reserved"]) == (variation["stock"], variation["reserved"])


def summary(movements: list[dict]) -> list[tuple]:
    return [
        (m["reason"], m["delta_stock"], m["delta_reserved"], m["stock"], m["reserved"])
        for m in movements
    ]


async def set_status(client, headers, order_id: int, status_id: int) -> None:
    response = await client.patch(
        f"/orders/{order_id}", json={"status_id": status_id}, headers=headers
    )
    assert response.status_code == 200, response.text


async def paid_order(client, shop, gateway, body=None) -> dict:
    order = (await client.post("/orders", json=body or order_body(shop))).json()
    payment = await client.post(
        "/register_payment", json={"order_id": order["id"], **PAYMENT_RETURN}
    )
    assert payment.status_code == 200, payment.text
    gateway_id = payment.json()["sberbank_order_id"]
    gateway.pay(gateway_id)
    status = await client.get(f"/orders/{gateway_id}/status_payment")
    assert status.json()["is_payed"] is True
    return order


async def test_every_change_is_a_movement_with_its_cause(
    shop_server, gateway, admin, admin_headers, db
):
    client, shop = shop_server
    first = shop["first"]["id"]
    staff = ("staff", admin["id"])
    edited = await client.patch(f"/variations/{first}", json={"amount": 8}, headers=admin_headers)
    assert edited.status_code == 200 and edited.json()["stock"] == 8
    unchanged = await client.patch(
        f"/variations/{first}", json={"stock": 8, "variation_1c_id": "A1"}, headers=admin_headers
    )
    assert unchanged.status_code == 200
    order = (await client.post("/orders", json=order_body(shop))).json()
    for status_id in (CANCELLED, 1, HANDED):
        await set_status(client, admin_headers, order["id"], status_id)
    upload = await client.post(
        "/variations/auto_update_remains",
        json={"variations_data": [{"one_c_id": "A1", "amount": 10}], "full_report": False},
        headers=admin_headers,
    )
    assert upload.status_code == 200, upload.text
    paid = await paid_order(client, shop, gateway)
    refund = await client.post(
        f"/orders/{paid['id']}/refund",
        json={"lines": [{"variation_id": first, "quantity": 1}]},
        headers=admin_headers,
    )
    assert refund.status_code == 201, refund.text

    movements = await history(client, admin_headers, first)
    assert summary(movements) == [
        ("refund_return", 0, -1, 10, 1),
        ("order_reserve", 0, 2, 10, 2),
        ("json_remains", 4, 0, 10, 0),
        ("order_consume", -2, -2, 6, 0),
        ("order_reserve", 0, 2, 8, 2),
        ("order_release", 0, -2, 8, 0),
        ("order_reserve", 0, 2, 8, 2),
        ("admin_edit", 3, 0, 8, 0),
        ("admin_create", 5, 0, 5, 0),
    ]
    ids = [m["id"] for m in movements]
    assert ids == sorted(ids, reverse=True)
    # The oldest movement of each reason.
    by_reason = {m["reason"]: m for m in movements}
    placed = by_reason["order_reserve"]
    assert placed["order_id"] == order["id"] and placed["actor_kind"] == "customer"
    customer_id = (await client.get(f"/orders/{order['id']}", headers=admin_headers)).json()[
        "customer"
    ]["id"]
    assert placed["actor_id"] == customer_id
    for reason in ("order_release", "order_consume", "admin_edit", "admin_create"):
        assert (by_reason[reason]["actor_kind"], by_reason[reason]["actor_id"]) == staff, reason
    assert by_reason["order_consume"]["order_id"] == order["id"]
    assert by_reason["refund_return"]["order_id"] == paid["id"]
    assert (by_reason["refund_return"]["actor_kind"], by_reason["refund_return"]["actor_id"]) == (
        staff
    )
    uploaded = by_reason["json_remains"]
    assert uploaded["order_id"] is None and len(uploaded["upload_id"]) == 32
    [event] = await outbox_payloads(db, "RemainsUpdated")
    assert event["data"]["upload_id"] == uploaded["upload_id"]
    assert all(m["created_at"].endswith("Z") for m in movements)
    for variation in (shop["first"], shop["second"]):
        await assert_movements_add_up(client, admin_headers, variation["id"])


async def test_remains_uploads_name_their_reason_and_caller(client, admin_headers, db):
    shop = await setup_shop(client, admin_headers)
    first, second = shop["first"]["id"], shop["second"]["id"]
    for variation_id, code in ((first, "A1"), (second, "B2")):
        await client.patch(
            f"/variations/{variation_id}", json={"variation_1c_id": code}, headers=admin_headers
        )
    report = remains_report([["Платье", "A1", 9]])
    excel = await client.post(
        "/variations/update_remains", files={"file": ("r.xlsx", report)}, headers=admin_headers
    )
    assert excel.status_code == 200 and excel.json()["zeroed"] == 1
    async with db.begin() as session:
        client_row, key = await create_api_client(session, "onec-sync", is_admin=True)
    token = (await client.post("/auth/token", json={"api_key": key})).json()["access_token"]
    sync = auth(f"Bearer {token}")
    json_upload = await client.post(
        "/variations/auto_update_remains", json=[{"one_c_id": "B2", "amount": 4}], headers=sync
    )
    assert json_upload.status_code == 200
    first_moves = await history(client, admin_headers, first)
    second_moves = await history(client, admin_headers, second)
    assert summary(first_moves)[0] == ("json_remains", -9, 0, 0, 0)
    assert summary(first_moves)[1] == ("excel_remains", 4, 0, 9, 0)
    assert summary(second_moves)[:2] == [
        ("json_remains", 4, 0, 4, 0),
        ("excel_remains", -5, 0, 0, 0),
    ]
    assert first_moves[0]["upload_id"] == second_moves[0]["upload_id"]
    assert first_moves[1]["upload_id"] == second_moves[1]["upload_id"]
    assert first_moves[0]["upload_id"] != first_moves[1]["upload_id"]
    assert (second_moves[0]["actor_kind"], second_moves[0]["actor_id"]) == (
        "api_client",
        client_row.id,
    )
    assert second_moves[1]["actor_kind"] == "staff"
    unchanged = await client.post(
        "/variations/auto_update_remains", json=[{"one_c_id": "B2", "amount": 4}], headers=sync
    )
    assert unchanged.status_code == 200
    assert len(await history(client, admin_headers, second)) == len(second_moves)


async def test_the_stock_history_is_paged_newest_first_for_staff_only(client, admin_headers, db):
    shop = await setup_shop(client, admin_headers)
    first = shop["first"]["id"]
    for stock in (6, 7, 8):
        await client.patch(f"/variations/{first}", json={"stock": stock}, headers=admin_headers)
    path = f"/variations/{first}/stock_history"
    page = (await client.get(f"{path}?limit=2", headers=admin_headers)).json()
    assert page["count"] == 4
    assert [m["stock"] for m in page["items"]] == [8, 7]
    rest = (await client.get(f"{path}/?limit=2&offset=2", headers=admin_headers)).json()
    assert rest["count"] == 4
    assert [m["stock"] for m in rest["items"]] == [6, 5]
    assert (await client.get(f"{path}?offset=4", headers=admin_headers)).json() == {
        "items": [],
        "count": 4,
    }
    default = (await client.get(path, headers=admin_headers)).json()
    assert len(default["items"]) == 4
    assert set(default["items"][0]) == {
        "id",
        "variation_id",
        "delta_stock",
        "delta_reserved",
        "stock",
        "reserved",
        "reason",
        "order_id",
        "upload_id",
        "actor_kind",
        "actor_id",
        "created_at",
    }
    for query in ("limit=0", "limit=501", "offset=-1", "limit=ten"):
        refused = await client.get(f"{path}?{query}", headers=admin_headers)
        assert refused.status_code == 400, query
        assert refused.json()["message"] == "Validation error"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=auth("not-a-token"))).status_code == 401
    order = (await client.post("/orders", json=order_body(shop))).json()
    buyer = (await client.get(f"/orders/{order['id']}", headers=admin_headers)).json()["customer"]
    as_buyer = await client.get(path, headers=auth(customer_token(buyer["id"])))
    assert as_buyer.status_code == 403
    async with db.begin() as session:
        _, key = await create_api_client(session, "analytics", is_admin=False)
    token = (await client.post("/auth/token", json={"api_key": key})).json()["access_token"]
    assert (await client.get(path, headers=auth(token))).status_code == 403
    missing = await client.get("/variations/999999/stock_history", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Variation not found", "error_code": 404}
    await client.delete(f"/variations/{shop['second']['id']}", headers=admin_headers)
    deleted = await client.get(
        f"/variations/{shop['second']['id']}/stock_history", headers=admin_headers
    )
    assert deleted.status_code == 404


async def test_the_stock_history_route_documents_its_answers_and_parameters(client):
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/variations/{variation_id}/stock_history"]["get"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {"variation_id", "limit", "offset"} <= parameters


async def test_checkout_stock_writes_do_not_grow_with_its_lines(client, admin_headers, db):
    shop = await setup_shop(client, admin_headers)
    extra = await client.post(
        "/variations",
        json={
            "good_id": shop["good"]["id"],
            "color_id": shop["refs"]["red"]["id"],
            "size_id": shop["refs"]["m"]["id"],
            "name": "Платье красное M",
            "price": 4990,
            "amount": 5,
        },
        headers=admin_headers,
    )
    lines = [
        {"variation_id": shop["first"]["id"], "amount": 1, "current_price": 4990},
        {"variation_id": shop["second"]["id"], "amount": 1, "current_price": 1500},
        {"variation_id": extra.json()["id"], "amount": 1, "current_price": 4990},
    ]

    async def statements_of(body) -> int:
        """The statements of a checkout that read or write stock."""
        statements = []

        def count(conn, cursor, statement, *args):
            if "stock" in statement:
                statements.append(statement)

        logged = []

        def count_driver_query(query):
            count(None, None, query.query)

        def log_driver_queries(_dbapi_connection, record, _proxy):
            # PostgreSQL: statements sent straight to asyncpg (db/prepared.py) pass no event.
            if hasattr(record.driver_connection, "add_query_logger"):
                record.driver_connection.add_query_logger(count_driver_query)
                logged.append(record.driver_connection)

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        event.listen(db.engine.sync_engine.pool, "checkout", log_driver_queries)
        try:
            response = await client.post("/orders", json=body)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
            event.remove(db.engine.sync_engine.pool, "checkout", log_driver_queries)
            for connection in logged:
                connection.remove_query_logger(count_driver_query)
        assert response.status_code == 201, response.text
        return len(statements)

    # The first order creates its guest buyer; the measured ones find it.
    await statements_of(order_body(shop, variations=lines[:1]))
    one_line = await statements_of(order_body(shop, variations=lines[:1]))
    three_lines = await statements_of(order_body(shop, variations=lines))
    # Lock the rows, then write the levels with their movements: one statement on PostgreSQL.
    assert one_line == three_lines == (2 if is_postgresql() else 3)
    for line in lines:
        await assert_movements_add_up(client, admin_headers, line["variation_id"])


async def test_mixed_concurrent_changes_add_up(shop_server, gateway, admin_headers, db):
    """Checkouts, cancellations, hand-overs to 1C, an upload, an admin edit and a refund at
    once: for every variation the movements add up to its stock and reservation."""
    client, shop = shop_server
    good, refs = shop["good"], shop["refs"]
    variations = [shop["first"], shop["second"]]
    for color, size in ((refs["red"], refs["m"]), (refs["blue"], refs["s"])):
        created = await client.post(
            "/variations",
            json={
                "good_id": good["id"],
                "color_id": color["id"],
                "size_id": size["id"],
                "name": f"Платье {color['name']} {size['name']}",
                "price": 1000,
                "amount": 5,
            },
            headers=admin_headers,
        )
        variations.append(created.json())
    prices = {v["id"]: v["discounted_price"] or v["price"] for v in variations}
    for index, variation in enumerate(variations):
        await client.patch(
            f"/variations/{variation['id']}",
            json={"stock": 30, "variation_1c_id": f"C{index}"},
            headers=admin_headers,
        )
    shuffle = random.Random(16)

    def basket() -> dict:
        chosen = shuffle.sample(variations, shuffle.randint(1, len(variations)))
        lines = [
            {
                "variation_id": v["id"],
                "amount": shuffle.randint(1, 3),
                "current_price": prices[v["id"]],
            }
            for v in chosen
        ]
        return order_body(shop, variations=lines)

    placed = [(await client.post("/orders", json=basket())).json() for _ in range(6)]
    paid = await paid_order(client, shop, gateway)

    async def checkout():
        return await client.post("/orders", json=basket())

    async def change_status(order, status_id):
        return await client.patch(
            f"/orders/{order['id']}", json={"status_id": status_id}, headers=admin_headers
        )

    async def upload():
        items = [{"one_c_id": f"C{i}", "amount": 20 + i} for i in range(len(variations))]
        return await client.post(
            "/variations/auto_update_remains", json=items, headers=admin_headers
        )

    async def admin_edit():
        return await client.patch(
            f"/variations/{variations[2]['id']}", json={"stock": 25}, headers=admin_headers
        )

    async def refund():
        return await client.post(f"/orders/{paid['id']}/refund", headers=admin_headers)

    work = [("checkout", checkout()) for _ in range(24)]
    work += [("status", change_status(order, CANCELLED)) for order in placed[:3]]
    work += [("status", change_status(order, HANDED)) for order in placed[3:5]]
    work += [("upload", upload()), ("edit", admin_edit()), ("refund", refund())]
    shuffle.shuffle(work)
    answers = await asyncio.gather(*(call for _, call in work))
    outcomes = [(kind, answer.status_code) for (kind, _), answer in zip(work, answers, strict=True)]
    checkouts = [status for kind, status in outcomes if kind == "checkout"]
    assert set(checkouts) <= {201, 400} and checkouts.count(201) >= 5, outcomes
    others = {(kind, status) for kind, status in outcomes if kind != "checkout"}
    assert others == {("status", 200), ("upload", 200), ("edit", 200), ("refund", 201)}
    async with db.session() as session:
        sums = (
            await session.execute(
                text(
                    "SELECT v.id, v.stock, v.reserved, "
                    "COALESCE(SUM(m.delta_stock), 0), COALESCE(SUM(m.delta_reserved), 0) "
                    "FROM variations v LEFT JOIN stock_movements m ON m.variation_id = v.id "
                    "GROUP BY v.id, v.stock, v.reserved ORDER BY v.id"
                )
            )
        ).all()
        open_lines = dict(
            (
                await session.execute(
                    text(
                        "SELECT l.variation_id, SUM(l.amount - l.refunded_quantity) "
                        "FROM order_lines l JOIN orders o ON o.id = l.order_id "
                        "WHERE o.reservation = 'active' GROUP BY l.variation_id"
                    )
                )
            ).all()
        )
    assert len(sums) == len(variations)
    for variation_id, stock, reserved, delta_stock, delta_reserved in sums:
        assert (delta_stock, delta_reserved) == (stock, reserved), variation_id
        assert reserved == open_lines.get(variation_id, 0), variation_id
    for variation in variations:
        await assert_movements_add_up(client, admin_headers, variation["id"])


def _revision_before_stock_history() -> str:
    script = ScriptDirectory.from_config(alembic_config(""))
    [revision] = [r for r in script.walk_revisions() if r.path.endswith("_stock_movements.py")]
    return revision.down_revision


async def test_migration_opens_the_history_of_existing_variations(tmp_path):
    url = await create_database(str(tmp_path), _revision_before_stock_history())
    database = Database(url)
    try:
        async with database.begin() as session:
            for statement in (
                "INSERT INTO categories (id, name) VALUES (1, 'Платья')",
                "INSERT INTO structures (id, name) VALUES (1, 'Хлопок')",
                "INSERT INTO colors (id, name, code) VALUES (1, 'Красный', '#f00')",
                "INSERT INTO sizes (id, name) VALUES (1, 'S')",
                "INSERT INTO goods (id, name, article, category_id, structure_id) "
                "VALUES (1, 'Платье', 'A-1', 1, 1)",
                "INSERT INTO variations (id, good_id, name, color_id, size_id, price, stock, "
                "reserved) VALUES (1, 1, 'S', 1, 1, 100, 7, 2), (2, 1, 'M', 1, 1, 100, 0, 0)",
            ):
                await session.execute(text(statement))
        await asyncio.to_thread(upgrade, url, "head")
        async with database.session() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT variation_id, delta_stock, delta_reserved, stock, reserved, "
                        "reason, actor_kind, order_id, upload_id FROM stock_movements "
                        "ORDER BY variation_id"
                    )
                )
            ).all()
    finally:
        await database.dispose()
        await drop_database(url)
    assert [tuple(row) for row in rows] == [
        (1, 7, 2, 7, 2, "opening", "system", None, None),
        (2, 0, 0, 0, 0, "opening", "system", None, None),
    ]


async def test_levels_cannot_change_outside_the_stock_service(client, admin_headers, db):
    from db.models import Variation

    refused = r"only through services\.stock"
    shop = await setup_shop(client, admin_headers)
    async with db.session() as session:
        variation = await session.get(Variation, shop["first"]["id"])
        with pytest.raises(ValueError, match=refused):
            variation.stock = 3
        with pytest.raises(ValueError, match=refused):
            variation.reserved = 0
        with pytest.raises(ValueError, match=refused):
            Variation(stock=5)


@pytest.mark.skipif(not is_postgresql(), reason="row locks need PostgreSQL")
async def test_a_sold_out_checkout_does_not_queue_for_the_row(client, admin_headers, db):
    from db.models import Variation

    shop = await setup_shop(client, admin_headers, stock=2)
    sold_out = order_body(
        shop, variations=[{"variation_id": shop["first"]["id"], "amount": 2, "current_price": 4990}]
    )
    assert (await client.post("/orders", json=sold_out)).status_code == 201
    async with db.begin() as session:
        # Another transaction holds the row, e.g. a cancellation still in progress.
        await session.get(Variation, shop["first"]["id"], with_for_update=True)
        checkout = asyncio.ensure_future(client.post("/orders", json=sold_out))
        done, _ = await asyncio.wait({checkout}, timeout=15)
        assert checkout in done, "the checkout waited for the row lock"
    answer = checkout.result()
    assert answer.status_code == 400
    assert answer.json()["variations"] == [
        {"variation_id": shop["first"]["id"], "requested": 2, "available": 0}
    ]
