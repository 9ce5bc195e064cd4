"""Social network links of a customer, validated by the link's host."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SocialAccount
from services.customers import get_active_customer, get_customer
from services.errors import AlreadyExists, NotFound, Unprocessable
from services.outbox import emit_event

NETWORK_HOSTS = {
    "vk": ("vk.com", "vk.ru"),
    "telegram": ("t.me", "telegram.me", "telegram.org"),
    "discord": ("discord.com", "discord.gg"),
    "tiktok": ("tiktok.com",),
    "instagram": ("instagram.com",),
    "twitter": ("twitter.com", "x.com"),
}


def link_belongs_to(network: str, url: str) -> bool:
    """Browsers read a backslash as a slash and skip user info, so either could hide the host."""
    if "\\" in url:
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not host or "@" in parts.netloc:
        return False
    return any(
        host == allowed or host.endswith("." + allowed) for allowed in NETWORK_HOSTS[network]
    )


async def list_accounts(session: AsyncSession, customer_id: int) -> list[SocialAccount]:
    await get_customer(session, customer_id)
    rows = await session.scalars(
        select(SocialAccount)
        .where(SocialAccount.customer_id == customer_id)
        .order_by(SocialAccount.connected_at, SocialAccount.id)
    )
    return list(rows)


async def link_account(session: AsyncSession, customer_id: int, data: dict) -> SocialAccount:
    await get_active_customer(session, customer_id)
    network = data["network"].lower()
    if network not in NETWORK_HOSTS:
        raise Unprocessable("Unknown social network", "network")
    if not link_belongs_to(network, data["url"]):
        raise Unprocessable("Link does not belong to the network", "url")
    taken = await session.scalar(
        select(SocialAccount.id).where(
            SocialAccount.customer_id == customer_id, SocialAccount.network == network
        )
    )
    if taken is not None:
        raise AlreadyExists("Social network already linked")
    account = SocialAccount(
        customer_id=customer_id, network=network, url=data["url"], reason=data.get("reason")
    )
    session.add(account)
    await session.flush()
    await emit_event(
        session,
        "SocialAccountLinked",
        customer_id=customer_id,
        account_id=account.id,
        network=network,
        url=account.url,
        reason=account.reason,
    )
    return account


async def _own_account(session: AsyncSession, customer_id: int, account_id: int):
    await get_active_customer(session, customer_id)
    account = await session.get(SocialAccount, account_id)
    if account is None or account.customer_id != customer_id:
        raise NotFound("Social account not found")
    return account


async def change_reason(session: AsyncSession, customer_id: int, account_id: int, reason):
    account = await _own_account(session, customer_id, account_id)
    if account.reason != reason:
        account.reason = reason
        await emit_event(
            session,
            "SocialAccountReasonChanged",
            customer_id=customer_id,
            account_id=account.id,
            reason=reason,
        )
    await session.flush()
    return account


async def unlink_account(session: AsyncSession, customer_id: int, account_id: int) -> None:
    account = await _own_account(session, customer_id, account_id)
    await session.delete(account)
    await emit_event(
        session,
        "SocialAccountUnlinked",
        customer_id=customer_id,
        account_id=account.id,
        network=account.network,
    )
