"""Variations: create, read, edit and soft delete; `amount` written by staff sets `stock`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Color, Good, Size, Variation
from db.queries.variations import ALL_VARIATIONS, VARIATION, with_images
from services.catalog import bump_catalog_version
from services.errors import AlreadyExists, NotFound, ValidationFailed
from services.goods import check_references
from services.stock import Actor, Cause, set_variation_stock

REFERENCES = {"color_id": (Color, "Color not found"), "size_id": (Size, "Size not found")}


async def _check_good(session: AsyncSession, good_id: int | None) -> Good | None:
    if good_id is None:
        return None
    good = await session.get(Good, good_id)
    if good is None or good.is_delete:
        raise ValidationFailed({"good_id": ["Good not found"]})
    return good


async def _check_1c_id(session: AsyncSession, code: str | None, except_id=None) -> None:
    if code is None:
        return
    query = select(Variation.id).where(Variation.variation_1c_id == code)
    if except_id is not None:
        query = query.where(Variation.id != except_id)
    if await session.scalar(query) is not None:
        raise AlreadyExists("Variation with this 1C id exists")


async def get_variation(
    session: AsyncSession, variation_id: int, for_update: bool = False
) -> Variation:
    variation = await session.get(
        Variation, variation_id, with_for_update=for_update, populate_existing=for_update
    )
    if variation is None or variation.is_delete:
        raise NotFound("Variation not found")
    return variation


async def create_variation(session: AsyncSession, data: dict, actor: Actor) -> Variation:
    await check_references(session, data, REFERENCES)
    good = await _check_good(session, data["good_id"])
    await _check_1c_id(session, data.get("variation_1c_id"))
    is_default = data.pop("is_default", False)
    stock = data.pop("amount")
    variation = Variation(**data, stock=0, reserved=0)
    session.add(variation)
    await session.flush()
    await set_variation_stock(session, variation, stock, Cause("admin_create", actor))
    if is_default:
        good.default_variation = variation.id
    await bump_catalog_version(session)
    return variation


async def update_variation(
    session: AsyncSession, variation_id: int, data: dict, actor: Actor
) -> Variation:
    variation = await get_variation(session, variation_id, for_update=True)
    await check_references(session, data, REFERENCES)
    await _check_good(session, data.get("good_id"))
    await _check_1c_id(session, data.get("variation_1c_id"), variation_id)
    is_default = data.pop("is_default", None)
    amount = data.pop("amount", None)
    stock = data.pop("stock", amount)
    if stock is not None:
        await set_variation_stock(session, variation, stock, Cause("admin_edit", actor))
    for key, value in data.items():
        setattr(variation, key, value)
    good = await session.get(Good, variation.good_id)
    if is_default is True:
        good.default_variation = variation.id
    elif is_default is False and good.default_variation == variation.id:
        good.default_variation = None
    await session.flush()
    await bump_catalog_version(session)
    return variation


async def delete_variation(session: AsyncSession, variation_id: int) -> None:
    variation = await get_variation(session, variation_id)
    variation.is_delete = True
    good = await session.get(Good, variation.good_id)
    if good.default_variation == variation.id:
        good.default_variation = None
    await session.flush()
    await bump_catalog_version(session)


async def public_variation(session: AsyncSession, variation_id: int) -> dict:
    """The variation of a good not deleted, with its color, size and images."""
    variations = with_images(await VARIATION.rows(session, id=variation_id))
    if not variations:
        raise NotFound("Variation not found")
    return variations[0]


async def all_public_variations(session: AsyncSession) -> list[dict]:
    return with_images(await ALL_VARIATIONS.rows(session))
