"""Refund routes: staff refunds and reversals of an order's online payment, and their list."""

from __future__ import annotations

from sanic import Request

from api.refunds import RefundRequestSchema, RefundSchema
from services import refund_settlement, refunds
from services.errors import BadGateway
from transport.endpoints.orders import ORDER, idempotency_key
from transport.http import dump, load_body, principal, transaction
from transport.routing import ADMIN, route

STATUS_OF_STATE = {"succeeded": 201, "pending": 202}


async def _refund(request: Request, order_id: int, staff_id, data: dict, key) -> dict:
    """Recorded in one transaction, sent to the gateway outside any, settled in a third: a
    gateway that never answers leaves the refund `pending` for the reconciliation."""
    settings, gateway = request.app.ctx.settings, request.app.ctx.gateway
    async with transaction(request) as session:
        refund_id, call = await refunds.start_refund(
            session, settings, gateway, order_id, staff_id, data, key
        )
    if call is not None:
        outcome = await refund_settlement.call_gateway(gateway, call)
        async with transaction(request) as session:
            await refund_settlement.settle_refund(session, settings, refund_id, outcome)
    async with transaction(request) as session:
        return await refunds.read_refund(session, refund_id)


@route(
    f"{ORDER}/refund",
    "POST",
    auth=ADMIN,
    body=RefundRequestSchema,
    response=RefundSchema,
    status=201,
    errors=(400, 401, 403, 404, 409, 502),
    summary="Refund an order's payment in full or by lines (202 while the gateway has not "
    "answered; the reconciliation settles it)",
)
async def refund_order(request: Request, order_id: int):
    data = load_body(request, RefundRequestSchema)
    caller = principal(request)
    staff_id = caller.id if caller.kind == "staff" else None
    refund = await _refund(request, order_id, staff_id, data, idempotency_key(request))
    if refund["state"] == "failed":
        raise BadGateway(
            "Refund failed", refund_id=refund["id"], gateway_message=refund["gateway_message"]
        )
    return dump(RefundSchema, refund, status=STATUS_OF_STATE[refund["state"]])


@route(
    f"{ORDER}/refunds",
    "GET",
    auth=ADMIN,
    response=RefundSchema,
    many=True,
    errors=(401, 403, 404),
    summary="Refunds of an order, oldest first",
)
async def list_order_refunds(request: Request, order_id: int):
    async with transaction(request) as session:
        items = await refunds.order_refunds(session, order_id)
    return dump(RefundSchema, items, many=True)
