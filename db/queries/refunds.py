"""Refund statements: the attempts a refund draws on, the lines it returns, refunds still open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from db.models import OrderLine, PaymentAttempt, Refund, StatusChange, Variation

# A refund counts against the payment while it is waiting for the gateway or went through.
OPEN_STATES = ("pending", "succeeded")


def latest_attempt_in_state(order_id: int, state: str) -> Select:
    return (
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order_id, PaymentAttempt.state == state)
        .order_by(PaymentAttempt.attempt.desc())
        .limit(1)
    )


def lines_with_names(order_id: int) -> Select:
    """(order line, variation name) of an order, by line id."""
    return (
        select(OrderLine, Variation.name)
        .join(Variation, Variation.id == OrderLine.variation_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.id)
    )


def open_refunds(order_id: int) -> Select:
    return (
        select(Refund)
        .where(Refund.order_id == order_id, Refund.state.in_(OPEN_STATES))
        .order_by(Refund.id)
    )


def open_refunds_of_payment(gateway_order_id: str) -> Select:
    return (
        select(Refund)
        .where(Refund.gateway_order_id == gateway_order_id, Refund.state.in_(OPEN_STATES))
        .order_by(Refund.id)
    )


def unanswered_payments(settled_before: datetime) -> Select:
    """Gateway orders with a refund sent before `settled_before` and still without an answer."""
    return (
        select(Refund.gateway_order_id)
        .where(
            Refund.state == "pending",
            Refund.requested_at.is_not(None),
            Refund.requested_at < settled_before,
        )
        .distinct()
    )


def order_of_payment(gateway_order_id: str) -> Select:
    return select(Refund.order_id).where(Refund.gateway_order_id == gateway_order_id).limit(1)


def status_before_cancellation(order_id: int, cancelled: set[int]) -> Select:
    """The order's latest status that is not a cancelled one."""
    return (
        select(StatusChange.status_id)
        .where(StatusChange.order_id == order_id, StatusChange.status_id.not_in(cancelled))
        .order_by(StatusChange.created_at.desc(), StatusChange.id.desc())
        .limit(1)
    )
