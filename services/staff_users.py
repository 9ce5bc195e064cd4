"""Staff users: create, read, edit, list, delete, and the CLI's create-or-reset."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StaffUser
from helpers.passwords import hash_password
from services.errors import AlreadyExists, Conflict, NotFound, violated_unique


async def _login_taken(session: AsyncSession, login: str, except_id: int | None = None) -> bool:
    query = select(StaffUser.id).where(StaffUser.login == login)
    if except_id is not None:
        query = query.where(StaffUser.id != except_id)
    return (await session.scalar(query)) is not None


async def _flush_unique_login(session: AsyncSession) -> None:
    """A concurrent twin can pass the login check too; the unique index has the last word."""
    try:
        await session.flush()
    except IntegrityError as error:
        if "login" in violated_unique(error):
            raise AlreadyExists("Login is busy") from None
        raise


async def get_user(session: AsyncSession, user_id: int) -> StaffUser:
    user = await session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def create_user(session: AsyncSession, rounds: int, **data) -> StaffUser:
    if await _login_taken(session, data["login"]):
        raise AlreadyExists("Login is busy")
    user = StaffUser(
        login=data["login"],
        password_hash=await hash_password(data["password"], rounds),
        first_name=data["first_name"],
        last_name=data["last_name"],
    )
    session.add(user)
    await _flush_unique_login(session)
    return user


async def update_user(session: AsyncSession, rounds: int, user_id: int, **data) -> StaffUser:
    user = await get_user(session, user_id)
    if "login" in data and await _login_taken(session, data["login"], user_id):
        raise AlreadyExists("Login is busy")
    for key in ("login", "first_name", "last_name"):
        if key in data:
            setattr(user, key, data[key])
    if "password" in data:
        user.password_hash = await hash_password(data["password"], rounds)
        user.token_version += 1
    await _flush_unique_login(session)
    return user


async def list_users(session: AsyncSession, limit: int, offset: int) -> tuple[list, int]:
    total = await session.scalar(select(func.count()).select_from(StaffUser))
    rows = await session.scalars(
        select(StaffUser).order_by(StaffUser.id).limit(limit).offset(offset)
    )
    return list(rows), total or 0


async def delete_user(session: AsyncSession, user_id: int, acting_user_id: int | None) -> None:
    user = await get_user(session, user_id)
    if user.id == acting_user_id:
        raise Conflict("Cannot delete yourself")
    await session.delete(user)


async def create_or_reset_admin(
    session: AsyncSession, rounds: int, login: str, password: str, first_name: str, last_name: str
) -> tuple[StaffUser, bool]:
    user = await session.scalar(select(StaffUser).where(StaffUser.login == login))
    created = user is None
    if created:
        user = StaffUser(login=login, first_name=first_name, last_name=last_name)
        session.add(user)
    else:
        user.token_version += 1
    user.password_hash = await hash_password(password, rounds)
    await session.flush()
    return user, created
