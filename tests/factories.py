"""Shop data the tests build over HTTP (directories, goods, a whole shop, orders, customers),
the documents they upload, and what they read back from the database."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select, text, update

from db.models import Good, Order, OutboxMessage, PaymentAttempt
from db.models.base import utcnow
from services.status_changes import cancel_unpaid_orders
from tests.commerceml_docs import (
    CATALOGUE_GOODS,
    CATALOGUE_GROUPS,
    RETAIL,
    SALE,
    catalogue_offers,
    import_xml,
    offers_xml,
)
from tests.onec_client import EXCHANGE_SETTINGS
from tests.support import auth


async def post(client, path, body, headers):
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, (path, response.text)
    return response.json()


async def directories(client, headers) -> dict:
    return {
        "category": await post(client, "/categories", {"name": "Платья"}, headers),
        "structure": await post(client, "/structures", {"name": "Хлопок 100%"}, headers),
        "care": await post(client, "/products_care", {"name": "Стирка 30°"}, headers),
        "red": await post(client, "/colors", {"name": "Красный", "code": "#f00"}, headers),
        "blue": await post(client, "/colors", {"name": "Синий", "code": "#00f"}, headers),
        "s": await post(client, "/sizes", {"name": "S"}, headers),
        "m": await post(client, "/sizes", {"name": "M"}, headers),
    }


async def good(client, headers, refs, article="ART-1", **changes) -> dict:
    body = {
        "name": "Платье летнее",
        "article": article,
        "description": "",
        "category_id": refs["category"]["id"],
        "structure_id": refs["structure"]["id"],
        "products_care_id": refs["care"]["id"],
        "weight": 0.35,
        **changes,
    }
    return await post(client, "/goods", body, headers)


async def variation(client, headers, good_id, color, size, amount=5, price=4990, **changes):
    body = {
        "good_id": good_id,
        "color_id": color["id"],
        "size_id": size["id"],
        "name": f"Платье {color['name']} {size['name']}",
        "price": price,
        "amount": amount,
        **changes,
    }
    return await post(client, "/variations", body, headers)


async def setup_shop(client, headers, stock=5) -> dict:
    """Directories, three statuses, two delivery types and one good with two variations:
    red S at 4990 and blue M at 2000 discounted to 1500, `stock` units each."""
    refs = await directories(client, headers)
    for name in ("Новый", "Отменён", "Передан в 1С"):
        await post(client, "/statuses", {"name": name}, headers)
    courier = await post(client, "/delivery_types", {"name": "Курьер", "cost": 300}, headers)
    pickup = await post(client, "/delivery_types", {"name": "СДЭК"}, headers)
    dress = await good(client, headers, refs)
    first = await variation(
        client, headers, dress["id"], refs["red"], refs["s"], amount=stock, price=4990
    )
    second = await variation(
        client,
        headers,
        dress["id"],
        refs["blue"],
        refs["m"],
        amount=stock,
        price=2000,
        discounted_price=1500,
    )
    return {
        "courier": courier,
        "pickup": pickup,
        "good": dress,
        "first": first,
        "second": second,
        "refs": refs,
    }


ORDER_TOTAL = 11780  # order_body's lines: 2 x 4990 + 1 x 1500, and 300 for the courier
PAYMENT_RETURN = {
    "return_url": "https://vinterr-plus.ru/ok",
    "fail_url": "https://vinterr-plus.ru/fail",
}


def order_body(shop, **changes) -> dict:
    body = {
        "first_name": "Иван",
        "second_name": "Петров",
        "last_name": "",
        "phone_number": "+7 (912) 345-67-89",
        "email": "Ivan@Example.ru",
        "delivery_type_id": shop["courier"]["id"],
        "delivery_cost": 300.0,
        "city": "Челябинск",
        "street": "Тополиная",
        "house_number": "11",
        "apartment": "5а",
        "delivery_address": "Челябинск, Тополиная 11-5",
        "is_cash_payment": False,
        "status_id": 3,
        "variations": [
            {"variation_id": shop["first"]["id"], "amount": 2, "current_price": 4990},
            {"variation_id": shop["second"]["id"], "amount": 1, "current_price": "1500"},
        ],
    }
    body.update(changes)
    return body


async def order_view(client, headers, order_id) -> dict:
    return (await client.get(f"/orders/{order_id}", headers=headers)).json()


async def stock(client, variation) -> dict:
    body = (await client.get(f"/variations/{variation['id']}")).json()
    return {"available": body["amount"], "reserved": body["reserved"], "stock": body["stock"]}


def receipt(form: dict) -> list[dict]:
    """The receipt lines of a form the shop sent to the payment gateway."""
    return json.loads(form["orderBundle"])["cartItems"]["items"]


async def expire_unpaid_order(db, settings, order_id: int) -> None:
    """Age the order past the unpaid time limit, expire its payment, and run the cancelling."""
    async with db.begin() as session:
        await session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(created_at=utcnow() - timedelta(hours=2))
        )
        await session.execute(update(PaymentAttempt).values(state="expired"))
    async with db.begin() as session:
        assert await cancel_unpaid_orders(session, settings.replace(UNPAID_ORDER_TTL_MIN=60)) == 1


GS = "\x1d"


def marking_code(serial: int, gtin: str = "04601234567893") -> str:
    return f"01{gtin}21{serial:013d}{GS}91EE06{GS}92" + "dGVzdA==" * 5 + "abcd"


REGISTRATION = {
    "first_name": "Иван",
    "second_name": "Петров",
    "phone_number": "8 902 516-31-11",
    "password": "secret-1",
    "email": " Ivan@Example.RU ",
}


async def register(client, **changes) -> dict:
    response = await client.post("/customers", json={**REGISTRATION, **changes})
    assert response.status_code == 201, response.text
    return response.json()


async def log_in(client, login="ivan@example.ru", password="secret-1") -> dict[str, str]:
    response = await client.post("/customers/auth", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    return auth(response.json()["Authorization"])


def xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def remains_report(lines: list[list]) -> bytes:
    """1C's "Остатки товаров на складах" report as Excel, with `lines` between head and total."""
    return xlsx(
        [
            ["Остатки товаров на складах", None, None],
            ["Период: 22.11.2026", None, None],
            [None, None, None],
            ["Номенклатура", "Характеристика.Код", "Итого\xa0по  всем складам"],
            [None, None, "шт."],
            *lines,
            ["Итого", None, 999],
        ]
    )


async def exchange_settings(client, admin_headers, folder: Path) -> dict:
    """What the 1C exchange needs: credentials, price types and a structure for new goods."""
    structure = await post(client, "/structures", {"name": "Хлопок"}, admin_headers)
    return {
        **EXCHANGE_SETTINGS,
        "ONEC_EXCHANGE_DIR": str(folder),
        "ONEC_PRICE_TYPE_ID": RETAIL,
        "ONEC_SALE_PRICE_TYPE_ID": SALE,
        "ONEC_DEFAULT_STRUCTURE_ID": structure["id"],
    }


async def first_exchange(import_file, onec_settings, version="2.10", namespace=True):
    """Import the sample catalogue and its offers into an empty shop."""
    catalog = await import_file(
        onec_settings, import_xml(CATALOGUE_GROUPS, CATALOGUE_GOODS, version, namespace)
    )
    offers = await import_file(
        onec_settings, offers_xml(catalogue_offers(), version, namespace), "offers.xml"
    )
    return catalog, offers


async def good_id(db, guid: str) -> int:
    async with db.session() as session:
        return await session.scalar(select(Good.id).where(Good.one_c_guid == guid))


async def snapshot(db) -> dict:
    """Every row an import may write, to show that a failed file changed nothing."""
    tables = ("categories", "goods", "variations", "colors", "sizes", "outbox", "catalog_state")
    async with db.session() as session:
        return {
            table: (await session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))).all()
            for table in tables
        }


async def make_due(db) -> None:
    """Let the outbox's retry delays pass."""
    async with db.begin() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))


async def outbox_payloads(db, topic: str) -> list[dict]:
    """Payloads of the outbox rows of one topic, oldest first."""
    async with db.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.topic == topic)
            .order_by(OutboxMessage.id)
        )
        return list(rows)
