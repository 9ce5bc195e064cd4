"""The reconciliation of refunds left without an answer: settled from the gateway's books."""

from __future__ import annotations

import logging
from datetime import timedelta

from db.models import PaymentAttempt
from db.models.base import utcnow
from db.queries.refunds import open_refunds_of_payment, order_of_payment, unanswered_payments
from helpers.money import to_kopecks
from helpers.sberbank import REVERSED, GatewayRefused, GatewayUnavailable, order_status_code
from services.cabinet_refunds import gateway_refunded
from services.orders import get_order
from services.refund_settlement import fail_refund, succeed_refund

log = logging.getLogger("shop.refunds")

# A request without an answer is settled from the gateway's books only after this long, so a
# slow answer still on its way is never taken for a lost one.
SETTLE_AFTER = timedelta(minutes=2)


async def reconcile_refunds(db, settings, gateway) -> int:
    """Settle refunds left without an answer from what the gateway's books say."""
    settled_before = utcnow() - SETTLE_AFTER
    async with db.session() as session:
        gateway_orders = list(await session.scalars(unanswered_payments(settled_before)))
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
    order_id = await session.scalar(order_of_payment(gateway_order_id))
    order = await get_order(session, order_id, for_update=True)
    refunds = list(await session.scalars(open_refunds_of_payment(gateway_order_id)))
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
            done = order_status_code(status) == REVERSED
        else:
            done = unexplained >= refund.amount_kopecks
        if done:
            unexplained -= refund.amount_kopecks
            await succeed_refund(session, settings, order, refund, None)
        else:
            await fail_refund(
                session, settings, order, refund, None, "Refund not found at the gateway"
            )
        settled += 1
    return settled
