"""Orders: placement with server prices and stock reservation, reading, and staff edits."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, DeliveryType, IdempotencyKey, Order, OrderLine, Status, Variation
from db.models.base import utcnow
from db.prepared import Extended, RowObject
from db.queries.orders import (
    CONTACT_KEYS,
    DELIVERY_AND_INTAKE,
    GUEST,
    NEW_GUEST,
    NEW_LINES,
    NEW_LINES_FROM_ARRAYS,
    NEW_ORDER,
    NEW_STATUS_CHANGE,
    ORDERABLE,
    UPDATE_GUEST,
    order_search,
)
from helpers import metrics
from helpers.money import order_total
from helpers.timestamps import within_days
from services import notifications
from services.activity import record_activity
from services.customers import CONTACT_FIELDS, PROFILE_FIELDS, created_payload, get_customer
from services.errors import Conflict, NotFound, RuleViolation, ServiceUnavailable, ValidationFailed
from services.order_views import full_orders
from services.outbox import emit_event, event_message, queue_messages
from services.status_changes import change_status
from services.stock import Actor, Cause, hold_stock

IDEMPOTENCY_WINDOW = timedelta(hours=24)
ADDRESS_KEYS = ("city", "street", "house_number", "apartment", "other_info", "delivery_address")


def server_price(variation: Variation) -> int:
    if variation.discounted_price is not None and variation.discounted_price > 0:
        return variation.discounted_price
    return variation.price


def request_hash(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim_idempotency_key(session: AsyncSession, key: str, data: dict):
    """The stored response of an earlier submission with this key, or None to go on.

    The key row is inserted first, so a concurrent duplicate waits for this transaction
    and then sees its result.
    """
    digest = request_hash(data)
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.key == key, IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_WINDOW
        )
    )
    try:
        async with session.begin_nested():
            session.add(IdempotencyKey(key=key, request_hash=digest))
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
        if existing.request_hash != digest:
            raise Conflict("Idempotency key reused") from None
        return existing.response_body
    return None


async def remember_response(session: AsyncSession, key: str, order_id: int, body: dict) -> None:
    row = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
    row.order_id = order_id
    row.response_body = body


def merge_lines(
    lines: list[dict], problems: dict
) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """Amounts and prices by variation id, and the ids in request order."""
    amounts: dict[int, int] = defaultdict(int)
    prices: dict[int, int] = {}
    for index, line in enumerate(lines):
        variation_id = line["variation_id"]
        if variation_id in prices and prices[variation_id] != line["current_price"]:
            problems[f"variations.{index}.current_price"] = [
                "Lines of one variation must carry the same price."
            ]
        prices.setdefault(variation_id, line["current_price"])
        amounts[variation_id] += line["amount"]
    return dict(amounts), prices, list(prices)


async def _orderable_variations(
    session: AsyncSession, lines: list[dict], problems: dict
) -> dict[int, Any]:
    """Id, name and prices of the ordered variations; unknown or hidden ones are problems."""
    ids = sorted({line["variation_id"] for line in lines})
    found = {row.id: row for row in await session.execute(ORDERABLE, {"ids": ids})}
    for index, line in enumerate(lines):
        row = found.get(line["variation_id"])
        if row is None:
            problems[f"variations.{index}.variation_id"] = ["Variation not found"]
        elif row.hidden:
            problems[f"variations.{index}.variation_id"] = ["Variation is not available"]
    return found


async def _server_delivery(session: AsyncSession, settings, data: dict, problems: dict):
    """The delivery type's name, the cost to charge, and whether the storefront computed it.

    None when the request is invalid; the reason is added to `problems`.
    """
    rows = await DELIVERY_AND_INTAKE.rows(
        session,
        delivery_type_id=data["delivery_type_id"],
        status_id=settings.ORDER_INITIAL_STATUS_ID,
    )
    if not rows:
        problems["delivery_type_id"] = ["Delivery type not found"]
        return None
    row = rows[0]
    if not row["intake_configured"]:
        raise ServiceUnavailable("Order intake is not configured")
    if row["cost"] is not None:
        return row["name"], row["cost"], False
    if data["delivery_cost"] > settings.DELIVERY_COST_MAX:
        problems["delivery_cost"] = [f"Must be at most {settings.DELIVERY_COST_MAX}."]
        return None
    return row["name"], data["delivery_cost"], True


async def _order_customer(session: AsyncSession, customer_id: int | None, data: dict):
    """The token's customer, or a reused/new guest; returns (customer id, contact snapshot)."""
    body_contact = {key: data.get(key) for key in CONTACT_KEYS}
    if customer_id is not None:
        customer = await session.get(Customer, customer_id)
        if customer is not None and customer.status == "active":
            contact = {key: getattr(customer, key) or body_contact[key] for key in CONTACT_KEYS}
            return customer.id, contact
    found = await GUEST.rows(session, phone=data["phone_number"], email=data["email"])
    guest = found[0] if found else None
    if guest is None:
        created = (
            await session.execute(
                NEW_GUEST, {**body_contact, "is_registered": False, "source": "guest_order"}
            )
        ).one()
        await emit_event(session, "CustomerCreated", **created_payload(created))
        return created.id, body_contact
    changed = {key: value for key, value in body_contact.items() if guest[key] != value}
    if changed:
        await session.execute(UPDATE_GUEST, {**body_contact, "guest_id": guest["id"]})
        await _emit_guest_changes(session, guest["id"], body_contact, changed)
    return guest["id"], body_contact


async def _emit_guest_changes(session: AsyncSession, guest_id: int, contact: dict, changed: dict):
    names = {key: value for key, value in changed.items() if key in PROFILE_FIELDS}
    if names:
        await emit_event(session, "CustomerProfileChanged", customer_id=guest_id, changed=names)
    if any(key in CONTACT_FIELDS for key in changed):
        await emit_event(
            session,
            "CustomerContactsChanged",
            customer_id=guest_id,
            email=contact["email"],
            phone_number=contact["phone_number"],
        )


async def place_order_once(
    session: AsyncSession,
    settings,
    data: dict,
    customer_id: int | None,
    key: str | None,
    shape: Callable[[Any], dict],
) -> dict[str, Any]:
    """The body `shape` makes of a new order (its row with its lines under `variations`);
    with an idempotency key a repeat gets the first order's body again."""
    if key is not None:
        # The caller is part of the request: another customer's replay is a reused key.
        stored = await claim_idempotency_key(session, key, {**data, "caller": customer_id})
        if stored is not None:
            return stored
    placed = await place_order(session, settings, dict(data), customer_id)
    body = shape(Extended(placed["order"], variations=placed["lines"]))
    if key is not None:
        await remember_response(session, key, placed["order"].id, body)
    return body


async def place_order(
    session: AsyncSession, settings, data: dict, customer_id: int | None
) -> dict[str, Any]:
    lines = data.pop("variations")
    if not lines:
        raise RuleViolation("There are no variations in the order")
    problems: dict[str, list[str]] = {}
    amounts, client_prices, ordered_ids = merge_lines(lines, problems)
    variations = await _orderable_variations(session, lines, problems)
    delivery = await _server_delivery(session, settings, data, problems)
    if problems:
        raise ValidationFailed(problems)
    delivery_name, delivery_cost, by_storefront = delivery
    prices = {vid: server_price(variations[vid]) for vid in ordered_ids}
    if prices != client_prices or delivery_cost != data["delivery_cost"]:
        raise Conflict(
            "price_changed",
            variations=[{"variation_id": vid, "current_price": prices[vid]} for vid in ordered_ids],
            delivery_cost=delivery_cost,
        )
    held = await hold_stock(session, amounts)
    buyer_id, contact = await _order_customer(session, customer_id, data)
    total = order_total(((prices[vid], amounts[vid]) for vid in ordered_ids), delivery_cost)
    placed = await NEW_ORDER.rows(
        session,
        customer_id=buyer_id,
        status_id=settings.ORDER_INITIAL_STATUS_ID,
        delivery_type_id=data["delivery_type_id"],
        delivery_cost=delivery_cost,
        delivery_cost_by_storefront=by_storefront,
        total_sum=total,
        is_cash_payment=data["is_cash_payment"],
        **{key: data.get(key) for key in ADDRESS_KEYS},
        **{f"contact_{key}": value for key, value in contact.items()},
    )
    order = RowObject(placed[0])
    await held.reserve(Cause("order_reserve", Actor("customer", buyer_id), order_id=order.id))
    order_lines = await _insert_lines(session, order, ordered_ids, amounts, prices)
    await record_activity(session, "order_created", buyer_id, {"order_id": order.id})
    named_lines = [(line, variations[line.variation_id].name) for line in order_lines]
    # The event and the notifications: one statement.
    notices = notifications.order_placed_messages(settings, order, named_lines, delivery_name)
    await queue_messages(session, [_order_created(order, order_lines), *notices])
    metrics.orders_created_total.inc()
    return {"order": order, "lines": order_lines}


async def _insert_lines(session: AsyncSession, order, ids: list[int], amounts, prices):
    """The order's lines in the order of `ids`, and its first status change."""
    if session.bind.dialect.name != "postgresql":
        await NEW_STATUS_CHANGE.rows(session, order_id=order.id, status_id=order.status_id)
        lines = [
            {"order_id": order.id, "variation_id": vid, "amount": amounts[vid]}
            | {"current_price": prices[vid]}
            for vid in ids
        ]
        return (await session.execute(NEW_LINES, lines)).all()
    arrays = {"amounts": [amounts[vid] for vid in ids], "prices": [prices[vid] for vid in ids]}
    status = {"status_id": order.status_id, "now": utcnow()}
    rows = await NEW_LINES_FROM_ARRAYS.rows(
        session, order_id=order.id, variations=ids, **arrays, **status
    )
    return sorted((RowObject(row) for row in rows), key=lambda line: ids.index(line.variation_id))


def _order_created(order, lines) -> dict:
    return event_message(
        "OrderCreated",
        order_id=order.id,
        customer_id=order.customer_id,
        status_id=order.status_id,
        delivery_type_id=order.delivery_type_id,
        delivery_cost=order.delivery_cost,
        total_sum=order.total_sum,
        is_cash_payment=order.is_cash_payment,
        lines=[
            {
                "variation_id": line.variation_id,
                "amount": line.amount,
                "current_price": line.current_price,
            }
            for line in lines
        ],
    )


async def get_order(session: AsyncSession, order_id: int, for_update: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update()
    order = await session.scalar(query)
    if order is None:
        raise NotFound("Order not found")
    return order


async def list_orders(session: AsyncSession, filters: dict) -> tuple[list[Extended], int]:
    conditions = []
    for key in ("status_id", "customer_id", "is_payed"):
        if key in filters:
            conditions.append(getattr(Order, key) == filters[key])
    conditions += within_days(
        Order.created_at, filters.get("created_from"), filters.get("created_to")
    )
    if filters.get("q"):
        conditions.append(order_search(filters["q"]))
    query = select(Order).where(*conditions).order_by(Order.created_at.desc(), Order.id.desc())
    total = None
    if "limit" in filters or "offset" in filters:
        query = query.limit(filters.get("limit", 50)).offset(filters.get("offset", 0))
        total = await session.scalar(select(func.count()).select_from(Order).where(*conditions))
    orders = list(await session.scalars(query))
    full = await full_orders(session, orders)
    return full, total if total is not None else len(full)


async def order_details(
    session: AsyncSession, order_id: int, owner_id: int | None = None
) -> Extended:
    """The order; with `owner_id` only when it is that customer's (else as if it did not exist)."""
    order = await get_order(session, order_id)
    if owner_id is not None and order.customer_id != owner_id:
        raise NotFound("Order not found")
    return (await full_orders(session, [order]))[0]


async def customer_orders(
    session: AsyncSession, customer_id: int, limit: int, offset: int
) -> tuple[list[Extended], int]:
    """A customer's own orders, newest first."""
    await get_customer(session, customer_id)
    return await list_orders(
        session, {"customer_id": customer_id, "limit": limit, "offset": offset}
    )


async def update_order(
    session: AsyncSession, settings, order_id: int, data: dict, actor: Actor
) -> Order:
    order = await get_order(session, order_id, for_update=True)
    if "id" in data and data.pop("id") != order_id:
        raise ValidationFailed({"id": ["Cannot be changed."]})
    await _check_order_references(session, data)
    new_status = data.pop("status_id", order.status_id)
    paid_now = data.get("is_payed") is True and not order.is_payed
    for key, value in data.items():
        setattr(order, key, value)
    if "delivery_cost" in data:
        lines = await session.execute(
            select(OrderLine.current_price, OrderLine.amount).where(OrderLine.order_id == order_id)
        )
        order.total_sum = order_total(lines.tuples(), order.delivery_cost)
    if new_status != order.status_id:
        await change_status(session, settings, order, new_status, actor)
    if paid_now:
        order.paid_at = utcnow()
        await emit_event(
            session,
            "OrderPaid",
            order_id=order.id,
            amount=order.total_sum,
            gateway_order_id=None,
            source="admin",
        )
        metrics.orders_paid_total.inc()
    await session.flush()
    return order


async def _check_order_references(session: AsyncSession, data: dict) -> None:
    problems = {}
    for key, model, message in (
        ("status_id", Status, "Status not found"),
        ("customer_id", Customer, "Customer not found"),
        ("delivery_type_id", DeliveryType, "Delivery type not found"),
    ):
        if key in data and await session.get(model, data[key]) is None:
            problems[key] = [message]
    if problems:
        raise ValidationFailed(problems)
