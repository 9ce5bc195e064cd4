"""Fiscal receipts sent with payments: the cart of an order, one position per line and delivery."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeliveryType, Order, OrderLine, Variation
from helpers.money import line_amount, to_kopecks


async def order_bundle(session: AsyncSession, settings, order: Order) -> dict:
    rows = (
        await session.execute(
            select(OrderLine, Variation.name)
            .join(Variation, Variation.id == OrderLine.variation_id)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.id)
        )
    ).all()
    delivery = None
    if order.delivery_cost > 0:
        delivery_type = await session.get(DeliveryType, order.delivery_type_id)
        delivery = (delivery_type.name, order.delivery_cost)
    lines = [(name, line.amount, line.current_price, line.variation_id) for line, name in rows]
    items = receipt_items(lines, delivery, settings)
    customer = {"email": order.contact_email, "phone": order.contact_phone_number}
    return {
        "customerDetails": {k: v for k, v in customer.items() if v},
        "cartItems": {"items": items},
    }


def receipt_items(
    lines: list[tuple[str, int, int, int]], delivery: tuple[str, int] | None, settings
) -> list[dict]:
    """Receipt lines of (name, quantity, unit price in rubles, variation id), then delivery."""
    items = [
        _cart_item(position, name, quantity, to_kopecks(price), variation_id, 1, settings)
        for position, (name, quantity, price, variation_id) in enumerate(lines, start=1)
    ]
    if delivery is not None:
        name, cost = delivery
        items.append(_cart_item(len(items) + 1, name, 1, to_kopecks(cost), "delivery", 4, settings))
    return items


def _cart_item(position, name, quantity, unit_kopecks, code, payment_object, settings) -> dict:
    return {
        "positionId": position,
        "name": name[:100],
        "quantity": {"value": quantity, "measure": "шт."},
        "itemCode": str(code),
        "itemPrice": unit_kopecks,
        "itemAmount": line_amount(unit_kopecks, quantity),
        "tax": {"taxType": settings.SBER_TAX_TYPE},
        "itemAttributes": {
            "attributes": [
                {"name": "paymentMethod", "value": "1"},
                {"name": "paymentObject", "value": str(payment_object)},
            ]
        },
    }
