"""Refunds and reversals of online payments: staff requests, the gateway's own refunds,
payments that arrive for cancelled orders, and the settlement of unanswered requests."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    DeliveryType,
    Order,
    OrderLine,
    PaymentAttempt,
    Refund,
    StatusChange,
    Variation,
)
from db.models.base import utcnow
from helpers.money import line_amount, to_kopecks
from helpers.sberbank import GatewayRefused, GatewayUnavailable, order_bundle_json
from helpers.timestamps import format_timestamp
from services import notifications
from services.errors import BadGateway, Conflict, NotFound, RuleViolation
from services.order_views import payment_state
from services.orders import claim_idempotency_key, remember_response
from services.outbox import emit_event, queue_message
from services.payments import receipt_items
from services.status_changes import change_status
from services.stock import SYSTEM, Actor, Cause, release_stock

log = logging.getLogger("shop.refunds")

HELD = 1
REVERSED = 3
REFUNDED = 4
OPEN_STATES = ("pending", "succeeded")
# A request without an answer is settled from the gateway's books only after this long, so a
# slow answer still on its way is never taken for a lost one.
SETTLE_AFTER = timedelta(minutes=2)
OVER_REFUND = "Refund exceeds the paid amount"
GATEWAY_MESSAGE_LIMIT = 512


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


@dataclass
class GatewayCall:
    refund_id: int
    method: str  # "refund" | "reverse"
    params: dict


@dataclass
class Outcome:
    state: str  # "succeeded" | "failed" | "pending" | "not_sent"
    code: str | None = None
    message: str | None = None


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
        raise Conflict(OVER_REFUND, refundable_sum=max(left_kopecks, 0) // 100)
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


async def _locked_order(session: AsyncSession, order_id: int) -> Order:
    order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound("Order not found")
    return order


def _order_status(status: dict) -> int | None:
    try:
        return int(status.get("orderStatus"))
    except (TypeError, ValueError):
        return None


async def _paid_attempt(session: AsyncSession, order_id: int) -> PaymentAttempt | None:
    return await session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order_id, PaymentAttempt.state == "paid")
        .order_by(PaymentAttempt.attempt.desc())
        .limit(1)
    )


async def _held_attempt(session: AsyncSession, gateway, order: Order) -> PaymentAttempt | None:
    """The latest attempt when the gateway holds its money (two-stage, not yet deposited)."""
    attempt = await session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.state == "registered")
        .order_by(PaymentAttempt.attempt.desc())
        .limit(1)
    )
    if attempt is None or attempt.gateway_order_id is None:
        return None
    try:
        status = await gateway.order_status(attempt.gateway_order_id)
    except (GatewayUnavailable, GatewayRefused):
        raise BadGateway("Payment gateway unavailable") from None
    held = _order_status(status) == HELD and status.get("amount") == attempt.amount_kopecks
    return attempt if held else None


async def _refundable_lines(session: AsyncSession, order: Order) -> list[RefundableLine]:
    rows = await session.execute(
        select(OrderLine, Variation.name)
        .join(Variation, Variation.id == OrderLine.variation_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
    )
    return [
        RefundableLine(line.id, line.variation_id, name, line.current_price, line.amount)
        for line, name in rows
    ]


async def _open_refunds(session: AsyncSession, order_id: int) -> list[Refund]:
    return list(
        await session.scalars(
            select(Refund)
            .where(Refund.order_id == order_id, Refund.state.in_(OPEN_STATES))
            .order_by(Refund.id)
        )
    )


async def _delivery(session: AsyncSession, order: Order) -> tuple[str, int] | None:
    if order.delivery_cost <= 0:
        return None
    delivery_type = await session.get(DeliveryType, order.delivery_type_id)
    return delivery_type.name, order.delivery_cost


async def _refund_state(session: AsyncSession, order: Order):
    """The order's lines with what is taken, its delivery, whether that is taken, the open
    refunds' sum."""
    lines = await _refundable_lines(session, order)
    by_id = {line.line_id: line for line in lines}
    refunds = await _open_refunds(session, order.id)
    for refund in refunds:
        for item in refund.lines:
            if item["line_id"] in by_id:
                by_id[item["line_id"]].taken += item["quantity"]
    delivery_taken = any(refund.delivery for refund in refunds)
    committed = sum(refund.amount_kopecks for refund in refunds)
    return lines, await _delivery(session, order), delivery_taken, committed


async def start_refund(
    session: AsyncSession,
    settings,
    gateway,
    order_id: int,
    staff_user_id: int | None,
    request: dict,
    key: str | None = None,
) -> tuple[int, GatewayCall | None]:
    """Record a staff refund as pending and return the gateway call to make after commit.

    A repeat with the same idempotency key returns the first refund and no call.
    """
    if key is not None:
        stored = await claim_idempotency_key(
            session, key, {**request, "refund_of": order_id, "caller": staff_user_id}
        )
        if stored is not None:
            return stored["refund_id"], None
    order = await _locked_order(session, order_id)
    kind, attempt = "refund", None
    if order.is_payed:
        attempt = await _paid_attempt(session, order.id)
        if attempt is None:
            raise Conflict("Order was not paid online")
    else:
        attempt = await _held_attempt(session, gateway, order)
        if attempt is None:
            raise Conflict("Order is not paid")
        kind = "reversal"
    lines, delivery, delivery_taken, committed = await _refund_state(session, order)
    if kind == "reversal" and (request.get("lines") or request.get("delivery") or committed):
        raise Conflict("Only a full reversal is possible while the payment is held")
    plan = plan_refund(
        lines, delivery, delivery_taken, attempt.amount_kopecks - committed, request, settings
    )
    refund = Refund(
        order_id=order.id,
        attempt_id=attempt.id,
        gateway_order_id=attempt.gateway_order_id,
        staff_user_id=staff_user_id,
        kind=kind,
        source="staff",
        state="pending",
        lines=plan.lines,
        delivery=plan.delivery,
        amount_kopecks=attempt.amount_kopecks if kind == "reversal" else plan.amount_kopecks,
        requested_at=utcnow(),
    )
    session.add(refund)
    await session.flush()
    if key is not None:
        await remember_response(session, key, order.id, {"refund_id": refund.id})
    return refund.id, _gateway_call(settings, refund, plan.receipt)


def _gateway_call(settings, refund: Refund, receipt: list[dict]) -> GatewayCall:
    if refund.kind == "reversal":
        return GatewayCall(refund.id, "reverse", {"orderId": refund.gateway_order_id})
    params = {"orderId": refund.gateway_order_id, "amount": refund.amount_kopecks}
    if settings.SBER_SEND_ORDER_BUNDLE and receipt:
        params["orderBundle"] = order_bundle_json({"cartItems": {"items": receipt}})
    return GatewayCall(refund.id, "refund", params)


async def call_gateway(gateway, call: GatewayCall) -> Outcome:
    """Send the refund; a lost answer leaves its fate to the gateway's books."""
    send = gateway.reverse if call.method == "reverse" else gateway.refund
    try:
        answer = await send(call.params)
    except GatewayRefused as exc:
        return Outcome("failed", exc.code, exc.message)
    except GatewayUnavailable as exc:
        return Outcome("pending" if exc.reached else "not_sent", None, str(exc))
    return Outcome("succeeded", str(answer.get("errorCode", "0")), answer.get("errorMessage"))


async def settle_refund(session: AsyncSession, settings, refund_id: int, outcome: Outcome):
    """Apply the gateway's answer to a pending refund; a settled one is left as it is."""
    refund = await session.get(Refund, refund_id)
    order = await _locked_order(session, refund.order_id)
    await session.refresh(refund, with_for_update=True)
    if refund.state != "pending":
        return refund
    if outcome.state == "succeeded":
        await _succeed(session, settings, order, refund, outcome.code)
    elif outcome.state in ("failed", "not_sent"):
        message = outcome.message if outcome.state == "failed" else "Payment gateway unavailable"
        await _fail(session, settings, order, refund, outcome.code, message)
    return refund


async def _succeed(session, settings, order: Order, refund: Refund, code: str | None) -> None:
    refund.state, refund.settled_at, refund.gateway_code = "succeeded", utcnow(), code or "0"
    lines = {
        line.id: line
        for line in await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
    }
    quantities: dict[int, int] = defaultdict(int)
    for item in refund.lines:
        lines[item["line_id"]].refunded_quantity += item["quantity"]
        quantities[item["variation_id"]] += item["quantity"]
    # Units handed to 1C are 1C's to count again; reserved ones come back to stock here.
    if quantities and order.reservation == "active":
        # The staff user who asked; the shop for the gateway's refunds and its own.
        actor = Actor("staff", refund.staff_user_id) if refund.staff_user_id else SYSTEM
        cause = Cause("refund_return", actor, order_id=order.id)
        await release_stock(session, dict(quantities), cause)
        refund.restocked = True
    attempt = await session.get(PaymentAttempt, refund.attempt_id) if refund.attempt_id else None
    paid = attempt.amount_kopecks if attempt else to_kopecks(order.total_sum)
    if refund.kind == "reversal" and attempt is not None:
        attempt.state = "failed"
    order.refunded_kopecks += refund.amount_kopecks
    order.payment_state = "refunded" if order.refunded_kopecks >= paid else "partially_refunded"
    await session.flush()
    await emit_event(
        session,
        "OrderRefunded",
        order_id=order.id,
        refund_id=refund.id,
        kind=refund.kind,
        amount_kopecks=refund.amount_kopecks,
        source=refund.source,
        restocked=refund.restocked,
    )
    names = {
        variation_id: name
        for variation_id, name in await session.execute(
            select(Variation.id, Variation.name).where(Variation.id.in_(quantities))
        )
    }
    rows = [
        (names.get(item["variation_id"], ""), item["quantity"], item["unit_price"])
        for item in refund.lines
    ]
    await notifications.notify_refund(session, settings, order, refund, rows)


async def _fail(session, settings, order, refund, code: str | None, message: str | None) -> None:
    refund.state, refund.settled_at = "failed", utcnow()
    refund.gateway_code = code
    refund.gateway_message = (message or "")[:GATEWAY_MESSAGE_LIMIT] or None
    if refund.source == "auto":
        await notifications.notify_staff(
            session,
            settings,
            "refund_failed",
            f"<b>Не удалось вернуть оплату заказа №{order.id}</b>\n"
            f"Сумма: {notifications.rubles_text(refund.amount_kopecks)} руб.\n"
            f"Шлюз: {notifications.escape(refund.gateway_message)}\n"
            "Верните деньги в личном кабинете шлюза.",
        )


def refund_view(refund: Refund, order: Order) -> dict:
    return {
        "id": refund.id,
        "order_id": refund.order_id,
        "kind": refund.kind,
        "source": refund.source,
        "state": refund.state,
        "amount": refund.amount_kopecks // 100,
        "amount_kopecks": refund.amount_kopecks,
        "delivery": refund.delivery,
        "lines": refund.lines,
        "restocked": refund.restocked,
        "staff_user_id": refund.staff_user_id,
        "gateway_code": refund.gateway_code,
        "gateway_message": refund.gateway_message,
        "created_at": format_timestamp(refund.created_at),
        "settled_at": format_timestamp(refund.settled_at) if refund.settled_at else None,
        "refunded_sum": order.refunded_kopecks // 100,
        "payment_state": payment_state(order),
    }


async def read_refund(session: AsyncSession, refund_id: int) -> dict:
    refund = await session.get(Refund, refund_id)
    order = await session.get(Order, refund.order_id)
    await session.refresh(refund)
    await session.refresh(order)
    return refund_view(refund, order)


async def order_refunds(session: AsyncSession, order_id: int) -> list[dict]:
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound("Order not found")
    refunds = await session.scalars(
        select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)
    )
    return [refund_view(refund, order) for refund in refunds]


def gateway_refunded(status: dict, paid_kopecks: int) -> int:
    """What the gateway's books say went back to the buyer, in kopecks."""
    info = status.get("paymentAmountInfo")
    if isinstance(info, dict) and isinstance(info.get("refundedAmount"), int):
        return info["refundedAmount"]
    return paid_kopecks if _order_status(status) in (REVERSED, REFUNDED) else 0


async def record_gateway_refunds(
    session: AsyncSession, settings, order: Order, attempt: PaymentAttempt, status: dict
) -> None:
    """Money the gateway returned that no refund of ours explains (e.g. from its cabinet)."""
    lines, delivery, delivery_taken, committed = await _refund_state(session, order)
    unexplained = gateway_refunded(status, attempt.amount_kopecks) - committed
    if unexplained <= 0:
        return
    plan = None
    if committed + unexplained >= attempt.amount_kopecks:
        # All the money is back, so are the goods not refunded yet, even when an earlier refund
        # from the cabinet named no goods and the sums of the lines no longer match.
        try:
            plan = plan_refund(
                lines, delivery, delivery_taken, attempt.amount_kopecks, {"full": True}, settings
            )
        except Conflict:
            plan = None
    refund = Refund(
        order_id=order.id,
        attempt_id=attempt.id,
        gateway_order_id=attempt.gateway_order_id,
        kind="reversal" if _order_status(status) == REVERSED else "refund",
        source="gateway",
        state="pending",
        lines=plan.lines if plan else [],
        delivery=plan.delivery if plan else False,
        amount_kopecks=unexplained,
    )
    session.add(refund)
    await session.flush()
    await _succeed(session, settings, order, refund, None)
    if plan is None:
        await notifications.notify_staff(
            session,
            settings,
            "refund_without_lines",
            f"<b>Частичный возврат по заказу №{order.id} из кабинета шлюза</b>\n"
            f"Сумма: {notifications.rubles_text(unexplained)} руб. Остатки не изменены: "
            "проверьте, какие товары вернулись.",
        )


async def reopen_paid_order(
    session: AsyncSession, settings, order: Order, attempt: PaymentAttempt | None
) -> None:
    """A payment for a cancelled order: reserve its goods again and reopen it, or, when the
    goods are gone, tell staff and give the money back."""
    cancelled = set(settings.ORDER_CANCELLED_STATUS_IDS)
    previous = await session.scalar(
        select(StatusChange.status_id)
        .where(StatusChange.order_id == order.id, StatusChange.status_id.not_in(cancelled))
        .order_by(StatusChange.created_at.desc(), StatusChange.id.desc())
        .limit(1)
    )
    reopened_status = previous or settings.ORDER_INITIAL_STATUS_ID
    try:
        async with session.begin_nested():
            await change_status(session, settings, order, reopened_status, SYSTEM)
    except RuleViolation:
        await session.refresh(order)
    else:
        await notifications.notify_staff(
            session,
            settings,
            "paid_after_cancel",
            f"<b>Заказ №{order.id} оплачен после отмены</b>\n"
            "Товары снова зарезервированы, заказ возвращён в работу.",
        )
        return
    await notifications.notify_staff(
        session,
        settings,
        "paid_after_cancel",
        f"<b>Заказ №{order.id} оплачен после отмены, товара уже нет</b>\n"
        "Оплата возвращается покупателю автоматически.",
    )
    if attempt is None:
        return
    lines, delivery, delivery_taken, committed = await _refund_state(session, order)
    try:
        plan = plan_refund(
            lines,
            delivery,
            delivery_taken,
            attempt.amount_kopecks - committed,
            {"full": True},
            settings,
        )
    except Conflict:
        # The order was edited after payment and its lines no longer add up to the payment.
        await notifications.notify_staff(
            session,
            settings,
            "refund_failed",
            f"<b>Оплату заказа №{order.id} нужно вернуть вручную</b>\n"
            "Сумма заказа изменилась после оплаты.",
        )
        return
    refund = Refund(
        order_id=order.id,
        attempt_id=attempt.id,
        gateway_order_id=attempt.gateway_order_id,
        kind="refund",
        source="auto",
        state="pending",
        lines=plan.lines,
        delivery=plan.delivery,
        amount_kopecks=plan.amount_kopecks,
    )
    session.add(refund)
    await session.flush()
    await queue_message(session, "refund", "refund_submit", {"refund_id": refund.id})


async def submit_refund_job(db, settings, payload: dict, gateway) -> None:
    """Send an automatic refund once; raises (to be retried) while the gateway cannot be
    reached, and leaves an unanswered one to the reconciliation."""
    async with db.begin() as session:
        refund = await session.get(Refund, payload["refund_id"], with_for_update=True)
        if refund is None or refund.state != "pending" or refund.requested_at is not None:
            return
        order = await session.get(Order, refund.order_id)
        wanted = {item["line_id"]: item["quantity"] for item in refund.lines}
        receipt = refund_receipt(
            await _refundable_lines(session, order),
            await _delivery(session, order),
            wanted,
            refund.delivery,
            settings,
        )
        call = _gateway_call(settings, refund, receipt)
        refund.requested_at = utcnow()
    outcome = await call_gateway(gateway, call)
    async with db.begin() as session:
        if outcome.state != "not_sent":
            await settle_refund(session, settings, refund.id, outcome)
            return
        stored = await session.get(Refund, refund.id, with_for_update=True)
        stored.requested_at = None
    raise GatewayUnavailable(outcome.message or "not sent", reached=False)


async def reconcile_refunds(db, settings, gateway) -> int:
    """Settle refunds left without an answer from what the gateway's books say."""
    settled_before = utcnow() - SETTLE_AFTER
    async with db.session() as session:
        gateway_orders = list(
            await session.scalars(
                select(Refund.gateway_order_id)
                .where(
                    Refund.state == "pending",
                    Refund.requested_at.is_not(None),
                    Refund.requested_at < settled_before,
                )
                .distinct()
            )
        )
    settled = 0
    for gateway_order_id in gateway_orders:
        try:
            status = await gateway.order_status(gateway_order_id)
        except (GatewayUnavailable, GatewayRefused):
            log.warning("refund reconciliation: gateway unavailable for %s", gateway_order_id)
            continue
        async with db.begin() as session:
            settled += await _settle_from_books(
                session, settings, gateway_order_id, status, settled_before
            )
    return settled


async def _settle_from_books(session, settings, gateway_order_id, status, settled_before) -> int:
    order_id = await session.scalar(
        select(Refund.order_id).where(Refund.gateway_order_id == gateway_order_id).limit(1)
    )
    order = await _locked_order(session, order_id)
    refunds = list(
        await session.scalars(
            select(Refund)
            .where(Refund.gateway_order_id == gateway_order_id, Refund.state.in_(OPEN_STATES))
            .order_by(Refund.id)
        )
    )
    attempt = await session.get(PaymentAttempt, refunds[0].attempt_id)
    paid = attempt.amount_kopecks if attempt else to_kopecks(order.total_sum)
    unexplained = gateway_refunded(status, paid) - sum(
        refund.amount_kopecks for refund in refunds if refund.state == "succeeded"
    )
    settled = 0
    for refund in refunds:
        if refund.state != "pending" or refund.requested_at is None:
            continue
        if refund.requested_at >= settled_before:
            unexplained -= refund.amount_kopecks
            continue
        if refund.kind == "reversal":
            done = _order_status(status) == REVERSED
        else:
            done = unexplained >= refund.amount_kopecks
        if done:
            unexplained -= refund.amount_kopecks
            await _succeed(session, settings, order, refund, None)
        else:
            await _fail(session, settings, order, refund, None, "Refund not found at the gateway")
        settled += 1
    return settled
