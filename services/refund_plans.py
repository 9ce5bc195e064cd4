"""What a refund returns: the order's refundable lines, the plan of a request and its fiscal
refund receipt, which never asks for more than is left of the payment."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeliveryType, Order
from db.queries.refunds import lines_with_names, open_refunds
from helpers.money import line_amount, to_kopecks, to_rubles
from services.errors import Conflict
from services.receipts import receipt_items

OVER_REFUND = "Refund exceeds the paid amount"


@dataclass
class RefundableLine:
    """An order line as a refund sees it: `taken` units are refunded or being refunded."""

    line_id: int
    variation_id: int
    name: str
    price: int
    quantity: int
    taken: int = 0

    @property
    def left(self) -> int:
        return self.quantity - self.taken


@dataclass
class RefundPlan:
    lines: list[dict]
    delivery: bool
    amount_kopecks: int
    receipt: list[dict]


def plan_refund(
    lines: list[RefundableLine],
    delivery: tuple[str, int] | None,
    delivery_taken: bool,
    left_kopecks: int,
    request: dict,
    settings,
) -> RefundPlan:
    """What a request refunds, its amount and its fiscal receipt; refuses more than is left.

    `delivery` is (name, cost) when the order charged one; `left_kopecks` is what was paid and
    is not refunded or being refunded yet. The receipt keeps the positions of the payment's.
    """
    delivery_left = delivery is not None and not delivery_taken
    if request.get("full", not request.get("lines") and not request.get("delivery")):
        wanted = {line.line_id: line.left for line in lines if line.left > 0}
        with_delivery = delivery_left
        if not wanted and not with_delivery:
            raise Conflict("Nothing left to refund")
    else:
        wanted = _wanted_lines(lines, request.get("lines", []))
        with_delivery = bool(request.get("delivery"))
        if with_delivery and not delivery_left:
            raise Conflict(OVER_REFUND, delivery_refundable=False)
    by_id = {line.line_id: line for line in lines}
    amount = sum(to_kopecks(line_amount(by_id[i].price, q)) for i, q in wanted.items())
    if with_delivery:
        amount += to_kopecks(delivery[1])
    if amount == 0:
        raise Conflict("Nothing to refund")
    if amount > left_kopecks:
        raise Conflict(OVER_REFUND, refundable_sum=to_rubles(max(left_kopecks, 0)))
    receipt = refund_receipt(lines, delivery, wanted, with_delivery, settings)
    planned = [
        {
            "line_id": line_id,
            "variation_id": by_id[line_id].variation_id,
            "quantity": quantity,
            "unit_price": by_id[line_id].price,
        }
        for line_id, quantity in sorted(wanted.items())
    ]
    return RefundPlan(planned, with_delivery, amount, receipt)


def refund_receipt(
    lines: list[RefundableLine],
    delivery: tuple[str, int] | None,
    wanted: dict[int, int],
    with_delivery: bool,
    settings,
) -> list[dict]:
    """The refunded items at the positions, names and prices the payment's receipt gave them."""
    full_receipt = receipt_items(
        [(line.name, line.quantity, line.price, line.variation_id) for line in lines],
        delivery,
        settings,
    )
    positions = {position: line.line_id for position, line in enumerate(lines, start=1)}
    receipt = []
    for item in full_receipt:
        if item["itemCode"] == "delivery":
            quantity = 1 if with_delivery else 0
        else:
            quantity = wanted.get(positions[item["positionId"]], 0)
        if quantity:
            receipt.append(
                {
                    **item,
                    "quantity": {**item["quantity"], "value": quantity},
                    "itemAmount": line_amount(item["itemPrice"], quantity),
                }
            )
    return receipt


def _wanted_lines(lines: list[RefundableLine], requested: list[dict]) -> dict[int, int]:
    by_line = {line.line_id: line for line in lines}
    by_variation = {line.variation_id: line for line in lines}
    wanted: dict[int, int] = defaultdict(int)
    missing = []
    for index, item in enumerate(requested):
        line = (
            by_line.get(item["line_id"])
            if "line_id" in item
            else by_variation.get(item["variation_id"])
        )
        if line is None:
            missing.append(index)
        else:
            wanted[line.line_id] += item["quantity"]
    if missing:
        raise Conflict("Line is not in the order", lines=missing)
    too_many = [
        {"line_id": i, "requested": q, "refundable": by_line[i].left}
        for i, q in wanted.items()
        if q > by_line[i].left
    ]
    if too_many:
        raise Conflict(OVER_REFUND, lines=too_many)
    return dict(wanted)


async def refundable_lines(session: AsyncSession, order: Order) -> list[RefundableLine]:
    rows = await session.execute(lines_with_names(order.id))
    return [
        RefundableLine(line.id, line.variation_id, name, line.current_price, line.amount)
        for line, name in rows
    ]


async def delivery_line(session: AsyncSession, order: Order) -> tuple[str, int] | None:
    if order.delivery_cost <= 0:
        return None
    delivery_type = await session.get(DeliveryType, order.delivery_type_id)
    return delivery_type.name, order.delivery_cost


async def refund_state(session: AsyncSession, order: Order):
    """The order's lines with what is taken, its delivery, whether that is taken, the open
    refunds' sum."""
    lines = await refundable_lines(session, order)
    by_id = {line.line_id: line for line in lines}
    refunds = list(await session.scalars(open_refunds(order.id)))
    for refund in refunds:
        for item in refund.lines:
            if item["line_id"] in by_id:
                by_id[item["line_id"]].taken += item["quantity"]
    delivery_taken = any(refund.delivery for refund in refunds)
    committed = sum(refund.amount_kopecks for refund in refunds)
    return lines, await delivery_line(session, order), delivery_taken, committed
