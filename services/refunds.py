"""Staff refunds and reversals of an order's online payment, and the refunds an order shows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, PaymentAttempt, Refund
from db.models.base import utcnow
from db.prepared import Extended
from db.queries.refunds import latest_attempt_in_state
from helpers.sberbank import HELD, GatewayRefused, GatewayUnavailable, order_status_code
from services.errors import BadGateway, Conflict, NotFound
from services.orders import claim_idempotency_key, get_order, remember_response
from services.refund_plans import plan_refund, refund_state
from services.refund_settlement import GatewayCall, gateway_call


async def _held_attempt(session: AsyncSession, gateway, order: Order) -> PaymentAttempt | None:
    """The latest attempt when the gateway holds its money (two-stage, not yet deposited)."""
    attempt = await session.scalar(latest_attempt_in_state(order.id, "registered"))
    if attempt is None or attempt.gateway_order_id is None:
        return None
    try:
        status = await gateway.order_status(attempt.gateway_order_id)
    except (GatewayUnavailable, GatewayRefused):
        raise BadGateway("Payment gateway unavailable") from None
    held = order_status_code(status) == HELD and status.get("amount") == attempt.amount_kopecks
    return attempt if held else None


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
    order = await get_order(session, order_id, for_update=True)
    kind, attempt = "refund", None
    if order.is_payed:
        attempt = await session.scalar(latest_attempt_in_state(order.id, "paid"))
        if attempt is None:
            raise Conflict("Order was not paid online")
    else:
        attempt = await _held_attempt(session, gateway, order)
        if attempt is None:
            raise Conflict("Order is not paid")
        kind = "reversal"
    state = await refund_state(session, settings, order, attempt)
    if kind == "reversal" and (request.get("lines") or request.get("delivery") or state.committed):
        raise Conflict("Only a full reversal is possible while the payment is held")
    plan = plan_refund(
        state.lines,
        state.delivery,
        state.delivery_taken,
        attempt.amount_kopecks - state.committed,
        request,
        settings,
        state.positions,
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
    return refund.id, gateway_call(settings, refund, plan.receipt)


async def read_refund(session: AsyncSession, refund_id: int) -> Extended:
    """The refund as committed, with its order (api.refunds.RefundSchema shows both)."""
    refund = await session.get(Refund, refund_id, populate_existing=True)
    order = await session.get(Order, refund.order_id, populate_existing=True)
    return Extended(refund, order=order)


async def order_refunds(session: AsyncSession, order_id: int) -> list[Extended]:
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound("Order not found")
    refunds = await session.scalars(
        select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)
    )
    return [Extended(refund, order=order) for refund in refunds]
