"""Refunds made outside the shop's API (in the gateway's merchant cabinet), recorded when a
status check or a `refunded` callback shows money back that no refund of ours explains."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, PaymentAttempt, Refund
from helpers.sberbank import REFUNDED, REVERSED, order_status_code
from services import notifications
from services.errors import Conflict
from services.refund_plans import plan_refund, refund_state
from services.refund_settlement import succeed_refund


def gateway_refunded(status: dict, paid_kopecks: int) -> int:
    """What the gateway's books say went back to the buyer, in kopecks."""
    info = status.get("paymentAmountInfo")
    if isinstance(info, dict) and isinstance(info.get("refundedAmount"), int):
        return info["refundedAmount"]
    return paid_kopecks if order_status_code(status) in (REVERSED, REFUNDED) else 0


async def record_gateway_refunds(
    session: AsyncSession, settings, order: Order, attempt: PaymentAttempt, status: dict
) -> None:
    """Money the gateway returned that no refund of ours explains (e.g. from its cabinet)."""
    state = await refund_state(session, settings, order, attempt)
    unexplained = gateway_refunded(status, attempt.amount_kopecks) - state.committed
    if unexplained <= 0:
        return
    plan = None
    if state.committed + unexplained >= attempt.amount_kopecks:
        # All the money is back, so are the goods not refunded yet, even when an earlier refund
        # from the cabinet named no goods and the sums of the lines no longer match.
        try:
            plan = plan_refund(
                state.lines,
                state.delivery,
                state.delivery_taken,
                attempt.amount_kopecks,
                {"full": True},
                settings,
                state.positions,
            )
        except Conflict:
            plan = None
    refund = Refund(
        order_id=order.id,
        attempt_id=attempt.id,
        gateway_order_id=attempt.gateway_order_id,
        kind="reversal" if order_status_code(status) == REVERSED else "refund",
        source="gateway",
        state="pending",
        lines=plan.lines if plan else [],
        delivery=plan.delivery if plan else False,
        amount_kopecks=unexplained,
    )
    session.add(refund)
    await session.flush()
    await succeed_refund(session, settings, order, refund, None)
    if plan is None:
        await notifications.notify_staff(
            session,
            settings,
            "refund_without_lines",
            f"<b>Частичный возврат по заказу №{order.id} из кабинета шлюза</b>\n"
            f"Сумма: {notifications.rubles_text(unexplained)} руб. Остатки не изменены: "
            "проверьте, какие товары вернулись.",
        )
