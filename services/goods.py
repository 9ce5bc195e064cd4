"""Goods: create, read with variations, edit, soft delete, and the public variation list."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog_version import CATALOG_VERSION
from db.models import Category, Good, ProductsCare, Structure
from db.prepared import RowPart
from db.queries.goods import GOOD_WITH_VARIATIONS
from db.queries.variations import GOOD_VARIATIONS, with_images
from services.catalog import bump_catalog_version, colors_and_picks
from services.catalog_cache import VersionedBodies
from services.errors import AlreadyExists, NotFound, ValidationFailed

REFERENCES = {
    "category_id": (Category, "Category not found"),
    "structure_id": (Structure, "Structure not found"),
    "products_care_id": (ProductsCare, "Products care not found"),
}


async def check_references(session: AsyncSession, data: dict, references: dict) -> None:
    """Ids in the body that point at missing rows -> 400 naming every such field."""
    problems = {}
    for key, (model, message) in references.items():
        if data.get(key) is not None and await session.get(model, data[key]) is None:
            problems[key] = [message]
    if problems:
        raise ValidationFailed(problems)


async def _check_unique(session: AsyncSession, data: dict, except_id: int | None = None):
    for column, message in (
        (Good.article, "Good with this article exists"),
        (Good.good_1c_id, "Good with this 1C id exists"),
    ):
        value = data.get(column.key)
        if value is None:
            continue
        query = select(Good.id).where(column == value)
        if except_id is not None:
            query = query.where(Good.id != except_id)
        if await session.scalar(query) is not None:
            raise AlreadyExists(message)


async def get_good(session: AsyncSession, good_id: int, public: bool = False) -> Good:
    good = await session.get(Good, good_id)
    if good is None or good.is_delete or (public and not good.is_visible):
        raise NotFound("Good not found")
    return good


async def create_good(session: AsyncSession, data: dict) -> Good:
    await check_references(session, data, REFERENCES)
    await _check_unique(session, data)
    good = Good(**data)
    session.add(good)
    await session.flush()
    await bump_catalog_version(session)
    return good


async def update_good(session: AsyncSession, good_id: int, data: dict) -> Good:
    good = await get_good(session, good_id)
    await check_references(session, data, REFERENCES)
    await _check_unique(session, data, good_id)
    for key, value in data.items():
        setattr(good, key, value)
    await session.flush()
    await bump_catalog_version(session)
    return good


async def delete_good(session: AsyncSession, good_id: int) -> None:
    good = await get_good(session, good_id)
    good.is_delete = True
    await session.flush()
    await bump_catalog_version(session)


async def good_details_body(
    session: AsyncSession, bodies: VersionedBodies, good_id: int, render: Callable[[dict], bytes]
) -> bytes:
    """The good's details as `render` writes them, kept per catalogue version: until the
    catalogue changes, a good read again costs one small read (the version, read before the
    details so a body is never older than the version it is kept at)."""
    version = (await CATALOG_VERSION.first(session))["version"]
    body = bodies.get(good_id, version)
    if body is None:
        body = render(await good_details(session, good_id))
        bodies.put(good_id, version, body)
    return body


async def good_details(session: AsyncSession, good_id: int) -> dict:
    """The good's row with the names it refers to, its variations and those to show."""
    rows = await GOOD_WITH_VARIATIONS.rows(session, id=good_id)
    if not rows:
        raise NotFound("Good not found")
    good = RowPart(rows[0], "good__")
    variations = with_images(row for row in rows if row["id"] is not None)
    return {
        **good,
        "variations": variations,
        "variations_to_show": variations_to_show(good["default_variation"], variations),
    }


def variations_to_show(default_variation: int | None, variations: list) -> list[int]:
    _, picks = colors_and_picks(
        default_variation,
        (
            (v["id"], v["color_id"], v["color_name"], v["color_code"], v["size_id"], v["size_name"])
            for v in variations
        ),
    )
    return picks


async def public_variations(session: AsyncSession, good_id: int) -> list[dict]:
    await get_good(session, good_id, public=True)
    return with_images(await GOOD_VARIATIONS.rows(session, good_id=good_id))
