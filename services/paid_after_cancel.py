"""Payments that arrive for cancelled orders: the goods are reserved again and the order
reopened, or, when they are gone, staff are told and the money goes back automatically."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, PaymentAttempt, Refund
from db.models.base import utcnow
from db.queries.refunds import status_before_cancellation
from helpers.sberbank import GatewayUnavailable
from services import notifications
from services.errors import Conflict, RuleViolation
from services.outbox import queue_message
from services.refund_plans import plan_refund, refund_receipt, refund_state
from services.refund_settlement import call_gateway, gateway_call, settle_refund
from services.status_changes import change_status
from services.stock import SYSTEM


async def reopen_paid_order(
    session: AsyncSession, settings, order: Order, attempt: PaymentAttempt | None
) -> None:
    """A payment for a cancelled order: reserve its goods again and reopen it, or, when the
    goods are gone, tell staff and give the money back."""
    cancelled = set(settings.ORDER_CANCELLED_STATUS_IDS)
    previous = await session.scalar(status_before_cancellation(order.id, cancelled))
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
    state = await refund_state(session, settings, order, attempt)
    try:
        plan = plan_refund(
            state.lines,
            state.delivery,
            state.delivery_taken,
            attempt.amount_kopecks - state.committed,
            {"full": True},
            settings,
            state.positions,
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
        attempt = await session.get(PaymentAttempt, refund.attempt_id)
        state = await refund_state(session, settings, order, attempt)
        receipt = refund_receipt(state.positions, refund.lines, refund.delivery)
        call = gateway_call(settings, refund, receipt)
        refund.requested_at = utcnow()
    outcome = await call_gateway(gateway, call)
    async with db.begin() as session:
        if outcome.state != "not_sent":
            await settle_refund(session, settings, refund.id, outcome)
            return
        stored = await session.get(Refund, refund.id, with_for_update=True)
        stored.requested_at = None
    raise GatewayUnavailable(outcome.message or "not sent", reached=False)
