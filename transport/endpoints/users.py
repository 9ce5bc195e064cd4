"""Staff user routes: create, login, read, edit, list and delete."""

from __future__ import annotations

from sanic import Request

from api.base import PageQuerySchema
from api.users import (
    LoginSchema,
    StaffTokenSchema,
    StaffUserCreateSchema,
    StaffUserPageSchema,
    StaffUserSchema,
    StaffUserUpdateSchema,
)
from services import auth, staff_users
from transport.http import dump, load_body, load_query, no_content, principal, transaction
from transport.limits import login_attempt
from transport.routing import ADMIN, PUBLIC, route


@route(
    "/users",
    "POST",
    auth=ADMIN,
    body=StaffUserCreateSchema,
    response=StaffUserSchema,
    status=201,
    errors=(400, 401, 403, 409),
    summary="Create a staff user",
)
async def create_user(request: Request):
    data = load_body(request, StaffUserCreateSchema)
    rounds = request.app.ctx.settings.BCRYPT_ROUNDS
    async with transaction(request) as session:
        user = await staff_users.create_user(session, rounds, **data)
    return dump(StaffUserSchema, user, status=201)


@route(
    "/users/auth",
    "POST",
    auth=PUBLIC,
    body=LoginSchema,
    response=StaffTokenSchema,
    errors=(400, 401, 404, 429),
    summary="Staff login",
)
async def login_user(request: Request):
    data = load_body(request, LoginSchema)
    settings = request.app.ctx.settings
    async with login_attempt(request, "staff", data["login"]), transaction(request) as session:
        result = await auth.login_staff(
            session, settings.JWT_SECRET, settings.JWT_ADMIN_TTL_MIN, **data
        )
    return dump(StaffTokenSchema, result)


@route(
    "/users/all",
    "GET",
    auth=ADMIN,
    query=PageQuerySchema,
    response=StaffUserPageSchema,
    errors=(400, 401, 403),
    summary="List staff users",
)
async def list_users(request: Request):
    page = load_query(request, PageQuerySchema)
    async with transaction(request) as session:
        users, count = await staff_users.list_users(session, page["limit"], page["offset"])
    return dump(StaffUserPageSchema, {"items": users, "count": count})


@route(
    "/users/<user_id:int>",
    "GET",
    auth=ADMIN,
    response=StaffUserSchema,
    errors=(401, 403, 404),
    summary="Read a staff user",
)
async def read_user(request: Request, user_id: int):
    async with transaction(request) as session:
        user = await staff_users.get_user(session, user_id)
    return dump(StaffUserSchema, user)


@route(
    "/users/<user_id:int>",
    "PATCH",
    auth=ADMIN,
    body=StaffUserUpdateSchema,
    response=StaffUserSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Edit a staff user",
)
async def update_user(request: Request, user_id: int):
    data = load_body(request, StaffUserUpdateSchema)
    rounds = request.app.ctx.settings.BCRYPT_ROUNDS
    async with transaction(request) as session:
        user = await staff_users.update_user(session, rounds, user_id, **data)
    return dump(StaffUserSchema, user)


@route(
    "/users/<user_id:int>",
    "DELETE",
    auth=ADMIN,
    status=204,
    errors=(401, 403, 404, 409),
    summary="Delete a staff user",
)
async def delete_user(request: Request, user_id: int):
    caller = principal(request)
    acting_id = caller.id if caller.kind == "staff" else None
    async with transaction(request) as session:
        await staff_users.delete_user(session, user_id, acting_id)
    return no_content()
