"""1C orders exchange (`type=sale`): the orders document of `query`, `success`, and the order
updates 1C sends back as a file."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, DeliveryType, OnecSession, Order, OrderLine, Status, Variation
from db.models.base import utcnow
from helpers.onec_orders_xml import (
    DELIVERY_ID,
    ExportedLine,
    ExportedOrder,
    OrdersDocumentInvalid,
    OrderUpdate,
    orders_document,
    read_order_updates,
)
from helpers.timestamps import format_timestamp
from services.errors import ExchangeFileInvalid, RuleViolation
from services.notifications import contact_full_name
from services.onec_exchange import record, store_chunk
from services.payments import mark_paid
from services.status_changes import change_status, hand_over_to_1c
from services.stock import SYSTEM

log = logging.getLogger("shop.onec")

UNKNOWN_SAMPLES = 20
# Ids per statement: far below the bound parameters SQLite and asyncpg take.
BATCH = 1000
_orders = Order.__table__
# Sent to 1C but changed since, or never sent.
PENDING = or_(Order.exported_at.is_(None), Order.updated_at > Order.exported_at)


def _to_export(settings):
    """The pending orders, less those placed before the shop's first exchange with 1C."""
    if settings.ONEC_ORDERS_SINCE is None:
        return PENDING
    since = datetime.combine(settings.ONEC_ORDERS_SINCE, time(), ZoneInfo(settings.SHOP_TIMEZONE))
    return and_(PENDING, Order.created_at >= since)


_MARK_EXPORTED = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"))
    .values(
        exported_at=bindparam("sent_at", type_=_orders.c.exported_at.type),
        updated_at=_orders.c.updated_at,
    )
)


async def orders_to_export(session: AsyncSession, settings, onec_session: OnecSession) -> bytes:
    """`query`: the document of every order 1C has not got in its current state, in two reads.

    The session remembers what it sent, so `success` marks exactly those orders."""
    rows = (
        await session.execute(
            select(Order, Customer.uuid, Status.name, DeliveryType.name)
            .outerjoin(Customer, Customer.id == Order.customer_id)
            .join(Status, Status.id == Order.status_id)
            .join(DeliveryType, DeliveryType.id == Order.delivery_type_id)
            .where(_to_export(settings))
            .order_by(Order.id)
        )
    ).all()
    lines = await _lines_of_pending(session, settings)
    zone = ZoneInfo(settings.SHOP_TIMEZONE)
    cancelled = set(settings.ORDER_CANCELLED_STATUS_IDS)
    exported = [
        _exported(order, uuid, status, delivery, lines.get(order.id, []), zone, cancelled)
        for order, uuid, status, delivery in rows
    ]
    onec_session.last_query = {
        str(order.id): format_timestamp(order.updated_at) for order, *_ in rows
    }
    record(session, onec_session.id, "sale", "query", counts={"orders": len(rows)})
    now = utcnow().astimezone(zone)
    return await asyncio.to_thread(orders_document, exported, now)


async def _lines_of_pending(session: AsyncSession, settings) -> dict[int, list[ExportedLine]]:
    rows = await session.execute(
        select(
            OrderLine.order_id,
            OrderLine.amount,
            OrderLine.current_price,
            Variation.id,
            Variation.name,
            Variation.one_c_guid,
            Variation.variation_1c_id,
        )
        .join(Variation, Variation.id == OrderLine.variation_id)
        .where(OrderLine.order_id.in_(select(Order.id).where(_to_export(settings))))
        .order_by(OrderLine.order_id, OrderLine.id)
    )
    lines: dict[int, list[ExportedLine]] = defaultdict(list)
    for order_id, amount, price, variation_id, name, guid, code in rows:
        item_id = guid or code or f"variation-{variation_id}"
        lines[order_id].append(ExportedLine(item_id, name, price, amount))
    return lines


def _exported(order, uuid, status, delivery, lines, zone, cancelled) -> ExportedOrder:
    if order.delivery_cost > 0:
        lines = [*lines, ExportedLine(DELIVERY_ID, delivery, order.delivery_cost, 1, "Услуга")]
    return ExportedOrder(
        id=order.id,
        created_at=order.created_at.astimezone(zone),
        total_sum=order.total_sum,
        comment=order.other_info,
        buyer_id=str(uuid) if uuid else f"order-{order.id}",
        buyer_name=contact_full_name(order),
        address=order.delivery_address,
        email=order.contact_email,
        phone=order.contact_phone_number,
        payment_method="Наличный расчет" if order.is_cash_payment else "Онлайн",
        is_paid=order.is_payed,
        delivery_name=delivery,
        status_name=status,
        is_cancelled=order.status_id in cancelled,
        lines=lines,
    )


async def confirm_export(session: AsyncSession, settings, onec_session: OnecSession) -> int:
    """`success`: the orders of the session's last `query` are exported as they were sent,
    and their reservations consumed (1C's remains include them from now on)."""
    sent = {int(order_id): at for order_id, at in (onec_session.last_query or {}).items()}
    ids = sorted(sent)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        await hand_over_to_1c(session, batch)
        known = set(await session.scalars(select(Order.id).where(Order.id.in_(batch))))
        # An order changed after the query keeps an older exported_at: it is sent again.
        marks = [
            {"order_id": order_id, "sent_at": datetime.fromisoformat(sent[order_id])}
            for order_id in batch
            if order_id in known
        ]
        if marks:
            await session.execute(_MARK_EXPORTED, marks)
    onec_session.last_query = None
    record(session, onec_session.id, "sale", "success", counts={"orders": len(ids)})
    return len(ids)


async def receive_orders_file(
    session: AsyncSession, settings, onec_session: OnecSession, name: str, data: bytes
) -> dict[str, int]:
    """`file` of `type=sale`: store 1C's orders document and apply it at once."""
    path, entry = await store_chunk(session, settings, onec_session, "sale", name, data)
    counts, message = await apply_orders_file(session, settings, name, path)
    entry.counts = {**(entry.counts or {}), **counts}
    entry.message = message
    return counts


async def apply_orders_file(
    session: AsyncSession, settings, name: str, path: Path
) -> tuple[dict[str, int], str | None]:
    """1C's order updates: status by name, cancellation, payment. Unknown orders are
    skipped and logged; an update a rule refuses (no stock to reopen) is skipped alone."""
    try:
        updates = await asyncio.to_thread(read_order_updates, path)
    except OrdersDocumentInvalid as exc:
        raise ExchangeFileInvalid(str(exc)) from None
    numbers = {_order_number(update) for update in updates} - {None}
    orders = {
        order.id: order
        for order in await session.scalars(
            select(Order).where(Order.id.in_(numbers)).order_by(Order.id).with_for_update()
        )
    }
    statuses = await _status_ids(session)
    counts: Counter[str] = Counter(documents=len(updates))
    unknown: list[str] = []
    for update_ in updates:
        order = orders.get(_order_number(update_))
        if order is None:
            counts["unknown_orders"] += 1
            unknown.append(update_.number or update_.document_id)
            continue
        try:
            async with session.begin_nested():
                await _apply(session, settings, order, update_, statuses, counts)
        except RuleViolation as exc:
            await session.refresh(order)
            counts["refused"] += 1
            log.warning("1C update of order %s refused: %s", order.id, exc.message)
    message = None
    if unknown:
        message = "Unknown orders skipped: " + ", ".join(unknown[:UNKNOWN_SAMPLES])
        log.warning("1C orders file %s: %s", name, message)
    return dict(counts), message


def _order_number(update_: OrderUpdate) -> int | None:
    """`Номер` names the order; `Ид` (ours, as sent) when the number is 1C's own."""
    for value in (update_.number, update_.document_id):
        if value.isascii() and value.isdigit() and 0 < int(value) < 2**31:
            return int(value)
    return None


async def _status_ids(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(select(Status.id, Status.name).order_by(Status.id))).all()
    by_name = {name.strip().casefold(): status_id for status_id, name in reversed(rows)}
    by_name.update({name: status_id for status_id, name in rows})
    return by_name


async def _apply(session, settings, order: Order, update_, statuses, counts: Counter) -> None:
    was_exported = order.exported_at is not None and order.updated_at <= order.exported_at
    cancelled = settings.ORDER_CANCELLED_STATUS_IDS
    target = None
    if update_.cancelled:
        if not cancelled:
            log.warning("1C cancelled order %s, but no cancelled status is set", order.id)
        elif order.status_id not in cancelled:
            target = cancelled[0]
            counts["cancelled"] += 1
    elif update_.status_name:
        name = update_.status_name.strip()
        target = statuses.get(name, statuses.get(name.casefold()))
        if target is None:
            counts["unknown_statuses"] += 1
            log.warning("1C status %r of order %s is not a status of the shop", name, order.id)
    changed = False
    if target is not None and target != order.status_id:
        await change_status(session, settings, order, target, SYSTEM)
        # mark_paid reads the order again under its lock.
        await session.flush()
        counts["status_changed"] += 1
        changed = True
    if update_.paid and not order.is_payed:
        await mark_paid(session, settings, order, None, utcnow(), source="1c")
        counts["paid"] += 1
        changed = True
    await session.flush()
    if changed and was_exported:
        # 1C made this change itself: nothing new to send it back.
        await session.execute(
            update(_orders)
            .where(_orders.c.id == order.id)
            .values(exported_at=_orders.c.updated_at, updated_at=_orders.c.updated_at)
        )
