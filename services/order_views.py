"""Orders as they are read: each with the rows it refers to, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Category,
    Color,
    Customer,
    DeliveryType,
    Good,
    Order,
    OrderLine,
    Size,
    Status,
    Variation,
)
from db.prepared import Extended
from helpers import money


async def full_orders(session: AsyncSession, orders: list[Order]) -> list[Extended]:
    """Each order with its customer, status, delivery type and lines (each line with its
    variation, the variation's good, category, color and size), in a fixed number of queries."""
    if not orders:
        return []
    order_ids = [order.id for order in orders]
    lines = list(
        await session.scalars(
            select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)
        )
    )
    variation_rows = (
        await session.execute(
            select(Variation, Good, Category, Color, Size)
            .join(Good, Good.id == Variation.good_id)
            .join(Category, Category.id == Good.category_id)
            .join(Color, Color.id == Variation.color_id)
            .join(Size, Size.id == Variation.size_id)
            .where(Variation.id.in_({line.variation_id for line in lines}))
        )
    ).all()
    variations = {
        variation.id: Extended(
            variation, good=Extended(good, category=category), color=color, size=size
        )
        for variation, good, category, color, size in variation_rows
    }
    customer_ids = {order.customer_id for order in orders if order.customer_id}
    customers = {
        customer.id: customer
        for customer in await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    }
    statuses = {s.id: s for s in await session.scalars(select(Status))}
    delivery_types = {d.id: d for d in await session.scalars(select(DeliveryType))}
    lines_by_order = defaultdict(list)
    for line in lines:
        lines_by_order[line.order_id].append(
            Extended(line, variation=variations.get(line.variation_id))
        )
    return [
        Extended(
            order,
            customer=customers.get(order.customer_id),
            status=statuses[order.status_id],
            delivery_type=delivery_types[order.delivery_type_id],
            variations=lines_by_order[order.id],
        )
        for order in orders
    ]


def payment_state(order) -> str:
    """`unpaid`, `paid`, `partially_refunded` or `refunded`."""
    return money.payment_state(order.payment_state, order.is_payed)
