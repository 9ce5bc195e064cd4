"""Routes of the assortment bot: its users and their conversation state."""

from __future__ import annotations

from sanic import Request

from api.telegram_users import (
    TelegramUserCreateSchema,
    TelegramUserSchema,
    TelegramUserUpdateSchema,
)
from services import telegram_users
from transport.http import dump, load_body, transaction
from transport.routing import TELEGRAM_BOT, route

BOT_USER = "/telegram_users/<telegram_user_id:int>"


@route(
    "/telegram_users",
    "POST",
    auth=TELEGRAM_BOT,
    body=TelegramUserCreateSchema,
    response=TelegramUserSchema,
    status=201,
    errors=(400, 401, 409),
    summary="Register a bot user",
)
async def create_bot_user(request: Request):
    data = load_body(request, TelegramUserCreateSchema)
    async with transaction(request) as session:
        user = await telegram_users.create_bot_user(session, data)
    return dump(TelegramUserSchema, user, status=201)


@route(
    BOT_USER,
    "GET",
    auth=TELEGRAM_BOT,
    response=TelegramUserSchema,
    errors=(401, 404),
    summary="Read a bot user by chat id",
)
async def read_bot_user(request: Request, telegram_user_id: int):
    async with transaction(request) as session:
        user = await telegram_users.get_bot_user(session, telegram_user_id)
    return dump(TelegramUserSchema, user)


@route(
    BOT_USER,
    "PATCH",
    auth=TELEGRAM_BOT,
    body=TelegramUserUpdateSchema,
    response=TelegramUserSchema,
    errors=(400, 401, 404, 409),
    summary="Edit a bot user",
)
async def update_bot_user(request: Request, telegram_user_id: int):
    data = load_body(request, TelegramUserUpdateSchema)
    async with transaction(request) as session:
        user = await telegram_users.update_bot_user(session, telegram_user_id, data)
    return dump(TelegramUserSchema, user)
