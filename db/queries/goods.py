"""Good reads: one good with the names of its category, structure and care and its full
variations, in one statement."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from db.models import Category, Good, ProductsCare, Structure
from db.prepared import PreparedRead
from db.queries.variations import full_variations

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

_DETAILS = (
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


def _good_with_variations():
    """The good's details (`good__*`) on each of its variation rows (db/queries/variations.py),
    or on one row of NULL variation columns when it has none."""
    good = _DETAILS.subquery("good")
    variations = full_variations().order_by(None).subquery("variation")
    return (
        select(*(column.label(f"good__{column.name}") for column in good.c), *variations.c)
        .select_from(good.outerjoin(variations, variations.c.good_id == good.c.id))
        .order_by(variations.c.id, variations.c.image_id)
    )


GOOD_WITH_VARIATIONS = PreparedRead(_good_with_variations())
