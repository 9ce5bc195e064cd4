"""Activity events: ingestion (single and batch) and per-day statistics computed in SQL."""

from __future__ import annotations

import json

from sqlalchemy import (
    ARRAY,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    delete,
    distinct,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ActivityEvent, Customer
from db.models.base import utcnow
from helpers.timestamps import within_days
from services.customers import get_customer
from services.errors import Conflict, NotFound, ValidationFailed

_events = ActivityEvent.__table__
_customers = Customer.__table__
_CUSTOMER_STATES = select(_customers.c.id, _customers.c.status).where(
    _customers.c.id.in_(bindparam("ids", expanding=True))
)
# PostgreSQL takes a batch as one array per column: a handful of parameters instead of
# five per event, and no SQL text that grows with the batch.
_CUSTOMER_STATES_PG = select(_customers.c.id, _customers.c.status).where(
    _customers.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))
)
_INSERT_BATCH_PG = text(
    "INSERT INTO activity_events (type, customer_id, data, created_at, created_day) "
    "SELECT type, customer_id, CAST(data AS JSONB), created_at, created_day "
    "FROM unnest(:types, :customer_ids, :data, :created_at, :created_days) "
    "WITH ORDINALITY AS batch(type, customer_id, data, created_at, created_day, position) "
    "ORDER BY position RETURNING id"
).bindparams(
    bindparam("types", type_=ARRAY(String)),
    bindparam("customer_ids", type_=ARRAY(Integer)),
    bindparam("data", type_=ARRAY(Text)),
    bindparam("created_at", type_=ARRAY(DateTime(timezone=True))),
    bindparam("created_days", type_=ARRAY(Date)),
)
_INSERT_BATCH = insert(_events).returning(_events.c.id, sort_by_parameter_order=True)


async def _customer_states(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    if session.bind.dialect.name == "postgresql":
        rows = await session.execute(_CUSTOMER_STATES_PG, {"ids": list(ids)})
    else:
        rows = await session.execute(_CUSTOMER_STATES, {"ids": list(ids)})
    return dict(rows.all())


async def record_event(session: AsyncSession, data: dict) -> ActivityEvent:
    customer_id = data.get("customer_id")
    if customer_id is not None:
        state = (await _customer_states(session, {customer_id})).get(customer_id)
        if state is None:
            raise NotFound("Customer not found")
        if state != "active":
            raise Conflict("Customer is deleted")
    created_at = data.get("created_at") or utcnow()
    event = ActivityEvent(
        type=data["type"],
        customer_id=customer_id,
        data=data.get("data"),
        created_at=created_at,
        created_day=created_at.date(),
    )
    session.add(event)
    await session.flush()
    return event


async def record_batch(
    session: AsyncSession,
    events: list[dict] | None,
    invalid_fields: dict[str, list[str]] | None = None,
    named_customers: dict[int, int] | None = None,
) -> list[int]:
    """All or nothing, with one multi-row INSERT; a refusal names every invalid field.

    `events` is None when the batch failed validation (`invalid_fields`); the customers its
    items name (`named_customers`, item index -> id) are checked all the same.
    """
    if events is not None:
        named_customers = {
            index: event["customer_id"]
            for index, event in enumerate(events)
            if event.get("customer_id") is not None
        }
    problems = dict(invalid_fields or {})
    states = await _customer_states(session, set((named_customers or {}).values()))
    for index, customer_id in (named_customers or {}).items():
        key = f"events.{index}.customer_id"
        if customer_id not in states:
            problems.setdefault(key, ["Customer not found"])
        elif states[customer_id] != "active":
            problems.setdefault(key, ["Customer is deleted"])
    if problems or events is None:
        raise ValidationFailed(problems)
    now = utcnow()
    created = [event.get("created_at") or now for event in events]
    if session.bind.dialect.name == "postgresql":
        return await _insert_batch_pg(session, events, created)
    rows = [
        {
            "type": event["type"],
            "customer_id": event.get("customer_id"),
            "data": event.get("data"),
            "created_at": created_at,
            "created_day": created_at.date(),
        }
        for event, created_at in zip(events, created, strict=True)
    ]
    return list((await session.execute(_INSERT_BATCH, rows)).scalars())


async def _insert_batch_pg(session: AsyncSession, events: list[dict], created: list) -> list[int]:
    ids = await session.scalars(
        _INSERT_BATCH_PG,
        {
            "types": [event["type"] for event in events],
            "customer_ids": [event.get("customer_id") for event in events],
            "data": [
                None if event.get("data") is None else json.dumps(event["data"]) for event in events
            ],
            "created_at": created,
            "created_days": [moment.date() for moment in created],
        },
    )
    # Ids come from the sequence in the ORDER BY position order, so sorted ids are in
    # request order even when other inserts interleave with this one.
    return sorted(ids)


def _range(filters: dict) -> list:
    return within_days(ActivityEvent.created_at, filters.get("date_from"), filters.get("date_to"))


async def list_events(session: AsyncSession, filters: dict):
    conditions = _range(filters)
    if "type" in filters:
        conditions.append(ActivityEvent.type == filters["type"])
    if "customer_id" in filters:
        conditions.append(ActivityEvent.customer_id == filters["customer_id"])
    total = await session.scalar(select(func.count()).select_from(ActivityEvent).where(*conditions))
    rows = await session.scalars(
        select(ActivityEvent)
        .where(*conditions)
        .order_by(ActivityEvent.created_at.desc(), ActivityEvent.id.desc())
        .limit(filters["limit"])
        .offset(filters["offset"])
    )
    return list(rows), total or 0


async def daily_stats(
    session: AsyncSession, filters: dict, event_type: str | None = None, per_customer: bool = False
):
    """One GROUP BY over the stored UTC day (covered by an index); days paged in memory."""
    day = ActivityEvent.created_day
    conditions = []
    if "date_from" in filters:
        conditions.append(day >= filters["date_from"])
    if "date_to" in filters:
        conditions.append(day <= filters["date_to"])
    if event_type is not None:
        conditions.append(ActivityEvent.type == event_type)
    if per_customer:
        conditions.append(ActivityEvent.customer_id.is_not(None))
    columns = [day, func.count()]
    if per_customer:
        columns.append(func.count(distinct(ActivityEvent.customer_id)))
    rows = (
        await session.execute(
            select(*columns).where(*conditions).group_by(day).order_by(day.desc())
        )
    ).all()
    page = rows[filters["offset"] : filters["offset"] + filters["limit"]]
    items = []
    for row in page:
        item = {"date": row[0].isoformat(), "event_amount": row[1]}
        if per_customer:
            item["customer_count"] = row[2]
            item["events_per_customer"] = round(row[1] / row[2], 4)
        items.append(item)
    return items, len(rows)


async def delete_customer_events(session: AsyncSession, customer_id: int) -> int:
    await get_customer(session, customer_id)
    result = await session.execute(
        delete(ActivityEvent).where(ActivityEvent.customer_id == customer_id)
    )
    return result.rowcount or 0
