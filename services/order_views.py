"""Read models of orders: OrderFull and OrderBasic views built in a fixed number of queries."""

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
from db.queries.orders import CONTACT_KEYS
from helpers.timestamps import format_timestamp


async def full_orders(session: AsyncSession, orders: list[Order]) -> list[dict]:
    """OrderFull for many orders in a fixed number of queries."""
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
    variations = {row[0].id: _variation_view(*row) for row in variation_rows}
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
            {
                **line_view(line),
                "order_id": line.order_id,
                "variation": variations.get(line.variation_id),
            }
        )
    return [
        {
            **basic_view(order),
            "customer": _customer_short(customers.get(order.customer_id)),
            "status": {"id": order.status_id, "name": statuses[order.status_id].name},
            "delivery_type": {
                "id": order.delivery_type_id,
                "name": delivery_types[order.delivery_type_id].name,
            },
            "contact": {key: getattr(order, f"contact_{key}") for key in CONTACT_KEYS},
            "variations": lines_by_order[order.id],
        }
        for order in orders
    ]


def basic_view(order: Order) -> dict:
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "is_payed": order.is_payed,
        "status_id": order.status_id,
        "delivery_type_id": order.delivery_type_id,
        "sberbank_id": order.sberbank_id,
        "city": order.city,
        "street": order.street,
        "house_number": order.house_number,
        "apartment": order.apartment,
        "other_info": order.other_info,
        "is_cash_payment": order.is_cash_payment,
        "delivery_address": order.delivery_address,
        "delivery_cost": order.delivery_cost,
        "created_at": format_timestamp(order.created_at),
        "total_sum": order.total_sum,
        "refunded_sum": order.refunded_kopecks // 100,
        "payment_state": payment_state(order),
    }


def payment_state(order) -> str:
    """`unpaid`, `paid`, `partially_refunded` or `refunded`."""
    return order.payment_state or ("paid" if order.is_payed else "unpaid")


def line_view(line: OrderLine) -> dict:
    return {
        "id": line.id,
        "variation_id": line.variation_id,
        "amount": line.amount,
        "current_price": line.current_price,
    }


def variation_fields(variation: Variation) -> dict:
    """The Variation object of the API; `amount` is what can be sold."""
    return {
        "id": variation.id,
        "good_id": variation.good_id,
        "name": variation.name,
        "color_id": variation.color_id,
        "size_id": variation.size_id,
        "price": variation.price,
        "discounted_price": variation.discounted_price,
        "variation_1c_id": variation.variation_1c_id,
        "amount": max(variation.stock - variation.reserved, 0),
        "barcode": variation.barcode,
        "is_sale": variation.is_sale,
        "is_new": variation.is_new,
        "stock": variation.stock,
        "reserved": variation.reserved,
    }


def _variation_view(variation, good, category, color, size) -> dict:
    return {
        **variation_fields(variation),
        "good": {
            "id": good.id,
            "name": good.name,
            "article": good.article,
            "good_1c_id": good.good_1c_id,
            "category_id": good.category_id,
            "barcode": good.barcode,
            "structure_id": good.structure_id,
            "products_care_id": good.products_care_id,
            "description": good.description,
            "is_visible": good.is_visible,
            "default_variation": good.default_variation,
            "weight": float(good.weight) if good.weight is not None else None,
            "category": {"id": category.id, "name": category.name, "parent_id": category.parent_id},
        },
        "color": {"id": color.id, "name": color.name, "code": color.code},
        "size": {"id": size.id, "name": size.name},
    }


def _customer_short(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    return {
        "id": customer.id,
        "login": customer.login,
        "first_name": customer.first_name,
        "second_name": customer.second_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "phone_number": customer.phone_number,
    }
