"""Bulk statements of the CommerceML import: rows inserted and updated in chunks, row locks."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Variation

CHUNK = 2000


async def insert_rows(session: AsyncSession, model, rows: list[dict]) -> list[int]:
    """Insert the rows, a chunk per statement; their new ids in the order of `rows`."""
    ids: list[int] = []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), CHUNK):
        result = await session.execute(statement, rows[start : start + CHUNK])
        ids.extend(result.scalars())
    return ids


async def update_rows(session: AsyncSession, model, rows: list[dict]) -> None:
    """Update rows by their `id` key; every dict has the same keys, so each chunk is one
    executemany."""
    for start in range(0, len(rows), CHUNK):
        await session.execute(update(model), rows[start : start + CHUNK])


async def lock_variations(session: AsyncSession, ids: list[int]) -> None:
    """Row locks on the variations an import will write, taken in id order before any write.

    Checkout reserves its lines in id order too, so the two wait for each other instead of
    locking rows crosswise (SQLite has no row locks: its write transactions are exclusive).
    """
    if session.bind.dialect.name != "postgresql":
        return
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        await session.execute(
            select(Variation.id)
            .where(Variation.id.in_(chunk))
            .order_by(Variation.id)
            .with_for_update()
        )
