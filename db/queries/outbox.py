"""Outbox statements of the dispatcher: claim a batch under a lease, renew it, hand it back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage


async def claim_batch(
    session: AsyncSession, now: datetime, lease_until: datetime, size: int
) -> list[OutboxMessage]:
    """The due rows no other dispatcher holds, leased to this one and counted as attempted.

    PostgreSQL skips rows another dispatcher is claiming at this moment (SKIP LOCKED)."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.state == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(size)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    for row in rows:
        row.locked_until = lease_until
        row.attempts += 1
    return rows


async def renew_lease(session: AsyncSession, row: OutboxMessage, until: datetime) -> bool:
    """Moves the row's lease on, only while this dispatcher still holds it."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.locked_until == row.locked_until)
        .values(locked_until=until)
    )
    return result.rowcount == 1


async def release_leases(session: AsyncSession, rows: list[OutboxMessage]) -> None:
    """Hands untried rows back at once, their attempt not counted."""
    for row in rows:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.locked_until == row.locked_until)
            .values(locked_until=None, attempts=OutboxMessage.attempts - 1)
        )


async def held_row(session: AsyncSession, row: OutboxMessage) -> OutboxMessage | None:
    """The row locked for marking its outcome, or None when this dispatcher's lease ran out."""
    stored = await session.get(OutboxMessage, row.id, with_for_update=True)
    if stored is None or stored.locked_until != row.locked_until:
        return None
    return stored
