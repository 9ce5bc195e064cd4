"""Order routes: placement, the admin list and detail, staff edits and status history."""

from __future__ import annotations

from sanic import Request

from api.base import PageQuerySchema
from api.dumping import dumper
from api.orders import (
    OrderBasicSchema,
    OrderCreatedSchema,
    OrderCreateSchema,
    OrderFullSchema,
    OrderListQuerySchema,
    OrderPageSchema,
    OrderUpdateSchema,
    StatusChangePageSchema,
    StatusChangeQuerySchema,
    StatusChangeSchema,
)
from services import orders, status_changes
from services.errors import ValidationFailed
from transport.http import actor, dump, load_body, load_query, principal, reply, transaction
from transport.limits import limit_request
from transport.routing import ADMIN, ADMIN_OWNER, ADMIN_SELF, OPT_CUSTOMER, route

ORDER = "/orders/<order_id:int>"
# Checkout is the busiest write route; building its schema once saves deep-copying its fields.
ORDER_CREATE = OrderCreateSchema()


def idempotency_key(request: Request) -> str | None:
    key = (request.headers.get("idempotency-key") or "").strip()
    if len(key) > 100:
        raise ValidationFailed({"Idempotency-Key": ["Longer than maximum length 100."]})
    return key or None


@route(
    "/orders",
    "POST",
    auth=OPT_CUSTOMER,
    body=OrderCreateSchema,
    response=OrderCreatedSchema,
    status=201,
    errors=(400, 409, 429, 503),
    summary="Place an order",
)
async def place_order(request: Request):
    await limit_request(request, "orders")
    data = load_body(request, ORDER_CREATE)
    key = idempotency_key(request)
    customer = principal(request)
    buyer = customer.id if customer else None
    async with transaction(request) as session:
        body = await orders.place_order_once(
            session, request.app.ctx.settings, data, buyer, key, dumper(OrderCreatedSchema)
        )
    return reply(body, status=201)


@route(
    "/orders/all",
    "GET",
    auth=ADMIN,
    query=OrderListQuerySchema,
    response=OrderFullSchema,
    many=True,
    paged=OrderPageSchema,
    errors=(400, 401, 403),
    summary="All orders (paged with limit/offset)",
)
async def list_orders(request: Request):
    filters = load_query(request, OrderListQuerySchema)
    async with transaction(request) as session:
        items, count = await orders.list_orders(session, filters)
    if "limit" in filters or "offset" in filters:
        return dump(OrderPageSchema, {"items": items, "count": count})
    return dump(OrderFullSchema, items, many=True)


@route(
    ORDER,
    "GET",
    auth=ADMIN_OWNER,
    response=OrderFullSchema,
    errors=(401, 403, 404),
    summary="Read an order with all its lines (staff, or the order's own customer)",
)
async def read_order(request: Request, order_id: int):
    caller = principal(request)
    owner_id = caller.id if caller.kind == "customer" else None
    async with transaction(request) as session:
        order = await orders.order_details(session, order_id, owner_id)
    return dump(OrderFullSchema, order)


@route(
    "/customers/<customer_id:int>/orders",
    "GET",
    auth=ADMIN_SELF,
    query=PageQuerySchema,
    response=OrderPageSchema,
    errors=(400, 401, 403, 404),
    summary="A customer's orders, newest first (paged)",
)
async def list_customer_orders(request: Request, customer_id: int):
    page = load_query(request, PageQuerySchema)
    async with transaction(request) as session:
        items, count = await orders.customer_orders(
            session, customer_id, page["limit"], page["offset"]
        )
    return dump(OrderPageSchema, {"items": items, "count": count})


@route(
    ORDER,
    "PATCH",
    auth=ADMIN,
    body=OrderUpdateSchema,
    response=OrderBasicSchema,
    errors=(400, 401, 403, 404),
    summary="Edit an order or change its status",
)
async def update_order(request: Request, order_id: int):
    data = load_body(request, OrderUpdateSchema)
    async with transaction(request) as session:
        order = await orders.update_order(
            session, request.app.ctx.settings, order_id, data, actor(request)
        )
    return dump(OrderBasicSchema, order)


@route(
    f"{ORDER}/status_changes",
    "GET",
    auth=ADMIN,
    response=StatusChangeSchema,
    many=True,
    errors=(401, 403, 404),
    summary="Status history of an order",
)
async def order_status_changes(request: Request, order_id: int):
    async with transaction(request) as session:
        changes = await status_changes.status_history(session, order_id)
    return dump(StatusChangeSchema, changes, many=True)


@route(
    "/status_changes/all",
    "GET",
    auth=ADMIN,
    query=StatusChangeQuerySchema,
    response=StatusChangeSchema,
    many=True,
    paged=StatusChangePageSchema,
    errors=(400, 401, 403),
    summary="All status changes (paged with limit/offset)",
)
async def all_status_changes(request: Request):
    filters = load_query(request, StatusChangeQuerySchema)
    async with transaction(request) as session:
        changes, count = await status_changes.all_status_changes(session, filters)
    if count is None:
        return dump(StatusChangeSchema, changes, many=True)
    return dump(StatusChangePageSchema, {"items": changes, "count": count})
