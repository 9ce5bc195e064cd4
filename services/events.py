"""Activity events: ingestion (single and batch) and per-day statistics computed in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, distinct, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ActivityEvent, Customer
from db.models.base import utcnow
from services.customers import get_customer
from services.errors import Conflict, NotFound, ValidationFailed


async def _customer_states(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Customer.id, Customer.status).where(Customer.id.in_(ids)))
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


async def record_batch(session: AsyncSession, events: list[dict]) -> list[int]:
    """All or nothing, with one multi-row INSERT."""
    states = await _customer_states(
        session, {e["customer_id"] for e in events if e.get("customer_id") is not None}
    )
    problems = {}
    for index, event in enumerate(events):
        customer_id = event.get("customer_id")
        if customer_id is None:
            continue
        if customer_id not in states:
            problems[f"events.{index}.customer_id"] = ["Customer not found"]
        elif states[customer_id] != "active":
            problems[f"events.{index}.customer_id"] = ["Customer is deleted"]
    if problems:
        raise ValidationFailed(problems)
    now = utcnow()
    rows = []
    for event in events:
        created_at = event.get("created_at") or now
        rows.append(
            {
                "type": event["type"],
                "customer_id": event.get("customer_id"),
                "data": event.get("data"),
                "created_at": created_at,
                "created_day": created_at.date(),
            }
        )
    result = await session.execute(
        insert(ActivityEvent).returning(ActivityEvent.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


def _day_start(day, plus_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=plus_days), time.min, tzinfo=UTC)


def _range(filters: dict) -> list:
    conditions = []
    if "date_from" in filters:
        conditions.append(ActivityEvent.created_at >= _day_start(filters["date_from"]))
    if "date_to" in filters:
        conditions.append(ActivityEvent.created_at < _day_start(filters["date_to"], 1))
    return conditions


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
