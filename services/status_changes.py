"""Order status changes: the history, their stock effects, and the expiry of unpaid orders."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, OrderLine, PaymentAttempt, StatusChange
from db.models.base import utcnow
from services import notifications
from services.errors import NotFound
from services.outbox import emit_event
from services.stock import (
    SYSTEM,
    Actor,
    Cause,
    consume_orders,
    consume_stock,
    release_stock,
    reserve_stock,
)


async def quantities_by_order(
    session: AsyncSession, order_ids: list[int]
) -> dict[int, dict[int, int]]:
    """Units each order holds by variation; refunded units were given back already."""
    rows = await session.execute(
        select(
            OrderLine.order_id,
            OrderLine.variation_id,
            OrderLine.amount - OrderLine.refunded_quantity,
        ).where(OrderLine.order_id.in_(order_ids))
    )
    quantities: dict[int, dict[int, int]] = {order_id: defaultdict(int) for order_id in order_ids}
    for order_id, variation_id, amount in rows:
        if amount > 0:
            quantities[order_id][variation_id] += amount
    return {order_id: dict(lines) for order_id, lines in quantities.items()}


async def order_quantities(session: AsyncSession, order_id: int) -> dict[int, int]:
    return (await quantities_by_order(session, [order_id]))[order_id]


async def change_status(
    session: AsyncSession, settings, order: Order, new_status: int, actor: Actor
) -> None:
    """Status history row, reservation effects and the event, in the caller's transaction."""
    old_status = order.status_id
    cancelled = set(settings.ORDER_CANCELLED_STATUS_IDS)
    handed = set(settings.ORDER_HANDED_TO_1C_STATUS_IDS)
    effect = None
    if order.reservation != "consumed":
        quantities = await order_quantities(session, order.id)
        if order.reservation == "released" and new_status not in cancelled:
            await reserve_stock(
                session, quantities, Cause("order_reserve", actor, order_id=order.id)
            )
            order.reservation, effect = "active", "reserved"
        if order.reservation == "active" and new_status in handed:
            await consume_stock(
                session, quantities, Cause("order_consume", actor, order_id=order.id)
            )
            order.reservation, effect = "consumed", "consumed"
        elif order.reservation == "active" and new_status in cancelled:
            await release_stock(
                session, quantities, Cause("order_release", actor, order_id=order.id)
            )
            order.reservation, effect = "released", "released"
    order.status_id = new_status
    session.add(StatusChange(order_id=order.id, status_id=new_status))
    await emit_event(
        session,
        "OrderStatusChanged",
        order_id=order.id,
        old_status_id=old_status,
        new_status_id=new_status,
        reservation=effect,
    )
    await notifications.notify_status_changed(session, settings, order)


async def hand_over_to_1c(session: AsyncSession, order_ids: list[int]) -> int:
    """1C received these orders: their active reservations are consumed as on entering a
    handed-to-1C status, without a status change. Returns the number of orders consumed."""
    active = list(
        await session.scalars(
            select(Order.id)
            .where(Order.id.in_(order_ids), Order.reservation == "active")
            .order_by(Order.id)
            .with_for_update()
        )
    )
    if not active:
        return 0
    cause = Cause("order_consume", SYSTEM)
    await consume_orders(session, await quantities_by_order(session, active), cause)
    orders = Order.__table__
    # Not a change 1C must hear about: updated_at stays, so the order is not sent again.
    await session.execute(
        update(orders)
        .where(orders.c.id.in_(active))
        .values(reservation="consumed", updated_at=orders.c.updated_at)
    )
    return len(active)


async def status_history(session: AsyncSession, order_id: int) -> list[StatusChange]:
    if await session.get(Order, order_id) is None:
        raise NotFound("Order not found")
    rows = await session.scalars(
        select(StatusChange)
        .where(StatusChange.order_id == order_id)
        .order_by(StatusChange.created_at, StatusChange.id)
    )
    return list(rows)


async def all_status_changes(session: AsyncSession, filters: dict) -> tuple[list, int | None]:
    conditions = []
    if "status_id" in filters:
        conditions.append(StatusChange.status_id == filters["status_id"])
    query = select(StatusChange).where(*conditions).order_by(StatusChange.id)
    total = None
    if "limit" in filters or "offset" in filters:
        query = query.limit(filters.get("limit", 50)).offset(filters.get("offset", 0))
        total = await session.scalar(
            select(func.count()).select_from(StatusChange).where(*conditions)
        )
    return list(await session.scalars(query)), total


async def cancel_unpaid_orders(session: AsyncSession, settings) -> int:
    """Online orders unpaid for UNPAID_ORDER_TTL_MIN in the initial status are cancelled,
    unless a payment attempt of theirs is still open or not yet settled with the gateway."""
    if settings.UNPAID_ORDER_TTL_MIN <= 0 or not settings.ORDER_CANCELLED_STATUS_IDS:
        return 0
    deadline = utcnow() - timedelta(minutes=settings.UNPAID_ORDER_TTL_MIN)
    stale = list(
        await session.scalars(
            select(Order)
            .where(
                Order.is_payed.is_(False),
                Order.is_cash_payment.is_(False),
                Order.status_id == settings.ORDER_INITIAL_STATUS_ID,
                Order.created_at < deadline,
                # A registered attempt may still be paid; reconciliation settles it first.
                ~exists().where(
                    PaymentAttempt.order_id == Order.id, PaymentAttempt.state == "registered"
                ),
            )
            .order_by(Order.id)
            .with_for_update(skip_locked=True)
        )
    )
    for order in stale:
        await change_status(
            session, settings, order, settings.ORDER_CANCELLED_STATUS_IDS[0], SYSTEM
        )
    return len(stale)
