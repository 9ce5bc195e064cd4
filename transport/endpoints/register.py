"""`POST /register`: registration as the CRM clients know it (422 validation, `detail`)."""

from __future__ import annotations

from sanic import Request

from api.register import RegisteredSchema, RegisterSchema
from services import register
from transport.http import dump, load_body, transaction
from transport.limits import limit_request
from transport.routing import PUBLIC, route


@route(
    "/register",
    "POST",
    auth=PUBLIC,
    body=RegisterSchema,
    response=RegisteredSchema,
    status=201,
    errors=(400, 422, 429),
    validation_status=422,
    error_detail=True,
    summary="Register a customer (CRM form)",
)
async def register_person(request: Request):
    await limit_request(request, "signup")
    data = load_body(request, RegisterSchema)
    async with transaction(request) as session:
        person = await register.register_person(session, data)
    return dump(RegisteredSchema, person, status=201)
