"""Bulk statements of the CommerceML import: rows inserted and updated in chunks, row locks."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Variation

CHUNK = 2000
_variations = Variation.__table__
VARIATION_COLUMNS = (
    _variations.c.id,
    _variations.c.good_id,
    _variations.c.one_c_guid,
    _variations.c.name,
    _variations.c.price,
    _variations.c.discounted_price,
    _variations.c.barcode,
    _variations.c.color_id,
    _variations.c.size_id,
    _variations.c.stock,
    _variations.c.is_delete,
)


async def variations_by_guid(session: AsyncSession, guids: list[str]) -> list:
    """VARIATION_COLUMNS of the variations tied to these 1C offers."""
    rows = []
    for start in range(0, len(guids), CHUNK):
        condition = _variations.c.one_c_guid.in_(guids[start : start + CHUNK])
        rows.extend(await session.execute(select(*VARIATION_COLUMNS).where(condition)))
    return rows


async def untied_variations(session: AsyncSession, good_ids: list[int]) -> list:
    """VARIATION_COLUMNS of the goods' variations not tied to 1C (and not deleted), by id."""
    rows = []
    for start in range(0, len(good_ids), CHUNK):
        query = (
            select(*VARIATION_COLUMNS)
            .where(
                _variations.c.good_id.in_(good_ids[start : start + CHUNK]),
                _variations.c.one_c_guid.is_(None),
                _variations.c.is_delete.is_(False),
            )
            .order_by(_variations.c.id)
        )
        rows.extend(await session.execute(query))
    return rows


async def tied_stock(session: AsyncSession) -> list:
    """(id, stock) of every variation tied to 1C and not deleted."""
    query = select(_variations.c.id, _variations.c.stock).where(
        _variations.c.one_c_guid.is_not(None), _variations.c.is_delete.is_(False)
    )
    return list(await session.execute(query))


async def insert_rows(session: AsyncSession, model, rows: list[dict]) -> list[int]:
    """Insert the rows, a chunk per statement; their new ids in the order of `rows`."""
    ids: list[int] = []
    # The table, not the ORM entity: ORM bulk inserts leave out None values, and every change
    # in which keys are None would start another statement.
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
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
