"""Orders: placement with server prices and stock reservation, reading, and staff edits."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, false, func, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Category,
    Color,
    Customer,
    DeliveryType,
    Good,
    IdempotencyKey,
    Order,
    OrderLine,
    PaymentAttempt,
    Size,
    Status,
    StatusChange,
    Variation,
)
from db.models.base import utcnow
from db.queries.orders import order_search
from helpers import metrics
from helpers.money import order_total
from helpers.timestamps import format_timestamp, within_days
from services import notifications
from services.activity import record_activity
from services.customers import CONTACT_FIELDS, PROFILE_FIELDS, created_payload, get_customer
from services.errors import (
    Conflict,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationFailed,
)
from services.goods import variation_fields
from services.outbox import emit_event
from services.stock import consume_stock, release_stock, reserve_stock

IDEMPOTENCY_WINDOW = timedelta(hours=24)
CONTACT_KEYS = ("first_name", "second_name", "last_name", "phone_number", "email")
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


_variations = Variation.__table__
_goods = Good.__table__
_customers = Customer.__table__
_orders = Order.__table__
_order_lines = OrderLine.__table__

# Checkout statements are built once: a prebuilt statement skips SQL generation per request.
_ORDERABLE = (
    select(
        _variations.c.id,
        _variations.c.name,
        _variations.c.price,
        _variations.c.discounted_price,
        or_(_variations.c.is_delete, _goods.c.is_delete, not_(_goods.c.is_visible)).label("hidden"),
    )
    .join(_goods, _goods.c.id == _variations.c.good_id)
    .where(_variations.c.id.in_(bindparam("ids", expanding=True)))
)
_DELIVERY_AND_INTAKE = select(
    DeliveryType.__table__.c.name,
    DeliveryType.__table__.c.cost,
    exists().where(Status.__table__.c.id == bindparam("status_id")).label("intake_configured"),
).where(DeliveryType.__table__.c.id == bindparam("delivery_type_id"))
_GUEST = (
    select(_customers.c.id, *(_customers.c[key] for key in CONTACT_KEYS))
    .where(
        or_(
            _customers.c.phone_number == bindparam("phone"),
            _customers.c.email == bindparam("email"),
        ),
        _customers.c.is_registered.is_(False),
        _customers.c.status == "active",
    )
    .order_by(
        # A guest without a phone compares to NULL, which PostgreSQL would sort first.
        func.coalesce(_customers.c.phone_number == bindparam("phone"), false()).desc(),
        _customers.c.id.desc(),
    )
    .limit(1)
    .with_for_update()
)
_NEW_GUEST = insert(_customers).returning(*_customers.c)
_UPDATE_GUEST = update(_customers).where(_customers.c.id == bindparam("guest_id"))
_NEW_ORDER = insert(_orders).returning(*_orders.c)
_NEW_LINES = insert(_order_lines).returning(*_order_lines.c, sort_by_parameter_order=True)
_NEW_STATUS_CHANGE = insert(StatusChange.__table__)


async def _orderable_variations(
    session: AsyncSession, lines: list[dict], problems: dict
) -> dict[int, Any]:
    """Id, name and prices of the ordered variations; unknown or hidden ones are problems."""
    ids = sorted({line["variation_id"] for line in lines})
    found = {row.id: row for row in await session.execute(_ORDERABLE, {"ids": ids})}
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
    row = (
        await session.execute(
            _DELIVERY_AND_INTAKE,
            {
                "delivery_type_id": data["delivery_type_id"],
                "status_id": settings.ORDER_INITIAL_STATUS_ID,
            },
        )
    ).first()
    if row is None:
        problems["delivery_type_id"] = ["Delivery type not found"]
        return None
    if not row.intake_configured:
        raise ServiceUnavailable("Order intake is not configured")
    if row.cost is not None:
        return row.name, row.cost, False
    if data["delivery_cost"] > settings.DELIVERY_COST_MAX:
        problems["delivery_cost"] = [f"Must be at most {settings.DELIVERY_COST_MAX}."]
        return None
    return row.name, data["delivery_cost"], True


async def _order_customer(session: AsyncSession, customer_id: int | None, data: dict):
    """The token's customer, or a reused/new guest; returns (customer id, contact snapshot)."""
    body_contact = {key: data.get(key) for key in CONTACT_KEYS}
    if customer_id is not None:
        customer = await session.get(Customer, customer_id)
        if customer is not None and customer.status == "active":
            contact = {key: getattr(customer, key) or body_contact[key] for key in CONTACT_KEYS}
            return customer.id, contact
    guest = (
        await session.execute(_GUEST, {"phone": data["phone_number"], "email": data["email"]})
    ).first()
    if guest is None:
        created = (
            await session.execute(
                _NEW_GUEST, {**body_contact, "is_registered": False, "source": "guest_order"}
            )
        ).one()
        await emit_event(session, "CustomerCreated", **created_payload(created))
        return created.id, body_contact
    changed = {key: value for key, value in body_contact.items() if getattr(guest, key) != value}
    if changed:
        await session.execute(_UPDATE_GUEST, {**body_contact, "guest_id": guest.id})
        await _emit_guest_changes(session, guest.id, body_contact, changed)
    return guest.id, body_contact


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
    session: AsyncSession, settings, data: dict, customer_id: int | None, key: str | None
) -> dict[str, Any]:
    """Place an order; with an idempotency key a repeat returns the first order's body."""
    if key is not None:
        # The caller is part of the request: another customer's replay is a reused key.
        stored = await claim_idempotency_key(session, key, {**data, "caller": customer_id})
        if stored is not None:
            return stored
    placed = await place_order(session, settings, dict(data), customer_id)
    body = {**basic_view(placed["order"]), "variations": [line_view(x) for x in placed["lines"]]}
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
    await reserve_stock(session, amounts)
    buyer_id, contact = await _order_customer(session, customer_id, data)
    total = order_total(((prices[vid], amounts[vid]) for vid in ordered_ids), delivery_cost)
    order = (
        await session.execute(
            _NEW_ORDER,
            {
                "customer_id": buyer_id,
                "status_id": settings.ORDER_INITIAL_STATUS_ID,
                "delivery_type_id": data["delivery_type_id"],
                "delivery_cost": delivery_cost,
                "delivery_cost_by_storefront": by_storefront,
                "total_sum": total,
                "is_cash_payment": data["is_cash_payment"],
                **{key: data.get(key) for key in ADDRESS_KEYS},
                **{f"contact_{key}": value for key, value in contact.items()},
            },
        )
    ).one()
    order_lines = (
        await session.execute(
            _NEW_LINES,
            [
                {
                    "order_id": order.id,
                    "variation_id": vid,
                    "amount": amounts[vid],
                    "current_price": prices[vid],
                }
                for vid in ordered_ids
            ],
        )
    ).all()
    await session.execute(_NEW_STATUS_CHANGE, {"order_id": order.id, "status_id": order.status_id})
    await _emit_order_created(session, order, order_lines)
    await record_activity(session, "order_created", buyer_id, {"order_id": order.id})
    named_lines = [(line, variations[line.variation_id].name) for line in order_lines]
    await notifications.notify_order_placed(session, settings, order, named_lines, delivery_name)
    metrics.orders_created_total.inc()
    return {"order": order, "lines": order_lines}


async def _emit_order_created(session: AsyncSession, order, lines) -> None:
    await emit_event(
        session,
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


async def list_orders(session: AsyncSession, filters: dict) -> tuple[list[dict], int]:
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


async def order_details(session: AsyncSession, order_id: int, owner_id: int | None = None) -> dict:
    """The order; with `owner_id` only when it is that customer's (else as if it did not exist)."""
    order = await get_order(session, order_id)
    if owner_id is not None and order.customer_id != owner_id:
        raise NotFound("Order not found")
    return (await full_orders(session, [order]))[0]


async def customer_orders(
    session: AsyncSession, customer_id: int, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A customer's own orders, newest first."""
    await get_customer(session, customer_id)
    return await list_orders(
        session, {"customer_id": customer_id, "limit": limit, "offset": offset}
    )


async def full_orders(session: AsyncSession, orders: list[Order]) -> list[dict]:
    """OrderFull for many orders in a fixed number of queries."""
    if not orders:
        return []
    order_ids = [order.id for order in orders]
    lines = list(
        await session.scalars(
            select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)
        )
    )
    variation_rows = (
        await session.execute(
            select(Variation, Good, Category, Color, Size)
            .join(Good, Good.id == Variation.good_id)
            .join(Category, Category.id == Good.category_id)
            .join(Color, Color.id == Variation.color_id)
            .join(Size, Size.id == Variation.size_id)
            .where(Variation.id.in_({line.variation_id for line in lines}))
        )
    ).all()
    variations = {row[0].id: _variation_view(*row) for row in variation_rows}
    customer_ids = {order.customer_id for order in orders if order.customer_id}
    customers = {
        customer.id: customer
        for customer in await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    }
    statuses = {s.id: s for s in await session.scalars(select(Status))}
    delivery_types = {d.id: d for d in await session.scalars(select(DeliveryType))}
    lines_by_order = defaultdict(list)
    for line in lines:
        lines_by_order[line.order_id].append(
            {
                **line_view(line),
                "order_id": line.order_id,
                "variation": variations.get(line.variation_id),
            }
        )
    return [
        {
            **basic_view(order),
            "customer": _customer_short(customers.get(order.customer_id)),
            "status": {"id": order.status_id, "name": statuses[order.status_id].name},
            "delivery_type": {
                "id": order.delivery_type_id,
                "name": delivery_types[order.delivery_type_id].name,
            },
            "contact": {key: getattr(order, f"contact_{key}") for key in CONTACT_KEYS},
            "variations": lines_by_order[order.id],
        }
        for order in orders
    ]


def basic_view(order: Order) -> dict:
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "is_payed": order.is_payed,
        "status_id": order.status_id,
        "delivery_type_id": order.delivery_type_id,
        "sberbank_id": order.sberbank_id,
        "city": order.city,
        "street": order.street,
        "house_number": order.house_number,
        "apartment": order.apartment,
        "other_info": order.other_info,
        "is_cash_payment": order.is_cash_payment,
        "delivery_address": order.delivery_address,
        "delivery_cost": order.delivery_cost,
        "created_at": format_timestamp(order.created_at),
        "total_sum": order.total_sum,
    }


def line_view(line: OrderLine) -> dict:
    return {
        "id": line.id,
        "variation_id": line.variation_id,
        "amount": line.amount,
        "current_price": line.current_price,
    }


def _variation_view(variation, good, category, color, size) -> dict:
    return {
        **variation_fields(variation),
        "good": {
            "id": good.id,
            "name": good.name,
            "article": good.article,
            "good_1c_id": good.good_1c_id,
            "category_id": good.category_id,
            "barcode": good.barcode,
            "structure_id": good.structure_id,
            "products_care_id": good.products_care_id,
            "description": good.description,
            "is_visible": good.is_visible,
            "default_variation": good.default_variation,
            "weight": float(good.weight) if good.weight is not None else None,
            "category": {"id": category.id, "name": category.name, "parent_id": category.parent_id},
        },
        "color": {"id": color.id, "name": color.name, "code": color.code},
        "size": {"id": size.id, "name": size.name},
    }


def _customer_short(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    return {
        "id": customer.id,
        "login": customer.login,
        "first_name": customer.first_name,
        "second_name": customer.second_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "phone_number": customer.phone_number,
    }


async def order_quantities(session: AsyncSession, order_id: int) -> dict[int, int]:
    rows = await session.execute(
        select(OrderLine.variation_id, OrderLine.amount).where(OrderLine.order_id == order_id)
    )
    quantities: dict[int, int] = defaultdict(int)
    for variation_id, amount in rows:
        quantities[variation_id] += amount
    return dict(quantities)


async def update_order(session: AsyncSession, settings, order_id: int, data: dict) -> Order:
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
        await change_status(session, settings, order, new_status)
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


async def change_status(session: AsyncSession, settings, order: Order, new_status: int) -> None:
    """Status history row, reservation effects and the event, in the caller's transaction."""
    old_status = order.status_id
    cancelled = set(settings.ORDER_CANCELLED_STATUS_IDS)
    handed = set(settings.ORDER_HANDED_TO_1C_STATUS_IDS)
    effect = None
    if order.reservation != "consumed":
        quantities = await order_quantities(session, order.id)
        if order.reservation == "released" and new_status not in cancelled:
            await reserve_stock(session, quantities)
            order.reservation, effect = "active", "reserved"
        if order.reservation == "active" and new_status in handed:
            await consume_stock(session, quantities)
            order.reservation, effect = "consumed", "consumed"
        elif order.reservation == "active" and new_status in cancelled:
            await release_stock(session, quantities)
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


async def status_history(session: AsyncSession, order_id: int) -> list[StatusChange]:
    await get_order(session, order_id)
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
        await change_status(session, settings, order, settings.ORDER_CANCELLED_STATUS_IDS[0])
    return len(stale)
