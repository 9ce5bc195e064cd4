"""Stock statements: variation rows locked in id order, new levels written with their movements.

Built once per dialect: checkout runs them on every order, and a prebuilt statement with a
fixed text is also prepared once by asyncpg, however many lines an order has.
"""

from __future__ import annotations

from sqlalchemy import JSON, Integer, String, any_, bindparam, column, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from db.models import StockMovement, Variation
from db.prepared import PreparedWrite

_variations = Variation.__table__
_movements = StockMovement.__table__

# A movement's own columns travel as arrays, one element per movement; the cause's are shared.
MOVEMENT_COLUMNS = (
    "variation_id",
    "delta_stock",
    "delta_reserved",
    "stock",
    "reserved",
    "order_id",
)
CAUSE_COLUMNS = ("reason", "upload_id", "actor_kind", "actor_id")
_NOW = bindparam("now", type_=_variations.c.updated_at.type)


def _locked_levels(ids_condition):
    return (
        select(_variations.c.id, _variations.c.stock, _variations.c.reserved)
        .where(ids_condition)
        .order_by(_variations.c.id)
        .with_for_update()
    )


# Ids travel as one array (PostgreSQL) or one JSON text (SQLite): a single parameter, so an
# upload of 100,000 rows stays within the drivers' parameter limits.
LOCK_LEVELS = {
    "postgresql": _locked_levels(_variations.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))),
    "sqlite": _locked_levels(
        _variations.c.id.in_(
            select(column("value", Integer)).select_from(
                func.json_each(bindparam("ids", type_=JSON))
            )
        )
    ),
}


def _reservable_levels():
    """PostgreSQL: the rows with enough available units, locked in id order.

    A row without enough is neither returned nor locked, and one that stops fitting while
    this waits for its lock is skipped after the wait, so checkouts of a sold-out variation
    fail without queueing for it, as a conditional UPDATE would.
    """
    arrays = (bindparam(name, type_=ARRAY(Integer)) for name in ("ids", "quantities"))
    wanted = func.unnest(*arrays).table_valued("id", "quantity").render_derived()
    return (
        select(_variations.c.id, _variations.c.stock, _variations.c.reserved)
        .join(wanted, wanted.c.id == _variations.c.id)
        .where(_variations.c.stock - _variations.c.reserved >= wanted.c.quantity)
        .order_by(_variations.c.id)
        .with_for_update(of=_variations)
    )


RESERVABLE_LEVELS = PreparedWrite(_reservable_levels())
AVAILABLE = select(_variations.c.id, _variations.c.stock - _variations.c.reserved).where(
    _variations.c.id.in_(bindparam("ids", expanding=True))
)

_CAUSE_PARAMS = (
    bindparam("reason", type_=String),
    bindparam("upload_id", type_=String),
    bindparam("actor_kind", type_=String),
    bindparam("actor_id", type_=Integer),
)


def _unnest(name: str, columns: tuple[str, ...]):
    arrays = (bindparam(f"{name}_{column}", type_=ARRAY(Integer)) for column in columns)
    return select(func.unnest(*arrays).table_valued(*columns).render_derived()).cte(name)


def _write_with_movements():
    """PostgreSQL: the new levels and their movements in one statement, one round trip."""
    levels = _unnest("levels", ("variation_id", "stock", "reserved"))
    moves = _unnest("moves", MOVEMENT_COLUMNS)
    moved = (
        update(_variations)
        .where(_variations.c.id == levels.c.variation_id)
        .values(
            stock=levels.c.stock,
            reserved=levels.c.reserved,
            stock_changes=_variations.c.stock_changes + 1,
            updated_at=_NOW,
        )
        .cte("moved")
    )
    return (
        insert(_movements)
        .from_select(
            [*MOVEMENT_COLUMNS, *CAUSE_COLUMNS, "created_at"],
            select(*(moves.c[name] for name in MOVEMENT_COLUMNS), *_CAUSE_PARAMS, _NOW),
        )
        .add_cte(moved)
    )


WRITE_WITH_MOVEMENTS = PreparedWrite(_write_with_movements())
# SQLite has no data-modifying WITH; its two statements run in-process, not over a network.
WRITE_LEVELS = (
    update(_variations)
    .where(_variations.c.id == bindparam("variation_id"))
    .values(
        stock=bindparam("new_stock"),
        reserved=bindparam("new_reserved"),
        stock_changes=_variations.c.stock_changes + 1,
        updated_at=_NOW,
    )
)
NEW_MOVEMENTS = insert(_movements)
