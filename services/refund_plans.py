"""What a refund returns: the order's refundable lines, the plan of a request and its fiscal
refund receipt, which repeats the payment's positions and never asks for more than is left."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeliveryType, Order, PaymentAttempt
from db.queries.refunds import lines_with_names, open_refunds
from helpers.fiscal import ReceiptLine, Returned, items_total, payment_positions, refund_items
from helpers.money import to_rubles
from services.errors import Conflict
from services.receipts import delivery_receipt_line

OVER_REFUND = "Refund exceeds the paid amount"


@dataclass
class RefundableLine:
    """An order line as a refund sees it: `taken` units are refunded or being refunded, the
    labelled ones among them by their marking codes in `taken_codes`."""

    line_id: int
    variation_id: int
    name: str
    price: int
    quantity: int
    taken: int = 0
    taken_codes: set[str] = field(default_factory=set)

    @property
    def left(self) -> int:
        return self.quantity - self.taken


@dataclass
class RefundPlan:
    lines: list[dict]
    delivery: bool
    amount_kopecks: int
    receipt: list[dict]


@dataclass
class RefundState:
    """An order's refundable lines, its delivery (name, cost) and whether it is taken, the sum
    of its open refunds, and the positions of the payment's receipt."""

    lines: list[RefundableLine]
    delivery: tuple[str, int] | None
    delivery_taken: bool
    committed: int
    positions: list[dict]


def plan_refund(
    lines: list[RefundableLine],
    delivery: tuple[str, int] | None,
    delivery_taken: bool,
    left_kopecks: int,
    request: dict,
    settings,
    positions: list[dict] | None = None,
) -> RefundPlan:
    """What a request refunds, its amount and its fiscal receipt; refuses more than is left.

    `delivery` is (name, cost) when the order charged one; `left_kopecks` is what was paid and
    is not refunded or being refunded yet. `positions` are the payment receipt's (rebuilt
    from the lines when the payment kept none); the refund receipt repeats them, so the amount
    is what the payment charged for the returned units.
    """
    if positions is None:
        positions = rebuilt_positions(lines, delivery, settings)
    delivery_left = any(p["line_id"] is None for p in positions) and not delivery_taken
    named: dict[int, list[str]] = {}
    if request.get("full", not request.get("lines") and not request.get("delivery")):
        wanted = {line.line_id: line.left for line in lines if line.left > 0}
        with_delivery = delivery_left
        if not wanted and not with_delivery:
            raise Conflict("Nothing left to refund")
    else:
        wanted, named = _wanted_lines(lines, request.get("lines", []))
        with_delivery = bool(request.get("delivery"))
        if with_delivery and not delivery_left:
            raise Conflict(OVER_REFUND, delivery_refundable=False)
    returned = _returned_units(lines, positions, wanted, named)
    receipt = refund_items(positions, returned, with_delivery)
    amount = items_total(receipt)
    if amount == 0:
        raise Conflict("Nothing to refund")
    if amount > left_kopecks:
        raise Conflict(OVER_REFUND, refundable_sum=to_rubles(max(left_kopecks, 0)))
    by_id = {line.line_id: line for line in lines}
    planned = []
    for line_id, quantity in sorted(wanted.items()):
        item = {
            "line_id": line_id,
            "variation_id": by_id[line_id].variation_id,
            "quantity": quantity,
            "unit_price": by_id[line_id].price,
        }
        if returned[line_id].marking_codes:
            item["marking_codes"] = returned[line_id].marking_codes
        planned.append(item)
    return RefundPlan(planned, with_delivery, amount, receipt)


def rebuilt_positions(lines: list[RefundableLine], delivery, settings) -> list[dict]:
    """The positions a payment registered without keeping its receipt had: every line at the
    shop's VAT type, then the delivery."""
    receipt_lines = [
        ReceiptLine(
            line.line_id,
            str(line.variation_id),
            line.name,
            line.quantity,
            line.price,
            settings.SBER_TAX_TYPE,
        )
        for line in lines
    ]
    if delivery is not None:
        receipt_lines.append(delivery_receipt_line(*delivery, settings))
    return payment_positions(receipt_lines, settings.SBER_FFD_VERSION)


def refund_receipt(positions: list[dict], refund_lines: list[dict], with_delivery: bool):
    """The receipt of a planned refund: its lines' units at the payment's positions."""
    returned = {
        item["line_id"]: Returned(
            list(item.get("marking_codes", ())),
            item["quantity"] - len(item.get("marking_codes", ())),
        )
        for item in refund_lines
    }
    return refund_items(positions, returned, with_delivery)


def _wanted_lines(
    lines: list[RefundableLine], requested: list[dict]
) -> tuple[dict[int, int], dict[int, list[str]]]:
    """Units by line and the marking codes named for them."""
    by_line = {line.line_id: line for line in lines}
    by_variation = {line.variation_id: line for line in lines}
    wanted: dict[int, int] = defaultdict(int)
    named: dict[int, list[str]] = defaultdict(list)
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
            named[line.line_id] += item.get("marking_codes", [])
    if missing:
        raise Conflict("Line is not in the order", lines=missing)
    too_many = [
        {"line_id": i, "requested": q, "refundable": by_line[i].left}
        for i, q in wanted.items()
        if q > by_line[i].left
    ]
    if too_many:
        raise Conflict(OVER_REFUND, lines=too_many)
    return dict(wanted), dict(named)


def _returned_units(
    lines: list[RefundableLine],
    positions: list[dict],
    wanted: dict[int, int],
    named: dict[int, list[str]],
) -> dict[int, Returned]:
    """Which units of each line go back: the named codes, then units without a code; a line
    whose coded units would have to be guessed is refused."""
    by_id = {line.line_id: line for line in lines}
    on_receipt: dict[int, list[str]] = defaultdict(list)
    for position in positions:
        if position["line_id"] is not None and position["marking_code"] is not None:
            on_receipt[position["line_id"]].append(position["marking_code"])
    returned: dict[int, Returned] = {}
    not_refundable, unnamed = [], []
    for line_id, quantity in wanted.items():
        line, codes = by_id[line_id], on_receipt.get(line_id, [])
        codes_left = [code for code in codes if code not in line.taken_codes]
        uncoded_left = line.left - len(codes_left)
        names = named.get(line_id, [])
        wrong = [code for code in names if code not in codes_left or names.count(code) > 1]
        if wrong:
            not_refundable.append({"line_id": line_id, "marking_codes": sorted(set(wrong))})
        elif quantity - len(names) <= uncoded_left:
            returned[line_id] = Returned(list(names), quantity - len(names))
        elif quantity == line.left:
            returned[line_id] = Returned(codes_left, uncoded_left)
        else:
            left = [code for code in codes_left if code not in names]
            unnamed.append({"line_id": line_id, "marking_codes": left})
    if not_refundable:
        raise Conflict("Marking code is not refundable", lines=not_refundable)
    if unnamed:
        raise Conflict("Name the marking codes of the returned units", lines=unnamed)
    return returned


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


async def refund_state(
    session: AsyncSession, settings, order: Order, attempt: PaymentAttempt | None
) -> RefundState:
    """What of the order's payment by `attempt` is refunded or being refunded."""
    lines = await refundable_lines(session, order)
    by_id = {line.line_id: line for line in lines}
    refunds = list(await session.scalars(open_refunds(order.id)))
    for refund in refunds:
        for item in refund.lines:
            if item["line_id"] in by_id:
                by_id[item["line_id"]].taken += item["quantity"]
                by_id[item["line_id"]].taken_codes.update(item.get("marking_codes", ()))
    delivery_taken = any(refund.delivery for refund in refunds)
    committed = sum(refund.amount_kopecks for refund in refunds)
    delivery = await delivery_line(session, order)
    kept = attempt.receipt if attempt is not None else None
    positions = kept or rebuilt_positions(lines, delivery, settings)
    return RefundState(lines, delivery, delivery_taken, committed, positions)
