"""Refunds at the gateway: the call that sends one, and what its answer does to the order
(refunded sums, stock, the event, the shop's message and the buyer's email)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, OrderLine, PaymentAttempt, Refund, Variation
from db.models.base import utcnow
from helpers.money import to_kopecks
from helpers.sberbank import GatewayRefused, GatewayUnavailable, order_bundle_json
from services import notifications
from services.orders import get_order
from services.outbox import emit_event
from services.stock import SYSTEM, Actor, Cause, release_stock

GATEWAY_MESSAGE_LIMIT = 512


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


def gateway_call(settings, refund: Refund, receipt: list[dict]) -> GatewayCall:
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
    order = await get_order(session, refund.order_id, for_update=True)
    await session.refresh(refund, with_for_update=True)
    if refund.state != "pending":
        return refund
    if outcome.state == "succeeded":
        await succeed_refund(session, settings, order, refund, outcome.code)
    elif outcome.state in ("failed", "not_sent"):
        message = outcome.message if outcome.state == "failed" else "Payment gateway unavailable"
        await fail_refund(session, settings, order, refund, outcome.code, message)
    return refund


async def succeed_refund(
    session: AsyncSession, settings, order: Order, refund: Refund, code: str | None
) -> None:
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


async def fail_refund(
    session: AsyncSession, settings, order, refund, code: str | None, message: str | None
) -> None:
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
