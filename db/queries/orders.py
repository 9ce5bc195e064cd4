"""Order statements: checkout's prebuilt inserts and selects, and the staff order search."""

from __future__ import annotations

import re

from sqlalchemy import (
    ARRAY,
    Integer,
    bindparam,
    exists,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)

from db.models import (
    Customer,
    DeliveryType,
    Good,
    Order,
    OrderLine,
    Status,
    StatusChange,
    Variation,
)
from db.prepared import PreparedWrite
from db.queries.matching import contains_text, escape_like

PHONE_PUNCTUATION = re.compile(r"[\s()+\-]")
LARGEST_ID = 2**31 - 1
# Fewer digits than this are an order number, not a part of a phone number.
PHONE_PART_DIGITS = 5


def order_search(text: str):
    """An order number or phone digits, else a part of the buyer's name or email."""
    digits = PHONE_PUNCTUATION.sub("", text)
    if digits.isascii() and digits.isdigit():
        matches = []
        if len(digits) >= PHONE_PART_DIGITS:
            matches.append(Order.contact_phone_number.like(f"%{escape_like(digits)}%", escape="\\"))
        if int(digits) <= LARGEST_ID:
            matches.append(Order.id == int(digits))
        return or_(*matches) if matches else false()
    columns = (
        Order.contact_first_name,
        Order.contact_second_name,
        Order.contact_last_name,
        Order.contact_email,
    )
    return or_(*contains_text(columns, text))


CONTACT_KEYS = ("first_name", "second_name", "last_name", "phone_number", "email")

_variations = Variation.__table__
_goods = Good.__table__
_customers = Customer.__table__
_orders = Order.__table__
_order_lines = OrderLine.__table__

# Checkout statements are built once: a prebuilt statement skips SQL generation per request.
ORDERABLE = (
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
DELIVERY_AND_INTAKE = PreparedWrite(
    select(
        DeliveryType.__table__.c.name,
        DeliveryType.__table__.c.cost,
        exists().where(Status.__table__.c.id == bindparam("status_id")).label("intake_configured"),
    ).where(DeliveryType.__table__.c.id == bindparam("delivery_type_id"))
)
GUEST = PreparedWrite(
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
NEW_GUEST = insert(_customers).returning(*_customers.c)
UPDATE_GUEST = update(_customers).where(_customers.c.id == bindparam("guest_id"))
NEW_ORDER = PreparedWrite(insert(_orders).returning(*_orders.c))
NEW_LINES = insert(_order_lines).returning(*_order_lines.c, sort_by_parameter_order=True)


def _new_lines_from_arrays():
    """PostgreSQL: an order's lines from arrays of their values and its first status change,
    one statement."""
    arrays = (bindparam(name, type_=ARRAY(Integer)) for name in ("variations", "amounts", "prices"))
    lines = func.unnest(*arrays).table_valued("variation_id", "amount", "price").render_derived()
    columns = ("order_id", "variation_id", "amount", "current_price", "refunded_quantity")
    rows = select(
        bindparam("order_id", type_=Integer), lines.c.variation_id, lines.c.amount, lines.c.price, 0
    )
    status = StatusChange.__table__
    first_status = insert(status).values(
        order_id=bindparam("order_id"),
        status_id=bindparam("status_id"),
        created_at=bindparam("now", type_=status.c.created_at.type),
    )
    return (
        insert(_order_lines)
        .from_select(columns, rows)
        .returning(*_order_lines.c)
        .add_cte(first_status.cte("first_status"))
    )


NEW_LINES_FROM_ARRAYS = PreparedWrite(_new_lines_from_arrays())
NEW_STATUS_CHANGE = PreparedWrite(insert(StatusChange.__table__))
