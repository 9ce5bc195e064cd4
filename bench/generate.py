"""Fill a database with a realistic shop, fast (bulk Core INSERTs), sizes as parameters."""

from __future__ import annotations

import os
import random
from datetime import timedelta

from sqlalchemy import insert, text

from db.models import (
    ActivityEvent,
    Category,
    Color,
    Customer,
    DeliveryType,
    Good,
    Image,
    Order,
    OrderLine,
    ProductsCare,
    Size,
    Status,
    StatusChange,
    StockMovement,
    Structure,
    Variation,
)
from db.models.base import utcnow

KINDS = ["Платье", "Блузка", "Юбка", "Жакет", "Брюки", "Кардиган", "Пальто", "Сарафан"]
COLORS = [
    ("Чёрный", "#000000"),
    ("Белый", "#ffffff"),
    ("Красный", "#d32f2f"),
    ("Синий", "#1976d2"),
    ("Бежевый", "#d7ccc8"),
    ("Зелёный", "#388e3c"),
]
SIZES = ["42", "44", "46", "48", "50", "52", "54", "56"]
CHUNK = 5000


async def _bulk(session, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start : start + CHUNK])


async def fill_shop(
    db,
    goods: int = 500,
    variations_per_good: int = 4,
    images_per_variation=2,
    customers: int = 1000,
    orders: int = 1000,
    stock: int = 50,
    seed: int = 7,
    categories: int = 1 + len(KINDS),
) -> dict:
    """`categories`: the root and the kinds of clothing, then collections under the root."""
    rng = random.Random(seed)
    now = utcnow()
    async with db.begin() as session:
        await _bulk(
            session,
            Category,
            [{"id": 1, "name": "Женская одежда"}]
            + [{"id": i + 2, "name": kind, "parent_id": 1} for i, kind in enumerate(KINDS)]
            + [
                {"id": i, "name": f"Коллекция {i}", "parent_id": 1}
                for i in range(len(KINDS) + 2, categories + 1)
            ],
        )
        await _bulk(
            session, Structure, [{"id": i + 1, "name": f"Хлопок {100 - i * 5}%"} for i in range(6)]
        )
        await _bulk(session, ProductsCare, [{"id": 1, "name": "Деликатная стирка 30°"}])
        await _bulk(
            session, Color, [{"id": i + 1, "name": n, "code": c} for i, (n, c) in enumerate(COLORS)]
        )
        await _bulk(session, Size, [{"id": i + 1, "name": s} for i, s in enumerate(SIZES)])
        await _bulk(
            session,
            Status,
            [
                {"id": 1, "name": "Новый"},
                {"id": 2, "name": "Отменён"},
                {"id": 3, "name": "Передан в 1С"},
            ],
        )
        await _bulk(
            session,
            DeliveryType,
            [{"id": 1, "name": "Курьер", "cost": 300}, {"id": 2, "name": "СДЭК", "cost": None}],
        )
        await _bulk(
            session,
            Good,
            [
                {
                    "id": g,
                    "name": f"{KINDS[g % len(KINDS)]} «Модель {g}»",
                    "article": f"VN-{g:05d}",
                    "category_id": 2 + g % len(KINDS),
                    "structure_id": 1 + g % 6,
                    "products_care_id": 1,
                    "description": "Лёгкая ткань, свободный крой.",
                    "weight": 0.4,
                }
                for g in range(1, goods + 1)
            ],
        )
        variation_rows, image_rows = [], []
        for g in range(1, goods + 1):
            for v in range(variations_per_good):
                vid = (g - 1) * variations_per_good + v + 1
                variation_rows.append(
                    {
                        "id": vid,
                        "good_id": g,
                        "name": f"Модель {g} / {v}",
                        "color_id": 1 + (g + v // 2) % len(COLORS),
                        "size_id": 1 + v % len(SIZES),
                        "price": rng.choice([1990, 2990, 4990, 7990]),
                        "stock": stock,
                        "variation_1c_id": f"{vid:09d}",
                    }
                )
                image_rows.extend(
                    {"variation_id": vid, "url": f"{vid % 256:02x}/{vid:08d}{i}.webp"}
                    for i in range(images_per_variation)
                )
        await _bulk(session, Variation, variation_rows)
        # Opened as the migration opens existing variations: the movements add up to the stock.
        await _bulk(
            session,
            StockMovement,
            [
                {
                    "variation_id": row["id"],
                    "delta_stock": stock,
                    "delta_reserved": 0,
                    "stock": stock,
                    "reserved": 0,
                    "reason": "opening",
                    "actor_kind": "system",
                }
                for row in variation_rows
            ],
        )
        await _bulk(session, Image, image_rows)
        await _bulk(
            session,
            Customer,
            [
                {
                    "id": c,
                    "first_name": "Покупатель",
                    "second_name": f"№{c}",
                    "phone_number": f"7900{c:07d}",
                    "email": f"buyer{c}@example.ru",
                    "is_registered": c % 3 == 0,
                    "source": "site" if c % 3 == 0 else "guest_order",
                }
                for c in range(1, customers + 1)
            ],
        )
        order_rows, line_rows, change_rows = [], [], []
        for o in range(1, orders + 1):
            vid = rng.randint(1, len(variation_rows))
            price = variation_rows[vid - 1]["price"]
            created = now - timedelta(minutes=o)
            order_rows.append(
                {
                    "id": o,
                    "customer_id": 1 + o % customers,
                    "status_id": 1,
                    "delivery_type_id": 1,
                    "delivery_cost": 300,
                    "total_sum": price + 300,
                    "contact_first_name": "Покупатель",
                    "contact_second_name": f"№{o}",
                    "reservation": "consumed",
                    "created_at": created,
                }
            )
            line_rows.append(
                {"order_id": o, "variation_id": vid, "amount": 1, "current_price": price}
            )
            change_rows.append({"order_id": o, "status_id": 1, "created_at": created})
        await _bulk(session, Order, order_rows)
        await _bulk(session, OrderLine, line_rows)
        await _bulk(session, StatusChange, change_rows)
        if db.dialect == "postgresql":
            for table in (
                "categories",
                "structures",
                "colors",
                "sizes",
                "statuses",
                "delivery_types",
                "goods",
                "variations",
                "customers",
                "orders",
                "products_care",
            ):
                await session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    await analyze(db)
    return {
        "categories": max(categories, 1 + len(KINDS)),
        "goods": goods,
        "variations": len(variation_rows),
        "images": len(image_rows),
        "customers": customers,
        "orders": orders,
    }


async def fill_events(db, count: int, customers: int, days: int = 90) -> None:
    """Activity events spread over `days` days; generate_series on PostgreSQL."""
    async with db.begin() as session:
        if db.dialect == "postgresql":
            await session.execute(
                text(
                    "INSERT INTO activity_events "
                    "(type, customer_id, data, created_at, created_day) "
                    "SELECT kind, customer_id, NULL, moment, (moment AT TIME ZONE 'UTC')::date "
                    "FROM (SELECT (ARRAY['page.view','cart.add','search','order_created'])"
                    f"[1 + i % 4] AS kind, 1 + i % {customers} AS customer_id, "
                    f"now() - ((i % ({days} * 1440)) * interval '1 minute') AS moment "
                    f"FROM generate_series(1, {count}) AS i) AS generated"
                )
            )
        else:
            now = utcnow()
            moments = [now - timedelta(minutes=i % (days * 1440)) for i in range(count)]
            rows = [
                {
                    "type": ["page.view", "cart.add", "search", "order_created"][i % 4],
                    "customer_id": 1 + i % customers,
                    "created_at": moment,
                    "created_day": moment.date(),
                }
                for i, moment in enumerate(moments)
            ]
            await _bulk(session, ActivityEvent, rows)
    await analyze(db, "activity_events")


async def analyze(db, table: str = "") -> None:
    """Planner statistics after a bulk load, as autovacuum would gather them a little later."""
    if db.dialect != "postgresql":
        return
    async with db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(f"VACUUM ANALYZE {table}".strip()))


ONEC_RETAIL = "bd72d8f9-55bc-11d9-848a-00112f43529a"
ONEC_SALE = "5c3e1a7e-8d2f-11e9-80f0-0050569c2a11"
ONEC_STORES = ("2f1c9a10-6a3b-11e8-80e3-0050569c2a11", "8e4d0b52-6a3b-11e8-80e3-0050569c2a11")
_ONEC_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация '
    'xmlns="urn:1C.ru:commerceml_2" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'ВерсияСхемы="2.07" ДатаФормирования="2026-11-22T03:00:00">\n'
)


def _guid(kind: int, index: int) -> str:
    return f"{index:08x}-{kind:04x}-4c1c-8000-{index * 7919 % 16**12:012x}"


def _offer_id(good: int, offer: int) -> str:
    return f"{_guid(1, good)}#{_guid(2, good * 8 + offer)}"


def write_commerceml(folder, goods: int, offers_per_good: int, changes: int) -> dict:
    """import.xml, offers.xml and a changes-only changes.xml as 1C 2.07 writes them (two price
    types, the sale one on the first offer of each good; two warehouses), streamed to disk;
    returns their sizes in bytes."""
    groups = [(_guid(3, i), kind) for i, kind in enumerate(KINDS)]
    with open(f"{folder}/import.xml", "w", encoding="utf-8") as out:
        out.write(
            _ONEC_HEAD + "<Классификатор><Ид>c0</Ид><Наименование>Классификатор</Наименование>"
        )
        out.write(f"<Группы><Группа><Ид>{_guid(3, 99)}</Ид><Наименование>Женская одежда")
        out.write("</Наименование><Группы>")
        for group_id, name in groups:
            out.write(f"<Группа><Ид>{group_id}</Ид><Наименование>{name}</Наименование></Группа>")
        out.write(
            '</Группы></Группа></Группы></Классификатор><Каталог СодержитТолькоИзменения="false">'
        )
        out.write("<Ид>c0</Ид><ИдКлассификатора>c0</ИдКлассификатора><Товары>\n")
        for g in range(goods):
            kind = KINDS[g % len(KINDS)]
            out.write(
                f"<Товар><Ид>{_guid(1, g)}</Ид><Штрихкод>46{g:011d}</Штрихкод>"
                f"<Артикул>VN-{g:05d}</Артикул><Наименование>{kind} «Модель {g}»</Наименование>"
                '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение='
                f'"PCE">шт</БазоваяЕдиница><Группы><Ид>{groups[g % len(groups)][0]}</Ид></Группы>'
                f"<Описание>{kind} из мягкой ткани, свободный крой, длина миди. Состав: хлопок "
                "95%, эластан 5%.</Описание>"
                "<ЗначенияСвойств><ЗначенияСвойства><Ид>season</Ид><Значение>Лето</Значение>"
                "</ЗначенияСвойства></ЗначенияСвойств><ЗначенияРеквизитов>"
                + "".join(
                    f"<ЗначениеРеквизита><Наименование>{name}</Наименование><Значение>{value}"
                    "</Значение></ЗначениеРеквизита>"
                    for name, value in (
                        ("ВидНоменклатуры", "Одежда"),
                        ("ТипНоменклатуры", "Товар"),
                        ("Вес", f"0.{300 + g % 500}"),
                    )
                )
                + "</ЗначенияРеквизитов></Товар>\n"
            )
        out.write("</Товары></Каталог></КоммерческаяИнформация>\n")
    offers = [(g, o) for g in range(goods) for o in range(offers_per_good)]
    _write_offers(f"{folder}/offers.xml", offers, False, 0)
    _write_offers(f"{folder}/changes.xml", offers[: changes * 7 : 7], True, 1)
    return {name: os.path.getsize(f"{folder}/{name}") for name in ("import.xml", "offers.xml")}


def _write_offers(path: str, offers: list[tuple[int, int]], changes_only: bool, shift: int):
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            f'{_ONEC_HEAD}<ПакетПредложений СодержитТолькоИзменения="{str(changes_only).lower()}">'
            "<Ид>c0#</Ид><Наименование>Пакет предложений</Наименование><ИдКаталога>c0"
            "</ИдКаталога><ТипыЦен>"
        )
        for type_id, name in ((ONEC_RETAIL, "Розничная"), (ONEC_SALE, "Распродажа")):
            out.write(f"<ТипЦены><Ид>{type_id}</Ид><Наименование>{name}</Наименование>")
            out.write("<Валюта>RUB</Валюта></ТипЦены>")
        out.write("</ТипыЦен><Предложения>\n")
        for g, o in offers:
            color, _ = COLORS[(g + o) % len(COLORS)]
            size = SIZES[o % len(SIZES)]
            price = 1990 + (g % 40) * 100 + shift * 50
            stock = "".join(
                f'<Склад ИдСклада="{store}" КоличествоНаСкладе="{(g + o + i + shift) % 9}"/>'
                for i, store in enumerate(ONEC_STORES)
            )
            prices = ((ONEC_RETAIL, price), (ONEC_SALE, price - 500))[: 1 + (o == 0)]
            out.write(
                f"<Предложение><Ид>{_offer_id(g, o)}</Ид><Штрихкод>47{g:08d}{o:03d}</Штрихкод>"
                f"<Наименование>{KINDS[g % len(KINDS)]} «Модель {g}» ({color}, {size})"
                "</Наименование>"
                "<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Цвет</Наименование>"
                f"<Значение>{color}</Значение></ХарактеристикаТовара><ХарактеристикаТовара>"
                f"<Наименование>Размер</Наименование><Значение>{size}</Значение>"
                "</ХарактеристикаТовара></ХарактеристикиТовара><Цены>"
                + "".join(
                    f"<Цена><ИдТипаЦены>{type_id}</ИдТипаЦены><ЦенаЗаЕдиницу>{value}.00"
                    "</ЦенаЗаЕдиницу></Цена>"
                    for type_id, value in prices
                )
                + f"</Цены>{stock}</Предложение>\n"
            )
        out.write("</Предложения></ПакетПредложений></КоммерческаяИнформация>\n")
