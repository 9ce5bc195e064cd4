"""Users of the assortment Telegram bot, addressed by chat id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TelegramUser
from services.errors import AlreadyExists, NotFound


async def _check_chat_free(session: AsyncSession, chat_id: int, except_id=None) -> None:
    query = select(TelegramUser.id).where(TelegramUser.chat_id == chat_id)
    if except_id is not None:
        query = query.where(TelegramUser.id != except_id)
    if await session.scalar(query) is not None:
        raise AlreadyExists("Chat_id is busy")


async def get_bot_user(session: AsyncSession, chat_id: int) -> TelegramUser:
    user = await session.scalar(select(TelegramUser).where(TelegramUser.chat_id == chat_id))
    if user is None:
        raise NotFound("Telegram user not found")
    return user


async def create_bot_user(session: AsyncSession, data: dict) -> TelegramUser:
    await _check_chat_free(session, data["chat_id"])
    user = TelegramUser(**data)
    session.add(user)
    await session.flush()
    return user


async def update_bot_user(session: AsyncSession, chat_id: int, data: dict) -> TelegramUser:
    user = await get_bot_user(session, chat_id)
    if "chat_id" in data:
        await _check_chat_free(session, data["chat_id"], user.id)
    for key, value in data.items():
        setattr(user, key, value)
    await session.flush()
    return user
