"""API clients of integrations, managed from the command line."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiClient
from helpers.tokens import hash_api_key, new_api_key
from services.errors import AlreadyExists, NotFound


async def create_api_client(
    session: AsyncSession, name: str, is_admin: bool
) -> tuple[ApiClient, str]:
    """Returns the client and its key; only the key's hash is stored."""
    if await session.scalar(select(ApiClient.id).where(ApiClient.name == name)):
        raise AlreadyExists("API client with this name exists")
    api_key = new_api_key()
    client = ApiClient(name=name, key_hash=hash_api_key(api_key), is_admin=is_admin)
    session.add(client)
    await session.flush()
    return client, api_key


async def deactivate_api_client(session: AsyncSession, name: str) -> ApiClient:
    client = await session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise NotFound("API client not found")
    client.is_active = False
    await session.flush()
    return client
