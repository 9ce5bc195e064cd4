"""Stock levels of variations: order reservations, 1C levels and staff edits, every change
written together with its movement (deltas, new levels, reason, order or upload, actor).

Every writer locks the rows first, in id order, so concurrent writers never deadlock and the
deltas are computed from the levels as they are; one statement then writes the new levels and
the movements. Nothing else writes `stock` or `reserved`, so the movements of a variation
always add up to its levels.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from db.catalog_version import catalog_changed
from db.models import StockMovement, Variation
from db.models.base import utcnow
from db.models.stock import ACTOR_KINDS
from db.queries.stock import (
    AVAILABLE,
    LOCK_LEVELS,
    NEW_MOVEMENTS,
    RESERVABLE_LEVELS,
    WRITE_LEVELS,
    WRITE_WITH_MOVEMENTS,
)
from services.errors import NotFound, RuleViolation

OUT_OF_STOCK = "Insufficient number of variations in stock to order"
UPLOAD_LOCK_KEY = 0x1C5704
# "opening" is written once, by the migration that started the history.
REASONS = frozenset(
    {
        "excel_remains",
        "json_remains",
        "commerceml",
        "admin_create",
        "admin_edit",
        "order_reserve",
        "order_release",
        "order_consume",
        "refund_return",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who changed the stock: a staff user, an API client, a customer, or the shop itself."""

    kind: str
    id: int | None = None

    def __post_init__(self):
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"unknown actor kind {self.kind!r}")


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Cause:
    """Why stock moves; recorded on each movement of one change."""

    reason: str
    actor: Actor
    _: KW_ONLY
    order_id: int | None = None
    upload_id: str | None = None

    def __post_init__(self):
        if self.reason not in REASONS:
            raise ValueError(f"unknown stock movement reason {self.reason!r}")


class Levels(NamedTuple):
    stock: int
    reserved: int


async def _lock_levels(session: AsyncSession, ids) -> dict[int, Levels]:
    if not ids:
        return {}
    statement = LOCK_LEVELS[session.bind.dialect.name]
    rows = await session.execute(statement, {"ids": sorted(ids)})
    return {variation_id: Levels(stock, reserved) for variation_id, stock, reserved in rows}


def _movement(variation_id: int, before: Levels, after: Levels, order_id: int | None) -> dict:
    return {
        "variation_id": variation_id,
        "delta_stock": after.stock - before.stock,
        "delta_reserved": after.reserved - before.reserved,
        "stock": after.stock,
        "reserved": after.reserved,
        "order_id": order_id,
    }


async def _write(
    session: AsyncSession, before: dict[int, Levels], after: dict[int, Levels], cause: Cause
) -> dict[int, Levels]:
    """Write the levels that differ from `before` (rows locked by this transaction) and their
    movements; returns what was written."""
    changed = {vid: after[vid] for vid in sorted(after) if after[vid] != before[vid]}
    movements = [_movement(vid, before[vid], new, cause.order_id) for vid, new in changed.items()]
    await _apply(session, changed, movements, cause)
    return changed


async def _apply(
    session: AsyncSession, levels: dict[int, Levels], movements: list[dict], cause: Cause
) -> None:
    """The new levels of the variations and the movements that led there."""
    if not levels:
        return
    catalog_changed(session)
    now = utcnow()
    about = {
        "reason": cause.reason,
        "upload_id": cause.upload_id,
        "actor_kind": cause.actor.kind,
        "actor_id": cause.actor.id,
    }
    if session.bind.dialect.name == "postgresql":
        arrays = {
            "levels_variation_id": list(levels),
            "levels_stock": [level.stock for level in levels.values()],
            "levels_reserved": [level.reserved for level in levels.values()],
            **{f"moves_{key}": [row[key] for row in movements] for key in movements[0]},
        }
        await WRITE_WITH_MOVEMENTS.rows(session, **arrays, **about, now=now)
        return
    await session.execute(
        WRITE_LEVELS,
        [
            {"variation_id": vid, "new_stock": new.stock, "new_reserved": new.reserved, "now": now}
            for vid, new in levels.items()
        ],
    )
    await session.execute(NEW_MOVEMENTS, [{**row, **about, "created_at": now} for row in movements])


@dataclass
class HeldStock:
    """Rows locked for a reservation that fits; `reserve` writes it once the order exists."""

    session: AsyncSession
    quantities: dict[int, int]
    levels: dict[int, Levels]

    async def reserve(self, cause: Cause) -> None:
        after = {
            vid: Levels(level.stock, level.reserved + self.quantities[vid])
            for vid, level in self.levels.items()
        }
        await _write(self.session, self.levels, after, cause)


async def _lock_reservable(session: AsyncSession, quantities: dict[int, int]) -> dict[int, Levels]:
    """The levels of the rows with enough available units, locked."""
    if session.bind.dialect.name != "postgresql":
        # SQLite runs one writing transaction at a time: nothing to wait for.
        levels = await _lock_levels(session, quantities)
        return {
            vid: level
            for vid, level in levels.items()
            if level.stock - level.reserved >= quantities[vid]
        }
    ids = sorted(quantities)
    rows = await RESERVABLE_LEVELS.rows(
        session, ids=ids, quantities=[quantities[vid] for vid in ids]
    )
    return {row["id"]: Levels(row["stock"], row["reserved"]) for row in rows}


async def hold_stock(session: AsyncSession, quantities: dict[int, int]) -> HeldStock:
    """Lock the rows of a reservation, all of it or nothing: raises when a line is short."""
    levels = await _lock_reservable(session, quantities)
    short = [vid for vid in sorted(quantities) if vid not in levels]
    if short:
        available = dict((await session.execute(AVAILABLE, {"ids": short})).all())
        raise RuleViolation(
            OUT_OF_STOCK,
            variations=[
                {
                    "variation_id": vid,
                    "requested": quantities[vid],
                    "available": max(available.get(vid, 0), 0),
                }
                for vid in short
            ],
        )
    return HeldStock(session, quantities, levels)


async def reserve_stock(session: AsyncSession, quantities: dict[int, int], cause: Cause) -> None:
    """Reserve every line or nothing."""
    held = await hold_stock(session, quantities)
    await held.reserve(cause)


async def release_stock(session: AsyncSession, quantities: dict[int, int], cause: Cause) -> None:
    levels = await _lock_levels(session, quantities)
    after = {
        vid: Levels(level.stock, max(level.reserved - quantities[vid], 0))
        for vid, level in levels.items()
    }
    await _write(session, levels, after, cause)


async def consume_stock(session: AsyncSession, quantities: dict[int, int], cause: Cause) -> None:
    """Hand-over of an order to 1C: the sold units leave both the stock and the reservation."""
    await consume_orders(session, {cause.order_id: quantities}, cause)


async def consume_orders(
    session: AsyncSession, orders: dict[int | None, dict[int, int]], cause: Cause
) -> None:
    """Hand-over of several orders at once (1C takes many): a movement per order and
    variation, all written in one statement."""
    before = await _lock_levels(session, {vid for lines in orders.values() for vid in lines})
    levels = dict(before)
    movements = []
    for order_id in sorted(orders, key=lambda key: key or 0):
        for vid, sold in sorted(orders[order_id].items()):
            if vid not in levels:
                continue
            level = levels[vid]
            new = Levels(max(level.stock - sold, 0), max(level.reserved - sold, 0))
            if new != level:
                movements.append(_movement(vid, level, new, order_id))
                levels[vid] = new
    changed = {vid: level for vid, level in sorted(levels.items()) if level != before[vid]}
    await _apply(session, changed, movements, cause)


async def set_stock_levels(
    session: AsyncSession,
    new_stock: dict[int, int],
    current: dict[int, int] | None = None,
    *,
    cause: Cause,
) -> int:
    """Overwrite `stock`; reservations are never touched. Returns the number of rows changed.

    `current` (stock read earlier without a lock) narrows the rows to lock to those that
    look different, so a full 1C report locks only the variations it changes.
    """
    wanted = {
        vid: stock
        for vid, stock in new_stock.items()
        if current is None or current.get(vid) != stock
    }
    levels = await _lock_levels(session, wanted)
    after = {vid: Levels(wanted[vid], level.reserved) for vid, level in levels.items()}
    return len(await _write(session, levels, after, cause))


async def set_variation_stock(
    session: AsyncSession, variation: Variation, stock: int, cause: Cause
) -> None:
    """Staff's edit of one variation, which the caller loaded FOR UPDATE or created."""
    before = {variation.id: Levels(variation.stock, variation.reserved)}
    written = await _write(
        session, before, {variation.id: Levels(stock, variation.reserved)}, cause
    )
    if written:
        set_committed_value(variation, "stock", stock)


async def serialise_stock_uploads(session: AsyncSession) -> None:
    """One 1C upload or import at a time across workers, until the transaction ends.

    SQLite transactions are exclusive already.
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(UPLOAD_LOCK_KEY)))


async def stock_history(
    session: AsyncSession, variation_id: int, limit: int, offset: int
) -> tuple[list[StockMovement], int]:
    """A variation's movements, newest first."""
    variation = await session.get(Variation, variation_id)
    if variation is None or variation.is_delete:
        raise NotFound("Variation not found")
    condition = StockMovement.variation_id == variation_id
    rows = await session.scalars(
        select(StockMovement)
        .where(condition)
        .order_by(StockMovement.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(StockMovement).where(condition))
    return list(rows), total
