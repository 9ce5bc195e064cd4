"""Payment routes: register an attempt, check its status, and the gateway's callback."""

from __future__ import annotations

from uuid import UUID

from sanic import Request

from api.base import MessageSchema
from api.payments import PaymentRegisteredSchema, PaymentStatusSchema, RegisterPaymentSchema
from services import payments
from services.errors import NotFound
from transport.http import dump, load_body, transaction
from transport.limits import limit_request
from transport.routing import CHECKSUM, PUBLIC, route


@route(
    "/register_payment",
    "POST",
    auth=PUBLIC,
    body=RegisterPaymentSchema,
    response=PaymentRegisteredSchema,
    errors=(400, 404, 409, 429, 502),
    summary="Register a payment attempt at the gateway",
)
async def register_payment(request: Request):
    await limit_request(request, "orders")
    ctx = request.app.ctx
    data = load_body(request, RegisterPaymentSchema(ctx.settings.allowed_return_hosts))
    async with transaction(request) as session:
        result = await payments.register_payment(
            session, ctx.settings, ctx.gateway, alerts=ctx.alerts, **data
        )
    # A refused or unreachable gateway answers an error after the attempt is recorded.
    return dump(PaymentRegisteredSchema, result.registered())


@route(
    "/orders/<sberbank_order_id:uuid>/status_payment",
    "GET",
    auth=PUBLIC,
    writes=True,
    response=PaymentStatusSchema,
    errors=(404, 502),
    summary="Payment status of an attempt",
)
async def payment_status(request: Request, sberbank_order_id: UUID):
    app = request.app
    async with transaction(request) as session:
        body = await payments.payment_status(
            session, app.ctx.settings, app.ctx.gateway, str(sberbank_order_id), app.ctx.alerts
        )
    return dump(PaymentStatusSchema, body)


@route(
    "/payments/callback",
    "GET",
    "POST",
    auth=CHECKSUM,
    response=MessageSchema,
    errors=(403, 404),
    summary="Gateway notification (HMAC-SHA256 checksum)",
)
async def payment_callback(request: Request):
    settings = request.app.ctx.settings
    if not settings.SBER_CALLBACK_SECRET:
        raise NotFound("Not found")
    # Blank values are signed too: dropping them would break the checksum.
    if request.method == "POST":
        source = request.get_form(keep_blank_values=True) or {}
    else:
        source = request.get_args(keep_blank_values=True)
    params = {key: values[0] for key, values in source.items()}
    async with transaction(request) as session:
        await payments.accept_callback(session, settings, params, request.app.ctx.alerts)
    return dump(MessageSchema, {"message": "OK"})
