"""API clients exchange their key for a short-lived token."""

from __future__ import annotations

from sanic import Request

from api.users import AccessTokenSchema, ApiKeySchema
from services import auth
from transport.http import dump, load_body, transaction
from transport.limits import login_attempt
from transport.routing import PUBLIC, route


@route(
    "/auth/token",
    "POST",
    auth=PUBLIC,
    body=ApiKeySchema,
    response=AccessTokenSchema,
    errors=(400, 401, 403, 429),
    summary="Exchange an API key for a token",
)
async def issue_api_token(request: Request):
    data = load_body(request, ApiKeySchema)
    settings = request.app.ctx.settings
    # The key is the secret itself: its failures count per IP, whatever key was tried.
    async with login_attempt(request, "api_client"), transaction(request) as session:
        result = await auth.exchange_api_key(
            session, settings.JWT_SECRET, settings.API_TOKEN_TTL_MIN, data["api_key"]
        )
    return dump(AccessTokenSchema, result)
