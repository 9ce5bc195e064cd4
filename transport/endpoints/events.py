"""Activity event routes: ingestion, listing, daily statistics, erasing a customer's events."""

from __future__ import annotations

from sanic import Request

from api.base import DeletedCountSchema
from api.events import (
    ActivityEventPageSchema,
    ActivityEventSchema,
    CustomerDailyStatPageSchema,
    DailyStatPageSchema,
    EventBatchResultSchema,
    EventBatchSchema,
    EventInSchema,
    EventQuerySchema,
    StatsQuerySchema,
    read_event_batch,
)
from services import events
from transport.http import dump, json_body, load_body, load_query, transaction
from transport.routing import ADMIN_API, route


@route(
    "/events",
    "POST",
    auth=ADMIN_API,
    body=EventInSchema,
    response=ActivityEventSchema,
    status=201,
    errors=(400, 401, 403, 404, 409),
    summary="Record an activity event",
)
async def record_event(request: Request):
    data = load_body(request, EventInSchema)
    async with transaction(request) as session:
        event = await events.record_event(session, data)
    return dump(ActivityEventSchema, event, status=201)


@route(
    "/events/batch",
    "POST",
    auth=ADMIN_API,
    body=EventBatchSchema,
    response=EventBatchResultSchema,
    status=201,
    errors=(400, 401, 403),
    body_limit="UPLOAD_MAX_BYTES",
    summary="Record up to 1000 events at once",
)
async def record_batch(request: Request):
    batch, invalid_fields, named_customers = read_event_batch(json_body(request))
    async with transaction(request) as session:
        ids = await events.record_batch(session, batch, invalid_fields, named_customers)
    return dump(EventBatchResultSchema, {"count": len(ids), "ids": ids}, status=201)


@route(
    "/events/all",
    "GET",
    auth=ADMIN_API,
    query=EventQuerySchema,
    response=ActivityEventPageSchema,
    errors=(400, 401, 403),
    summary="Activity events, newest first",
)
async def list_events(request: Request):
    filters = load_query(request, EventQuerySchema)
    async with transaction(request) as session:
        items, count = await events.list_events(session, filters)
    return dump(ActivityEventPageSchema, {"items": items, "count": count})


@route(
    "/events/stats/daily",
    "GET",
    auth=ADMIN_API,
    query=StatsQuerySchema,
    response=DailyStatPageSchema,
    errors=(400, 401, 403),
    summary="Events of all types per day",
)
async def all_types_daily(request: Request):
    filters = load_query(request, StatsQuerySchema)
    async with transaction(request) as session:
        items, count = await events.daily_stats(session, filters)
    return dump(DailyStatPageSchema, {"items": items, "count": count})


@route(
    "/events/stats/<event_type>/daily",
    "GET",
    auth=ADMIN_API,
    query=StatsQuerySchema,
    response=DailyStatPageSchema,
    errors=(400, 401, 403),
    summary="Events of one type per day",
)
async def type_daily(request: Request, event_type: str):
    filters = load_query(request, StatsQuerySchema)
    async with transaction(request) as session:
        items, count = await events.daily_stats(session, filters, event_type)
    return dump(DailyStatPageSchema, {"items": items, "count": count})


@route(
    "/events/stats/<event_type>/per_customer",
    "GET",
    auth=ADMIN_API,
    query=StatsQuerySchema,
    response=CustomerDailyStatPageSchema,
    errors=(400, 401, 403),
    summary="Events per distinct customer per day",
)
async def type_per_customer(request: Request, event_type: str):
    filters = load_query(request, StatsQuerySchema)
    async with transaction(request) as session:
        items, count = await events.daily_stats(session, filters, event_type, per_customer=True)
    return dump(CustomerDailyStatPageSchema, {"items": items, "count": count})


@route(
    "/customers/<customer_id:int>/events",
    "DELETE",
    auth=ADMIN_API,
    response=DeletedCountSchema,
    errors=(401, 403, 404),
    summary="Erase a customer's activity events",
)
async def delete_customer_events(request: Request, customer_id: int):
    async with transaction(request) as session:
        deleted = await events.delete_customer_events(session, customer_id)
    return dump(DeletedCountSchema, {"count_deleted": deleted})
