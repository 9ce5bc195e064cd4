"""Customer password reset: ask for a link by email or phone, then set a new password."""

from __future__ import annotations

from sanic import Request

from api.base import MessageSchema
from api.password_resets import PasswordResetConfirmSchema, PasswordResetRequestSchema
from services import password_resets
from transport.http import dump, load_body, no_content, transaction
from transport.limits import limit_request
from transport.routing import PUBLIC, route

SENT = "If the account exists, a reset link has been sent to its email"


@route(
    "/customers/password_reset",
    "POST",
    auth=PUBLIC,
    body=PasswordResetRequestSchema,
    response=MessageSchema,
    status=202,
    errors=(400, 429),
    summary="Mail a password reset link (always 202: accounts are not disclosed)",
)
async def request_password_reset(request: Request):
    data = load_body(request, PasswordResetRequestSchema)
    await limit_request(request, "signup", data["login"])
    async with transaction(request) as session:
        await password_resets.request_password_reset(
            session, request.app.ctx.settings, data["login"]
        )
    return dump(MessageSchema, {"message": SENT}, status=202)


@route(
    "/customers/password_reset/confirm",
    "POST",
    auth=PUBLIC,
    body=PasswordResetConfirmSchema,
    status=204,
    errors=(400, 429),
    summary="Set a new password with a reset token; the customer's other sessions end",
)
async def confirm_password_reset(request: Request):
    await limit_request(request, "login")
    data = load_body(request, PasswordResetConfirmSchema)
    rounds = request.app.ctx.settings.BCRYPT_ROUNDS
    async with transaction(request) as session:
        await password_resets.confirm_password_reset(
            session, rounds, data["token"], data["password"]
        )
    return no_content()
