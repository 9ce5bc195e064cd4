"""API clients exchange their key for a short-lived token."""

from __future__ import annotations

from sanic import Request

from api.users import AccessTokenSchema, ApiKeySchema
from services import auth
from services.errors import Unauthorized
from transport.http import dump, load_body, transaction
from transport.limits import check_limit, count_hit
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
    check_limit(request, "login")
    try:
        async with transaction(request) as session:
            result = await auth.exchange_api_key(
                session, settings.JWT_SECRET, settings.API_TOKEN_TTL_MIN, data["api_key"]
            )
    except Unauthorized:
        count_hit(request, "login")
        raise
    return dump(AccessTokenSchema, result)
