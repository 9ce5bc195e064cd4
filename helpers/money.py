"""Money rules: the shop counts whole rubles, the payment gateway kopecks."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

KOPECKS_PER_RUBLE = 100


def to_kopecks(rubles: int) -> int:
    return rubles * KOPECKS_PER_RUBLE


def to_rubles(kopecks: int) -> int:
    return kopecks // KOPECKS_PER_RUBLE


def line_amount(unit_price: int, quantity: int) -> int:
    return unit_price * quantity


def lines_subtotal(lines: Iterable[tuple[int, int]]) -> int:
    """The sum of (unit price, quantity) lines, in the unit of the prices."""
    return sum(line_amount(price, quantity) for price, quantity in lines)


def order_total(lines: Iterable[tuple[int, int]], delivery_cost: int) -> int:
    """What the customer pays: the goods at their order-time prices plus delivery."""
    return lines_subtotal(lines) + delivery_cost


def payment_state(state: str | None, is_payed: bool) -> str:
    """`unpaid`, `paid`, `partially_refunded` or `refunded`: the stored state names refunds only."""
    return state or ("paid" if is_payed else "unpaid")


def whole_rubles(amount: Decimal) -> int:
    """A price in rubles and kopecks as the shop keeps it: whole rubles, half up."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
