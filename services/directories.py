"""Directories: list, read, create, edit and delete, with the contract's in-use rule."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Category,
    Color,
    DeliveryType,
    Good,
    Material,
    Order,
    ProductsCare,
    Size,
    Status,
    StatusChange,
    Structure,
    Variation,
)
from db.prepared import PreparedRead
from helpers.transliteration import latin_to_cyrillic
from services.catalog import bump_catalog_version
from services.errors import AlreadyExists, Conflict, NotFound, ValidationFailed

UNSET = object()


@dataclass(frozen=True)
class Directory:
    model: type
    label: str
    references: tuple = ()


DIRECTORIES = {
    "materials": Directory(Material, "Material"),
    "categories": Directory(Category, "Category", (Good.category_id, Category.parent_id)),
    "structures": Directory(Structure, "Structure", (Good.structure_id,)),
    "products_care": Directory(ProductsCare, "Products care", (Good.products_care_id,)),
    "sizes": Directory(Size, "Size", (Variation.size_id,)),
    "colors": Directory(Color, "Color", (Variation.color_id,)),
    "statuses": Directory(Status, "Status", (Order.status_id, StatusChange.status_id)),
    "delivery_types": Directory(DeliveryType, "Delivery type", (Order.delivery_type_id,)),
}


ALL_ITEMS = {
    kind: PreparedRead(select(directory.model.__table__).order_by(directory.model.id))
    for kind, directory in DIRECTORIES.items()
}
_categories = Category.__table__
TOP_CATEGORIES = PreparedRead(
    select(_categories).where(_categories.c.parent_id.is_(None)).order_by(_categories.c.id)
)
CHILD_CATEGORIES = PreparedRead(
    select(_categories)
    .where(_categories.c.parent_id == bindparam("parent_id"))
    .order_by(_categories.c.id)
)


async def list_items(session: AsyncSession, kind: str, parent_id=UNSET, name: str | None = None):
    """Rows of the directory by id; categories by parent (None: top level) and by name."""
    if parent_id is UNSET:
        items = await ALL_ITEMS[kind].rows(session)
    elif parent_id is None:
        items = await TOP_CATEGORIES.rows(session)
    else:
        items = await CHILD_CATEGORIES.rows(session, parent_id=parent_id)
    if name is not None:
        wanted = {name.casefold(), latin_to_cyrillic(name).casefold()}
        items = [item for item in items if item["name"].casefold() in wanted]
    return items


async def get_item(session: AsyncSession, kind: str, item_id: int):
    directory = DIRECTORIES[kind]
    item = await session.get(directory.model, item_id)
    if item is None:
        raise NotFound(f"{directory.label} not found")
    return item


async def _check_name_free(session: AsyncSession, kind: str, name: str, except_id=None) -> None:
    directory = DIRECTORIES[kind]
    query = select(directory.model.id).where(directory.model.name == name)
    if except_id is not None:
        query = query.where(directory.model.id != except_id)
    if await session.scalar(query) is not None:
        raise AlreadyExists(f"{directory.label} with this name exists")


async def _check_parent(session: AsyncSession, category_id: int | None, parent_id) -> None:
    if parent_id is None:
        return
    if await session.get(Category, parent_id) is None:
        raise ValidationFailed({"parent_id": ["Category not found"]})
    ancestor = parent_id
    while ancestor is not None:
        if ancestor == category_id:
            raise ValidationFailed({"parent_id": ["A category cannot be its own ancestor"]})
        ancestor = await session.scalar(select(Category.parent_id).where(Category.id == ancestor))


async def create_item(session: AsyncSession, kind: str, data: dict):
    await _check_name_free(session, kind, data["name"])
    if kind == "categories":
        await _check_parent(session, None, data.get("parent_id"))
    item = DIRECTORIES[kind].model(**data)
    session.add(item)
    await session.flush()
    return item


async def update_item(session: AsyncSession, kind: str, item_id: int, data: dict):
    item = await get_item(session, kind, item_id)
    if "name" in data:
        await _check_name_free(session, kind, data["name"], item_id)
    if kind == "categories" and "parent_id" in data:
        await _check_parent(session, item_id, data["parent_id"])
    for key, value in data.items():
        setattr(item, key, value)
    await session.flush()
    await bump_catalog_version(session)
    return item


async def delete_item(session: AsyncSession, kind: str, item_id: int) -> None:
    directory = DIRECTORIES[kind]
    item = await get_item(session, kind, item_id)
    for column in directory.references:
        if await session.scalar(select(exists().where(column == item_id))):
            raise Conflict(f"{directory.label} is in use")
    await session.delete(item)
    await session.flush()
