"""Stock reservations of orders: reserve, release and consume, one atomic UPDATE per variation."""

from __future__ import annotations

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Variation
from db.models.base import utcnow
from services.errors import RuleViolation

OUT_OF_STOCK = "Insufficient number of variations in stock to order"
UPLOAD_LOCK_KEY = 0x1C5704

_variations = Variation.__table__
# Built once: checkout runs this for every line, and a prebuilt statement skips recompiling.
_RESERVE = (
    update(_variations)
    .where(
        _variations.c.id == bindparam("variation_id"),
        _variations.c.stock - _variations.c.reserved >= bindparam("wanted"),
    )
    .values(
        reserved=_variations.c.reserved + bindparam("wanted"),
        stock_changes=_variations.c.stock_changes + 1,
        updated_at=bindparam("now", type_=_variations.c.updated_at.type),
    )
)


async def reserve_stock(session: AsyncSession, quantities: dict[int, int]) -> None:
    """Reserve every line or nothing; ascending ids so concurrent checkouts never deadlock."""
    short = []
    now = utcnow()
    for variation_id in sorted(quantities):
        result = await session.execute(
            _RESERVE,
            {"variation_id": variation_id, "wanted": quantities[variation_id], "now": now},
        )
        if result.rowcount != 1:
            short.append(variation_id)
    if short:
        rows = await session.execute(
            select(Variation.id, Variation.stock - Variation.reserved).where(
                Variation.id.in_(short)
            )
        )
        available = {vid: max(left, 0) for vid, left in rows}
        raise RuleViolation(
            OUT_OF_STOCK,
            variations=[
                {
                    "variation_id": vid,
                    "requested": quantities[vid],
                    "available": available.get(vid, 0),
                }
                for vid in short
            ],
        )


async def release_stock(session: AsyncSession, quantities: dict[int, int]) -> None:
    for variation_id in sorted(quantities):
        await session.execute(
            update(Variation)
            .where(Variation.id == variation_id)
            .values(
                reserved=_minus(Variation.reserved, quantities[variation_id]),
                stock_changes=Variation.stock_changes + 1,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )


async def consume_stock(session: AsyncSession, quantities: dict[int, int]) -> None:
    """Hand-over to 1C: the sold units leave both the stock and the reservation.

    One statement run for every variation in id order (1C takes many orders at once)."""
    if not quantities:
        return
    now = utcnow()
    await session.execute(
        _CONSUME,
        [
            {"variation_id": variation_id, "sold": quantities[variation_id], "now": now}
            for variation_id in sorted(quantities)
        ],
    )


async def set_stock_levels(
    session: AsyncSession, new_stock: dict[int, int], current: dict[int, int]
) -> int:
    """Overwrite `stock` where it differs from `current`; reservations are never touched.

    Rows are updated in id order, like checkout's reservations, so the two never lock rows
    crosswise. Returns the number of rows changed.
    """
    now = utcnow()
    changes = [
        {"id": vid, "stock": stock, "updated_at": now}
        for vid, stock in sorted(new_stock.items())
        if current.get(vid) != stock
    ]
    if changes:
        await session.execute(update(Variation), changes)
    return len(changes)


async def serialise_stock_uploads(session: AsyncSession) -> None:
    """One 1C upload or import at a time across workers, until the transaction ends.

    SQLite transactions are exclusive already.
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(UPLOAD_LOCK_KEY)))


def _minus(column, amount):
    return case((column > amount, column - amount), else_=0)


_CONSUME = (
    update(_variations)
    .where(_variations.c.id == bindparam("variation_id"))
    .values(
        stock=_minus(_variations.c.stock, bindparam("sold")),
        reserved=_minus(_variations.c.reserved, bindparam("sold")),
        stock_changes=_variations.c.stock_changes + 1,
        updated_at=bindparam("now", type_=_variations.c.updated_at.type),
    )
)
