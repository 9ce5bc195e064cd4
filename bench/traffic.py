"""What the scenarios send and check: GETs, guest checkouts, the reservation check, tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bench import wrk
from bench.results import HEADER
from db.models import Order, OrderLine, Variation

NOTIFICATIONS = {
    "TELEGRAM_ORDERS_CHAT_ID": "-1001234567890",
    "EMAIL_FROM": "shop@vinterr.example",
    "EMAIL_SHOP_TO": "orders@vinterr.example",
}


def load_client() -> str:
    return "wrk (1 thread)" if wrk.available() else "async Python client (client-bound)"


def table(results) -> str:
    return "\n".join([HEADER, *(result.row() for result in results)])


def get(path: str, headers: dict | None = None):
    return lambda _index: {"method": "GET", "url": path, "headers": headers or {}}


def guest_order(index: int, phone_prefix: str, lines: list[tuple[int, int]]) -> dict:
    """A guest checkout of one unit of each (variation id, price) line; buyer `index`."""
    return {
        "method": "POST",
        "url": "/orders",
        "json": {
            "first_name": "Анна",
            "second_name": "Покупатель",
            "phone_number": f"{phone_prefix}{index:07d}",
            "email": f"buyer{phone_prefix}-{index}@example.ru",
            "delivery_type_id": 1,
            "delivery_cost": 300,
            "city": "Челябинск",
            "street": "Тополиная",
            "delivery_address": "Челябинск, Тополиная 11",
            "variations": [
                {"variation_id": vid, "amount": 1, "current_price": price} for vid, price in lines
            ],
        },
    }


@dataclass
class Reservations:
    """Stock against the orders placed during a run, read from one snapshot."""

    broken: list[int]
    reserved: int
    units_ordered: int
    orders: int

    @property
    def ok(self) -> bool:
        return not self.broken and self.reserved == self.units_ordered

    def verdict(self) -> str:
        return "OK" if self.ok else f"FAILED {self.broken}"


async def check_reservations(db, stock: int, after_order_id: int = 0) -> Reservations:
    """Each variation's reserved units equal its units in orders above `after_order_id`, and
    its stock is still the initial `stock` (reserved never above it)."""
    placed = (OrderLine.variation_id == Variation.id, OrderLine.order_id > after_order_id)
    sold = select(func.coalesce(func.sum(OrderLine.amount), 0)).where(*placed).scalar_subquery()
    orders = select(func.count()).where(Order.id > after_order_id).scalar_subquery()
    async with db.session() as session:
        # One statement, so stock, reservations, lines and orders come from one snapshot.
        rows = (
            await session.execute(
                select(Variation.id, Variation.stock, Variation.reserved, sold, orders)
            )
        ).all()
    broken = [
        vid
        for vid, left, reserved, units, _ in rows
        if left != stock or reserved != units or reserved > left
    ]
    reserved = sum(row[2] for row in rows)
    return Reservations(broken, reserved, sum(row[3] for row in rows), rows[0][4] if rows else 0)
