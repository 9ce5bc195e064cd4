"""bcrypt password hashing, run in a worker thread so the event loop never waits on it."""

from __future__ import annotations

import asyncio

import bcrypt


def _hash(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _verify(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


async def hash_password(password: str, rounds: int = 12) -> str:
    return await asyncio.to_thread(_hash, password, rounds)


async def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    return await asyncio.to_thread(_verify, password, password_hash)


def hash_password_sync(password: str, rounds: int = 12) -> str:
    return _hash(password, rounds)
