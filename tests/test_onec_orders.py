"""1C orders exchange over HTTP: the orders document of `query`, `success` handing the orders
over to 1C, and the order updates 1C sends back as a file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree as DefusedET
from sqlalchemy import event, select, update

from db.models import OnecExchange, Order
from tests import factories
from tests.commerceml_docs import MAIN_STORE, RETAIL, Group, Offer, Product, import_xml, offers_xml
from tests.factories import exchange_settings
from tests.onec_client import OneC, orders_update

DRESS = "3f6c1d0e-6b1a-11ee-80f1-0050569c2a11"
RED, BLUE = f"{DRESS}#c1", f"{DRESS}#c2"
NEW, CANCELLED, SHIPPED = "Новый", "Отменён", "Отгружен"


@pytest.fixture
async def shop(make_server, client, admin_headers, tmp_path):
    """Goods imported from 1C through the exchange, shown on the site; statuses and deliveries."""
    for name in (NEW, CANCELLED, SHIPPED):
        await factories.post(client, "/statuses", {"name": name}, admin_headers)
    courier = await factories.post(
        client, "/delivery_types", {"name": "Курьер", "cost": 300}, admin_headers
    )
    pickup = await factories.post(
        client, "/delivery_types", {"name": "Самовывоз", "cost": 0}, admin_headers
    )
    overrides = {
        **await exchange_settings(client, admin_headers, tmp_path / "1c"),
        "ORDER_CANCELLED_STATUS_IDS": (2,),
        "TELEGRAM_ORDERS_CHAT_ID": "-100200",
    }
    running = await make_server(**overrides)
    onec = OneC(running.client)
    await onec.checkauth()
    catalogue = import_xml([Group("g1", "Платья")], [Product(DRESS, "Платье", "VN-1", "g1")])
    await onec.upload("import.xml", catalogue)
    offers = [
        Offer(RED, "Платье красное", "Красный", "44", {RETAIL: "4990"}, {MAIN_STORE: "5"}),
        Offer(BLUE, "Платье синее", "Синий", "46", {RETAIL: "2000"}, {MAIN_STORE: "5"}),
    ]
    await onec.upload("offers.xml", offers_xml(offers))
    for name in ("import.xml", "offers.xml"):
        assert (await onec.import_file(name)).text == "success"
    variations = {v["name"]: v for v in (await client.get("/variations/all")).json()}
    good_id = variations["Платье красное"]["good_id"]
    await client.patch(f"/goods/{good_id}", json={"is_visible": True}, headers=admin_headers)
    return {
        "server": running,
        "overrides": overrides,
        "client": running.client,
        "red": variations["Платье красное"],
        "blue": variations["Платье синее"],
        "courier": courier,
        "pickup": pickup,
    }


def order_body(shop, **changes) -> dict:
    return {
        "first_name": "Иван",
        "second_name": "Петров",
        "last_name": "Сергеевич",
        "phone_number": "+7 (912) 345-67-89",
        "email": "ivan@example.ru",
        "delivery_type_id": shop["courier"]["id"],
        "delivery_cost": 300,
        "city": "Челябинск",
        "street": "Тополиная",
        "house_number": "11",
        "apartment": "5",
        "other_info": "Позвонить\x07 за час <не раньше 10:00> & не позже 18:00",
        "delivery_address": "Челябинск, Тополиная 11-5",
        "is_cash_payment": False,
        "variations": [
            {"variation_id": shop["red"]["id"], "amount": 2, "current_price": 4990},
            {"variation_id": shop["blue"]["id"], "amount": 1, "current_price": 2000},
        ],
        **changes,
    }


async def place(shop, **changes) -> dict:
    response = await shop["client"].post("/orders", json=order_body(shop, **changes))
    assert response.status_code == 201, response.text
    return response.json()


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(element: ET.Element, name: str) -> ET.Element:
    (found,) = [item for item in element if local(item.tag) == name]
    return found


def text_of(element: ET.Element, path: str) -> str:
    for name in path.split("/"):
        element = child(element, name)
    return element.text or ""


def requisites(element: ET.Element) -> dict[str, str]:
    container = child(element, "ЗначенияРеквизитов")
    return {text_of(item, "Наименование"): text_of(item, "Значение") for item in container}


async def query(onec: OneC) -> dict[str, ET.Element]:
    response = await onec.call("sale", "query")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = DefusedET.fromstring(response.content)
    assert (local(root.tag), root.get("ВерсияСхемы")) == ("КоммерческаяИнформация", "2.08")
    return {text_of(document, "Ид"): document for document in root}


async def stock_of(client, variation) -> tuple[int, int, int]:
    body = (await client.get(f"/variations/{variation['id']}")).json()
    return body["stock"], body["reserved"], body["amount"]


async def test_query_sends_every_field(shop, client, admin_headers):
    order = await place(shop)
    cash = await place(
        shop, is_cash_payment=True, delivery_type_id=shop["pickup"]["id"], delivery_cost=0
    )
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    assert (await onec.call("sale", "init")).text == "zip=no\nfile_limit=10485760"
    documents = await query(onec)
    assert sorted(documents) == sorted([str(order["id"]), str(cash["id"])])
    document = documents[str(order["id"])]
    created = datetime.fromisoformat(order["created_at"]).astimezone(ZoneInfo("Asia/Yekaterinburg"))
    assert {name: text_of(document, name) for name in (
        "Номер", "Дата", "Время", "ХозОперация", "Роль", "Валюта", "Курс", "Сумма", "Комментарий"
    )} == {
        "Номер": str(order["id"]),
        "Дата": created.strftime("%Y-%m-%d"),
        "Время": created.strftime("%H:%M:%S"),
        "ХозОперация": "Заказ товара",
        "Роль": "Продавец",
        "Валюта": "руб",
        "Курс": "1",
        "Сумма": str(2 * 4990 + 2000 + 300),
        "Комментарий": "Позвонить за час <не раньше 10:00> & не позже 18:00",
    }  # fmt: skip
    buyer = child(child(document, "Контрагенты"), "Контрагент")
    customer_path = f"/customers/{order['customer_id']}"
    customer = (await client.get(customer_path, headers=admin_headers)).json()
    assert text_of(buyer, "Ид") == customer["uuid"]
    assert text_of(buyer, "Наименование") == "Петров Иван Сергеевич"
    assert text_of(buyer, "ПолноеНаименование") == "Петров Иван Сергеевич"
    assert text_of(buyer, "Роль") == "Покупатель"
    assert text_of(buyer, "АдресРегистрации/Представление") == "Челябинск, Тополиная 11-5"
    contacts = {text_of(c, "Тип"): text_of(c, "Значение") for c in child(buyer, "Контакты")}
    assert contacts == {"Почта": "ivan@example.ru", "Телефон": "79123456789"}
    lines = list(child(document, "Товары"))
    assert [
        (text_of(line, "Ид"), text_of(line, "Наименование"), text_of(line, "ЦенаЗаЕдиницу"),
         text_of(line, "Количество"), text_of(line, "Сумма"), requisites(line)["ТипНоменклатуры"])
        for line in lines
    ] == [
        (RED, "Платье красное", "4990", "2", "9980", "Товар"),
        (BLUE, "Платье синее", "2000", "1", "2000", "Товар"),
        ("ORDER_DELIVERY", "Курьер", "300", "1", "300", "Услуга"),
    ]  # fmt: skip
    unit = child(lines[0], "БазоваяЕдиница")
    assert (unit.get("Код"), unit.text) == ("796", "шт")
    assert requisites(lines[0])["ВидНоменклатуры"] == "Товар"
    assert requisites(document) == {
        "Метод оплаты": "Онлайн",
        "Заказ оплачен": "false",
        "Способ доставки": "Курьер",
        "Статус заказа": NEW,
        "Отменен": "false",
    }
    cash_document = documents[str(cash["id"])]
    assert requisites(cash_document)["Метод оплаты"] == "Наличный расчет"
    assert [text_of(line, "Ид") for line in child(cash_document, "Товары")] == [RED, BLUE]
    gone = await client.delete(f"/customers/{cash['customer_id']}/permanent", headers=admin_headers)
    assert gone.status_code == 204
    again = await query(onec)
    assert text_of(child(child(again[str(cash["id"])], "Контрагенты"), "Контрагент"), "Ид") == (
        f"order-{cash['id']}"
    )


async def test_success_hands_the_orders_over(shop, client, admin_headers):
    coded = {"variation_1c_id": "00-123"}
    await client.patch(f"/variations/{shop['red']['id']}", json=coded, headers=admin_headers)
    first = await place(shop)
    assert await stock_of(client, shop["red"]) == (5, 2, 3)
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    assert list(await query(onec)) == [str(first["id"])]
    # 1C's remains do not include the sale yet: the reservation stays.
    remains = await client.post(
        "/variations/auto_update_remains",
        json={"variations_data": [{"one_c_id": "00-123", "amount": 5}], "full_report": False},
        headers=admin_headers,
    )
    assert remains.status_code == 200
    assert await stock_of(client, shop["red"]) == (5, 2, 3)
    assert list(await query(onec)) == [str(first["id"])]
    second = await place(shop)
    success = await onec.call("sale", "success")
    assert (success.status_code, success.text) == (200, "success")
    # The second order came after the query: 1C has not got it, its units stay reserved.
    assert await stock_of(client, shop["red"]) == (3, 2, 1)
    assert list(await query(onec)) == [str(second["id"])]
    assert (await onec.call("sale", "success")).text == "success"
    assert await stock_of(client, shop["red"]) == (1, 0, 1)
    assert await query(onec) == {}
    # 1C's next report includes both sales: nothing is counted twice.
    remains = await client.post(
        "/variations/auto_update_remains",
        json={"variations_data": [{"one_c_id": "00-123", "amount": 1}], "full_report": False},
        headers=admin_headers,
    )
    assert remains.status_code == 200
    assert await stock_of(client, shop["red"]) == (1, 0, 1)
    history = await client.get(f"/orders/{first['id']}/status_changes", headers=admin_headers)
    assert len(history.json()) == 1
    assert (await onec.call("sale", "success")).text == "success"


async def test_an_order_changed_after_the_query_is_sent_again(shop, client, admin_headers):
    order = await place(shop)
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    assert list(await query(onec)) == [str(order["id"])]
    paid = await client.patch(
        f"/orders/{order['id']}", json={"is_payed": True}, headers=admin_headers
    )
    assert paid.status_code == 200
    assert (await onec.call("sale", "success")).text == "success"
    documents = await query(onec)
    assert requisites(documents[str(order["id"])])["Заказ оплачен"] == "true"
    assert (await onec.call("sale", "success")).text == "success"
    assert await query(onec) == {}


async def test_success_without_query_marks_nothing(shop, client):
    order = await place(shop)
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    assert (await onec.call("sale", "success")).text == "success"
    assert list(await query(onec)) == [str(order["id"])]
    assert await stock_of(client, shop["red"]) == (5, 2, 3)


async def test_orders_placed_before_the_first_exchange_are_not_sent(shop, make_server, db):
    earlier, later = await place(shop), await place(shop)
    async with db.session() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.id == earlier["id"])
            .values(created_at=datetime(2026, 11, 30, 18, 59, tzinfo=UTC))
        )
    cut_off = await make_server(**shop["overrides"], ONEC_ORDERS_SINCE=date(2026, 12, 1))
    onec = OneC(cut_off.client)
    await onec.checkauth("sale")
    # 23:59 on 30 November in Yekaterinburg is before the cut-off; the later order is not.
    assert list(await query(onec)) == [str(later["id"])]
    assert (await onec.call("sale", "success")).text == "success"
    assert await query(onec) == {}


async def test_statuses_cancellations_and_payments_from_1c_apply_and_are_not_sent_back(
    shop, client, admin_headers, db
):
    for variation in (shop["red"], shop["blue"]):
        await client.patch(
            f"/variations/{variation['id']}", json={"stock": 20}, headers=admin_headers
        )
    shipped, cancelled, paid, untouched = [await place(shop) for _ in range(4)]
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    await query(onec)
    assert (await onec.call("sale", "success")).text == "success"
    back = orders_update(
        {"number": shipped["id"], "status": SHIPPED, "paid": False, "cancelled": False},
        {"number": cancelled["id"], "status": SHIPPED, "cancelled": True},
        {"number": paid["id"], "status": "отгружен ", "paid": True, "posted": True},
        {"number": untouched["id"], "status": "Неизвестный", "paid": False},
        {"number": "ЗК-000777", "id": "999999", "status": SHIPPED},
        {"number": paid["id"], "operation": "Выплата безналичных денег", "status": CANCELLED},
        namespace="urn:1C.ru:commerceml_2",
    )
    stored = await onec.call("sale", "file", back, filename="orders-1.xml")
    assert (stored.status_code, stored.text) == (200, "success")
    assert (await onec.call("sale", "import", filename="orders-1.xml")).text == "success"
    orders = {o["id"]: o for o in (await client.get("/orders/all", headers=admin_headers)).json()}
    assert orders[shipped["id"]]["status_id"] == 3
    assert orders[cancelled["id"]]["status_id"] == 2
    assert (orders[paid["id"]]["status_id"], orders[paid["id"]]["is_payed"]) == (3, True)
    assert (orders[untouched["id"]]["status_id"], orders[untouched["id"]]["is_payed"]) == (1, False)
    history = await client.get(f"/orders/{cancelled['id']}/status_changes", headers=admin_headers)
    assert [change["status_id"] for change in history.json()] == [1, 2]
    # Handed over already: a cancellation in 1C reaches the site through 1C's next remains.
    assert await stock_of(client, shop["red"]) == (12, 0, 12)
    assert len(await factories.outbox_payloads(db, "order_placed")) == 4
    paid_events = await factories.outbox_payloads(db, "OrderPaid")
    assert [
        (e["data"]["order_id"], e["data"]["source"], e["data"]["gateway_order_id"])
        for e in paid_events
    ] == [(paid["id"], "1c", None)]
    assert await factories.outbox_payloads(db, "order_paid") == []
    # What 1C changed itself is not sent back to it.
    assert await query(onec) == {}
    log = await client.get("/1c_exchange/log", params={"type": "sale"}, headers=admin_headers)
    (row,) = [r for r in log.json()["items"] if r["mode"] == "file"]
    assert row["counts"] == {
        "bytes": len(back),
        "chunks": 1,
        "documents": 5,
        "status_changed": 3,
        "cancelled": 1,
        "paid": 1,
        "unknown_statuses": 1,
        "unknown_orders": 1,
    }
    assert row["message"] == "Unknown orders skipped: ЗК-000777"


async def test_cancelling_an_order_1c_has_not_taken_releases_it(shop, client, admin_headers):
    order = await place(shop)
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    back = orders_update({"number": order["id"], "cancelled": True})
    assert (await onec.call("sale", "file", back, filename="orders.xml")).text == "success"
    assert await stock_of(client, shop["red"]) == (5, 0, 5)
    (document,) = (await query(onec)).values()
    assert requisites(document)["Отменен"] == "true"
    assert requisites(document)["Статус заказа"] == CANCELLED
    # Reopened in 1C when the goods are gone: refused alone, the rest of the file applies.
    second = await place(shop)
    sold_out = await client.patch(
        f"/variations/{shop['red']['id']}", json={"stock": 2}, headers=admin_headers
    )
    assert sold_out.status_code == 200
    reopen = orders_update(
        {"number": order["id"], "status": NEW}, {"number": second["id"], "status": SHIPPED}
    )
    assert (await onec.call("sale", "file", reopen, filename="orders-2.xml")).text == "success"
    orders = {o["id"]: o for o in (await client.get("/orders/all", headers=admin_headers)).json()}
    assert (orders[order["id"]]["status_id"], orders[second["id"]]["status_id"]) == (2, 3)
    log = await client.get("/1c_exchange/log", params={"type": "sale"}, headers=admin_headers)
    row = next(r for r in log.json()["items"] if r["filename"] == "orders-2.xml")
    assert (row["counts"]["refused"], row["counts"]["status_changed"]) == (1, 1)


async def test_bad_order_files_change_nothing(shop, client, admin_headers):
    order = await place(shop)
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    good = orders_update({"number": order["id"], "status": SHIPPED, "paid": True})
    bad_files = {
        "truncated.xml": good[:-40],
        "bomb.xml": (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<КоммерческаяИнформация>&b;</КоммерческаяИнформация>"
        ).encode(),
        "external.xml": (
            '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            "<КоммерческаяИнформация>&e;</КоммерческаяИнформация>"
        ).encode(),
        "other.xml": b"<orders><order/></orders>",
        "cp1251.xml": "<КоммерческаяИнформация>Отгружен</КоммерческаяИнформация>".encode("cp1251"),
        "empty.xml": b"",
    }
    for name, content in bad_files.items():
        response = await onec.call("sale", "file", content, filename=name)
        assert response.status_code == 400, name
        assert response.text.startswith("failure\n"), name
        assert "\n" not in response.text.split("\n", 1)[1]
    assert (await onec.call("sale", "import", filename="never.xml")).status_code == 400
    unchanged = (await client.get(f"/orders/{order['id']}", headers=admin_headers)).json()
    assert (unchanged["status_id"], unchanged["is_payed"]) == (1, False)
    failures = await client.get(
        "/1c_exchange/log", params={"outcome": "failure"}, headers=admin_headers
    )
    assert failures.json()["count"] == len(bad_files) + 1


async def test_query_reads_in_batches(shop, client, admin_headers, db):
    """The statements of `query` do not grow with the number of orders."""
    for variation in (shop["red"], shop["blue"]):
        await client.patch(
            f"/variations/{variation['id']}", json={"stock": 1000}, headers=admin_headers
        )
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    statements: list[str] = []

    def remember(_connection, _cursor, statement, *_args):
        statements.append(statement)

    async def statements_of_query(expected_orders: int) -> int:
        statements.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", remember)
        try:
            assert len(await query(onec)) == expected_orders
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", remember)
        return len(statements)

    await place(shop)
    one = await statements_of_query(1)
    for _ in range(30):
        await place(shop)
    assert await statements_of_query(31) == one
    assert one <= 8


async def test_the_stock_history_names_1c(shop, client, admin_headers, db):
    first, second = await place(shop), await place(shop)
    onec = OneC(shop["server"].client)
    await onec.checkauth("sale")
    assert set(await query(onec)) == {str(first["id"]), str(second["id"])}
    assert (await onec.call("sale", "success")).text == "success"
    history = await client.get(
        f"/variations/{shop['red']['id']}/stock_history", headers=admin_headers
    )
    movements = history.json()["items"]
    # One statement hands both orders over, with a movement for each.
    assert [
        (
            m["reason"],
            m["order_id"],
            m["delta_stock"],
            m["delta_reserved"],
            m["stock"],
            m["reserved"],
        )
        for m in movements
    ] == [
        ("order_consume", second["id"], -2, -2, 1, 0),
        ("order_consume", first["id"], -2, -2, 3, 2),
        ("order_reserve", second["id"], 0, 2, 5, 4),
        ("order_reserve", first["id"], 0, 2, 5, 2),
        ("commerceml", None, 5, 0, 5, 0),
    ]
    async with db.session() as session:
        job_id = await session.scalar(
            select(OnecExchange.id).where(
                OnecExchange.mode == "import", OnecExchange.filename == "offers.xml"
            )
        )
    imported = movements[-1]
    assert imported["upload_id"] == f"1c_exchange:{job_id}"
    assert {m["actor_kind"] for m in (imported, *movements[:2])} == {"system"}
    [event] = [
        payload
        for payload in await factories.outbox_payloads(db, "RemainsUpdated")
        if payload["data"]["source"] == "commerceml"
    ]
    assert event["data"]["upload_id"] == imported["upload_id"]
