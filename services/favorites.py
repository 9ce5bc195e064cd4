"""Favorites: idempotent add, filtered lists, and bulk removal by ids."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Favorite, Good
from db.prepared import Extended
from helpers.timestamps import within_days
from services.activity import record_activity
from services.customers import get_active_customer, get_customer
from services.errors import NotFound, RuleViolation
from services.outbox import emit_event

MAX_IDS = 1000


def _shown_good():
    return (Good.is_delete.is_(False), Good.is_visible.is_(True))


async def add_favorite(session: AsyncSession, customer_id: int, good_id: int):
    """(favorite with its good, created): an existing favorite is returned unchanged."""
    await get_active_customer(session, customer_id)
    good = await session.scalar(select(Good).where(Good.id == good_id, *_shown_good()))
    if good is None:
        raise NotFound("Good not found")
    existing = await session.scalar(
        select(Favorite).where(Favorite.customer_id == customer_id, Favorite.good_id == good_id)
    )
    if existing is not None:
        return Extended(existing, good=good), False
    favorite = Favorite(customer_id=customer_id, good_id=good_id)
    session.add(favorite)
    await session.flush()
    await emit_event(
        session, "FavoriteAdded", customer_id=customer_id, favorite_id=favorite.id, good_id=good_id
    )
    await record_activity(session, "favorite_added", customer_id, {"good_id": good_id})
    return Extended(favorite, good=good), True


async def list_favorites(session: AsyncSession, filters: dict, customer_id: int | None = None):
    if customer_id is not None:
        await get_customer(session, customer_id)
    conditions = list(_shown_good())
    if customer_id is not None:
        conditions.append(Favorite.customer_id == customer_id)
    if filters.get("customer_id"):
        conditions.append(Favorite.customer_id.in_(filters["customer_id"]))
    if filters.get("good_id"):
        conditions.append(Favorite.good_id.in_(filters["good_id"]))
    if "category_id" in filters:
        conditions.append(Good.category_id == filters["category_id"])
    conditions += within_days(
        Favorite.created_at, filters.get("created_from"), filters.get("created_to")
    )
    joined = select(Favorite, Good).join(Good, Good.id == Favorite.good_id).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(joined.subquery()))
    rows = await session.execute(
        joined.order_by(Favorite.created_at.desc(), Favorite.id.desc())
        .limit(filters["limit"])
        .offset(filters["offset"])
    )
    return [Extended(favorite, good=good) for favorite, good in rows], total or 0


def parse_ids(raw) -> list[int]:
    """The id list of a bulk delete: a non-empty list of at most 1000 integers."""
    message = "id must be a non-empty list"
    if not isinstance(raw, list) or not raw or len(raw) > MAX_IDS:
        raise RuleViolation(message)
    ids = []
    for value in raw:
        if isinstance(value, bool):
            raise RuleViolation(message)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise RuleViolation(message) from None
        if isinstance(value, float) and not value.is_integer():
            raise RuleViolation(message)
        ids.append(number)
    # Ids beyond the id column's range cannot exist; like unknown ids they are ignored.
    return [number for number in ids if 0 < number < 2**31]


async def remove_favorites(session: AsyncSession, customer_id: int, ids: list[int]) -> int:
    await get_active_customer(session, customer_id)
    rows = list(
        await session.execute(
            delete(Favorite)
            .where(Favorite.customer_id == customer_id, Favorite.id.in_(ids))
            .returning(Favorite.id, Favorite.good_id)
        )
    )
    for favorite_id, good_id in rows:
        await emit_event(
            session,
            "FavoriteRemoved",
            customer_id=customer_id,
            favorite_id=favorite_id,
            good_id=good_id,
        )
        await record_activity(session, "favorite_removed", customer_id, {"good_id": good_id})
    return len(rows)
