"""Building shop data over HTTP for the tests, and reading what the outbox queued."""

from __future__ import annotations

from sqlalchemy import select

from db.models import OutboxMessage


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


async def outbox_payloads(db, topic: str) -> list[dict]:
    """Payloads of the outbox rows of one topic, oldest first."""
    async with db.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.topic == topic)
            .order_by(OutboxMessage.id)
        )
        return list(rows)
