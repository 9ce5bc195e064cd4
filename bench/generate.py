"""Fill a database with a realistic shop, fast (bulk Core INSERTs), sizes as parameters."""

from __future__ import annotations

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
