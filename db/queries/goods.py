"""Good reads: one good with the names of its category, structure and care, in one statement."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from db.models import Category, Good, ProductsCare, Structure
from db.prepared import PreparedRead

_goods = Good.__table__
_categories = Category.__table__
_structures = Structure.__table__
_care = ProductsCare.__table__

GOOD_COLUMNS = tuple(
    _goods.c[name]
    for name in (
        "id",
        "name",
        "article",
        "good_1c_id",
        "category_id",
        "barcode",
        "structure_id",
        "products_care_id",
        "description",
        "is_visible",
        "default_variation",
        "weight",
        "tax_type",
        "is_marked",
    )
)

GOOD_DETAILS = PreparedRead(
    select(
        *GOOD_COLUMNS,
        _categories.c.name.label("category_name"),
        _structures.c.name.label("structure_name"),
        _care.c.name.label("products_care_name"),
    )
    .select_from(
        _goods.join(_categories, _categories.c.id == _goods.c.category_id)
        .join(_structures, _structures.c.id == _goods.c.structure_id)
        .outerjoin(_care, _care.c.id == _goods.c.products_care_id)
    )
    .where(_goods.c.id == bindparam("id"), _goods.c.is_delete.is_(False))
)
