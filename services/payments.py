"""Online payments: attempts at the gateway, status checks, signed callbacks, marking paid."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.after_commit import on_commit
from db.models import Order, PaymentAttempt, PaymentCallback
from db.models.base import utcnow
from helpers import metrics
from helpers.money import to_kopecks, to_rubles
from helpers.sberbank import (
    DECLINED,
    DEPOSITED,
    REFUNDED,
    REVERSED,
    GatewayRefused,
    GatewayUnavailable,
    order_bundle_json,
    order_status_code,
)
from services.activity import record_activity
from services.cabinet_refunds import record_gateway_refunds
from services.errors import BadGateway, Conflict, NotFound, PermissionDenied, RuleViolation
from services.notifications import notify_order_paid
from services.outbox import emit_event, queue_message
from services.paid_after_cancel import reopen_paid_order
from services.receipts import payment_bundle, payment_receipt

log = logging.getLogger("shop.payments")

PAID = DEPOSITED
FAILED = {REVERSED, REFUNDED, DECLINED}
ATTEMPT_LIFETIME = timedelta(hours=24)


@dataclass
class Registration:
    """What a registration ended with; the route answers after the transaction commits."""

    outcome: str  # "registered" | "paid" | "refused" | "unavailable"
    body: dict | None = None
    message: str | None = None

    def registered(self) -> dict:
        """The attempt's answer, or the error its outcome means (raised once it is recorded)."""
        if self.outcome == "paid":
            raise Conflict("Order is already paid")
        if self.outcome == "refused":
            raise Conflict(self.message)
        if self.outcome == "unavailable":
            raise BadGateway("Payment gateway unavailable")
        return self.body


def _attempt_body(order: Order, attempt: PaymentAttempt) -> dict:
    return {
        "order_id": order.id,
        "amount": to_rubles(attempt.amount_kopecks),
        "sberbank_order_id": attempt.gateway_order_id,
        "payment_form_url": attempt.form_url,
    }


async def _locked_order(session: AsyncSession, order_id: int) -> Order:
    order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound("Order not found")
    return order


async def _latest_attempt(session: AsyncSession, order_id: int) -> PaymentAttempt | None:
    return await session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order_id)
        .order_by(PaymentAttempt.attempt.desc())
        .limit(1)
    )


async def register_payment(
    session: AsyncSession,
    settings,
    gateway,
    order_id: int,
    return_url: str,
    fail_url: str,
    alerts=None,
) -> Registration:
    order = await _locked_order(session, order_id)
    if order.is_payed:
        raise Conflict("Order is already paid")
    if order.status_id in settings.ORDER_CANCELLED_STATUS_IDS:
        raise Conflict("Order is cancelled")
    amount = to_kopecks(order.total_sum)
    if amount <= 0:
        raise Conflict("Nothing to pay")
    latest = await _latest_attempt(session, order_id)
    if latest is not None and _reusable(latest, amount, settings):
        reused = await _reuse_attempt(session, settings, gateway, order, latest, alerts)
        if reused is not None:
            return reused
    attempt = PaymentAttempt(
        order_id=order.id,
        attempt=(latest.attempt + 1) if latest else 1,
        order_number=f"{order.id}-{(latest.attempt + 1) if latest else 1}",
        amount_kopecks=amount,
        state="failed",
    )
    session.add(attempt)
    await session.flush()
    params = _register_params(settings, order, attempt, return_url, fail_url)
    if settings.SBER_SEND_ORDER_BUNDLE:
        attempt.receipt = await payment_receipt(session, settings, order)
        params["orderBundle"] = order_bundle_json(payment_bundle(order, attempt.receipt))
    try:
        answer = await gateway.register(params)
    except GatewayRefused as exc:
        return Registration("refused", message=exc.message)
    except GatewayUnavailable:
        return Registration("unavailable")
    attempt.state = "registered"
    attempt.gateway_order_id = str(answer.get("orderId"))
    attempt.form_url = answer.get("formUrl")
    order.sberbank_id = attempt.gateway_order_id
    await session.flush()
    return Registration("registered", _attempt_body(order, attempt))


def _reusable(attempt: PaymentAttempt, amount: int, settings) -> bool:
    age = utcnow() - attempt.created_at
    return (
        attempt.state == "registered"
        and attempt.amount_kopecks == amount
        and age < timedelta(seconds=settings.SBER_SESSION_TIMEOUT_S)
    )


async def _reuse_attempt(session, settings, gateway, order, attempt, alerts):
    try:
        status = await gateway.order_status(attempt.gateway_order_id)
    except (GatewayUnavailable, GatewayRefused):
        return Registration("registered", _attempt_body(order, attempt))
    code = order_status_code(status)
    if code in (PAID, REFUNDED):
        await apply_gateway_status(session, settings, order, attempt, status, alerts)
        if order.is_payed:
            return Registration("paid")
    if code in FAILED:
        attempt.state = "failed"
        return None
    return Registration("registered", _attempt_body(order, attempt))


def _register_params(settings, order, attempt, return_url, fail_url) -> dict:
    return {
        "orderNumber": attempt.order_number,
        "amount": attempt.amount_kopecks,
        "currency": 643,
        "returnUrl": return_url,
        "failUrl": fail_url,
        "description": f"Заказ №{order.id}",
        "language": "ru",
        "sessionTimeoutSecs": settings.SBER_SESSION_TIMEOUT_S,
    }


def _paid_time(status: dict) -> datetime:
    for key in ("depositedDate", "authDateTime"):
        value = status.get(key)
        if isinstance(value, int | float) and value > 0:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
    return utcnow()


async def apply_gateway_status(
    session: AsyncSession,
    settings,
    order: Order,
    attempt: PaymentAttempt | None,
    status: dict,
    alerts=None,
) -> None:
    """Paid only on status 2 with the exact amount (or 4 when the exact amount was deposited
    before money went back); 3/4/6 fail the attempt otherwise."""
    code = order_status_code(status)
    expected = attempt.amount_kopecks if attempt else to_kopecks(order.total_sum)
    if code == REFUNDED and _paid_before_refund(order, attempt, status, expected):
        # Paid, then refunded (in part or in full) before the shop saw the payment: the
        # refund is recorded before a cancelled order is reopened, so that counts it.
        if await mark_paid(session, settings, order, attempt, _paid_time(status), reopen=False):
            await record_gateway_refunds(session, settings, order, attempt, status)
            await _reopen_if_cancelled(session, settings, order, attempt)
    elif code == PAID:
        paid_amount = status.get("amount")
        if paid_amount == expected == to_kopecks(order.total_sum):
            await mark_paid(session, settings, order, attempt, _paid_time(status))
        elif alerts is not None:
            text = f"Сумма оплаты заказа №{order.id} не совпадает: {paid_amount} != {expected}"
            on_commit(session, lambda: alerts.alert(text, key=("amount-mismatch", order.id)))
    elif code in FAILED and attempt is not None and attempt.state == "registered":
        attempt.state = "failed"
    if order.is_payed and attempt is not None and attempt.state == "paid":
        await record_gateway_refunds(session, settings, order, attempt, status)


def _paid_before_refund(order: Order, attempt, status: dict, expected: int) -> bool:
    info = status.get("paymentAmountInfo")
    deposited = info.get("depositedAmount") if isinstance(info, dict) else None
    return (
        not order.is_payed
        and attempt is not None
        and attempt.state in ("registered", "expired")
        and deposited == expected == to_kopecks(order.total_sum)
    )


async def mark_paid(
    session: AsyncSession,
    settings,
    order: Order,
    attempt: PaymentAttempt | None,
    paid_at,
    source: str = "gateway",
    reopen: bool = True,
) -> bool:
    """Exactly once per order: the first transition emits, records and, for the gateway's
    payments, notifies the shop (a payment 1C reports is known to the shop already) and reopens
    a cancelled order (or returns its payment) unless `reopen` is off."""
    # The refresh that takes the row lock would drop the caller's unflushed changes.
    await session.flush()
    await session.refresh(order, with_for_update=True)
    if order.is_payed:
        return False
    order.is_payed = True
    order.paid_at = paid_at
    if attempt is not None:
        attempt.state = "paid"
    from_gateway = source == "gateway"
    gateway_order_id = attempt.gateway_order_id if attempt else order.sberbank_id
    await emit_event(
        session,
        "OrderPaid",
        order_id=order.id,
        amount=order.total_sum,
        gateway_order_id=gateway_order_id if from_gateway else None,
        source=source,
    )
    await record_activity(session, "order_paid", order.customer_id, {"order_id": order.id})
    await session.flush()
    metrics.orders_paid_total.inc()
    if not from_gateway:
        return True
    await notify_order_paid(session, settings, order.id, paid_at)
    if reopen:
        await _reopen_if_cancelled(session, settings, order, attempt)
    return True


async def _reopen_if_cancelled(session, settings, order: Order, attempt) -> None:
    # A payment already returned in full does not bring a cancelled order back.
    if order.status_id in settings.ORDER_CANCELLED_STATUS_IDS and order.payment_state != "refunded":
        await reopen_paid_order(session, settings, order, attempt)


async def payment_status(
    session: AsyncSession, settings, gateway, gateway_order_id: str, alerts=None
) -> dict:
    attempt = await session.scalar(
        select(PaymentAttempt).where(PaymentAttempt.gateway_order_id == gateway_order_id)
    )
    order_id = (
        attempt.order_id
        if attempt
        else await session.scalar(select(Order.id).where(Order.sberbank_id == gateway_order_id))
    )
    if order_id is None:
        raise NotFound("Order not found")
    try:
        status = await gateway.order_status(gateway_order_id)
    except (GatewayUnavailable, GatewayRefused):
        raise BadGateway("Payment gateway unavailable") from None
    order = await _locked_order(session, order_id)
    await apply_gateway_status(session, settings, order, attempt, status, alerts)
    amount = attempt.amount_kopecks if attempt else to_kopecks(order.total_sum)
    return {
        "order_id": order.id,
        "is_payed": order.is_payed,
        "status": order_status_code(status),
        "amount": to_rubles(amount),
    }


def callback_checksum(params: dict[str, str], secret: str) -> str:
    signed = "".join(
        f"{name};{value};" for name, value in sorted(params.items()) if name != "checksum"
    )
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest().upper()


CALLBACK_VALUE_LIMITS = {"mdOrder": 64, "orderNumber": 64, "operation": 64, "status": 8}


def _check_callback_values(params: dict[str, str]) -> None:
    """Signed but unstorable values (too long, NUL) are refused rather than failing the insert."""
    for key, value in params.items():
        too_long = len(value) > CALLBACK_VALUE_LIMITS.get(key, 1024)
        if too_long or "\x00" in key or "\x00" in value:
            raise RuleViolation("Invalid callback parameters")


async def accept_callback(session: AsyncSession, settings, params: dict[str, str], alerts=None):
    received = params.get("checksum", "")
    expected = callback_checksum(params, settings.SBER_CALLBACK_SECRET)
    if not received or not hmac.compare_digest(received.upper().encode(), expected.encode()):
        log.warning("payment callback with a bad checksum for %s", params.get("mdOrder"))
        raise PermissionDenied("Invalid checksum")
    md_order = params.get("mdOrder", "")
    _check_callback_values(params)
    try:
        async with session.begin_nested():
            session.add(
                PaymentCallback(
                    md_order=md_order,
                    order_number=params.get("orderNumber"),
                    operation=params.get("operation", ""),
                    status=params.get("status", ""),
                    params=params,
                )
            )
            await session.flush()
    except IntegrityError:
        # Each refund made in the gateway's cabinet sends the same triple: check every one.
        if params.get("operation") != "refunded":
            return
    # The gateway's own id names the attempt; the order number only when that id is unknown.
    attempt = await session.scalar(
        select(PaymentAttempt).where(PaymentAttempt.gateway_order_id == md_order)
    )
    if attempt is None and params.get("orderNumber"):
        attempt = await session.scalar(
            select(PaymentAttempt).where(PaymentAttempt.order_number == params["orderNumber"])
        )
    if attempt is None:
        log.warning("payment callback for an unknown order %s", md_order)
        if alerts is not None:
            text = f"Callback шлюза для неизвестного заказа {md_order}"
            on_commit(session, lambda: alerts.alert(text, key=("unknown-callback", md_order)))
        return
    await queue_message(
        session,
        "payment_confirm",
        "callback",
        {"attempt_id": attempt.id, "gateway_order_id": attempt.gateway_order_id},
    )


async def confirm_payment_job(db, settings, payload: dict, alerts, gateway) -> None:
    """Background check after a callback; raises while the gateway is unreachable (retried)."""
    status = await gateway.order_status(payload["gateway_order_id"])
    async with db.begin() as session:
        attempt = await session.get(PaymentAttempt, payload["attempt_id"])
        order = await _locked_order(session, attempt.order_id)
        await apply_gateway_status(session, settings, order, attempt, status, alerts)


async def reconcile_payments(db, settings) -> int:
    """Queue checks of attempts whose payment session ended; expire those a day old."""
    now = utcnow()
    settled_before = now - timedelta(seconds=settings.SBER_SESSION_TIMEOUT_S + 60)
    async with db.begin() as session:
        attempts = list(
            await session.scalars(
                select(PaymentAttempt).where(
                    PaymentAttempt.state == "registered", PaymentAttempt.created_at < settled_before
                )
            )
        )
        for attempt in attempts:
            if attempt.created_at < now - ATTEMPT_LIFETIME:
                attempt.state = "expired"
            else:
                await queue_message(
                    session,
                    "payment_confirm",
                    "reconcile",
                    {"attempt_id": attempt.id, "gateway_order_id": attempt.gateway_order_id},
                )
    return len(attempts)
