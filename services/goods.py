"""Goods: create, read with variations, edit, soft delete, and the public variation list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Category, Color, Good, ProductsCare, Size, Structure, Variation
from services.catalog import bump_catalog_version, colors_and_picks, images_of
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


def variation_fields(variation: Variation) -> dict:
    """The Variation object of the API; `amount` is what can be sold."""
    return {
        "id": variation.id,
        "good_id": variation.good_id,
        "name": variation.name,
        "color_id": variation.color_id,
        "size_id": variation.size_id,
        "price": variation.price,
        "discounted_price": variation.discounted_price,
        "variation_1c_id": variation.variation_1c_id,
        "amount": max(variation.stock - variation.reserved, 0),
        "barcode": variation.barcode,
        "is_sale": variation.is_sale,
        "is_new": variation.is_new,
        "stock": variation.stock,
        "reserved": variation.reserved,
    }


def variation_full(variation: Variation, color: Color, size: Size, images) -> dict:
    return {
        **variation_fields(variation),
        "color": {"id": color.id, "name": color.name, "code": color.code},
        "size": {"id": size.id, "name": size.name},
        "size_name": size.name,
        "images": [{"id": i.id, "url": i.url, "model_info": i.model_info} for i in images],
    }


async def full_variations(session: AsyncSession, *conditions) -> tuple[list, list[dict]]:
    """Rows and VariationFull dicts of non-deleted variations, by id, in two queries."""
    rows = (
        await session.execute(
            select(Variation, Color, Size)
            .join(Good, Good.id == Variation.good_id)
            .join(Color, Color.id == Variation.color_id)
            .join(Size, Size.id == Variation.size_id)
            .where(Variation.is_delete.is_(False), *conditions)
            .order_by(Variation.id)
        )
    ).all()
    images = await images_of(session, [variation.id for variation, _, _ in rows])
    return rows, [variation_full(v, c, s, images.get(v.id, [])) for v, c, s in rows]


async def good_details(session: AsyncSession, good_id: int) -> dict:
    good = await get_good(session, good_id)
    category = await session.get(Category, good.category_id)
    structure = await session.get(Structure, good.structure_id)
    care = await session.get(ProductsCare, good.products_care_id) if good.products_care_id else None
    rows, variations = await full_variations(session, Variation.good_id == good_id)
    _, picks = colors_and_picks(
        good.default_variation,
        ((v.id, c.id, c.name, c.code, s.id, s.name) for v, c, s in rows),
    )
    return {
        "good": good,
        "category_name": category.name,
        "structure_name": structure.name,
        "products_care_name": care.name if care else None,
        "variations": variations,
        "variations_to_show": picks,
    }


async def public_variations(session: AsyncSession, good_id: int) -> list[dict]:
    await get_good(session, good_id, public=True)
    _, variations = await full_variations(session, Variation.good_id == good_id)
    return variations
