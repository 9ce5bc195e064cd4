"""Full variations (with color, size and images) read in one statement each, as flat rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.sql import Select

from db.models import Color, Good, Image, Size, Variation
from db.prepared import PreparedRead, RowPart

_variations = Variation.__table__
_goods = Good.__table__
_colors = Color.__table__
_sizes = Size.__table__
_images = Image.__table__

VARIATION_COLUMNS = tuple(
    _variations.c[name]
    for name in (
        "id",
        "good_id",
        "name",
        "color_id",
        "size_id",
        "price",
        "discounted_price",
        "variation_1c_id",
        "barcode",
        "is_sale",
        "is_new",
        "stock",
        "reserved",
    )
)


def full_variations(*conditions) -> Select:
    """Non-deleted variations with `color_*`, `size_*` and one row per image (`image_*`)."""
    return (
        select(
            *VARIATION_COLUMNS,
            _colors.c.name.label("color_name"),
            _colors.c.code.label("color_code"),
            _sizes.c.name.label("size_name"),
            _images.c.id.label("image_id"),
            _images.c.url.label("image_url"),
            _images.c.model_info.label("image_model_info"),
        )
        .select_from(
            _variations.join(_goods, _goods.c.id == _variations.c.good_id)
            .join(_colors, _colors.c.id == _variations.c.color_id)
            .join(_sizes, _sizes.c.id == _variations.c.size_id)
            .outerjoin(_images, _images.c.variation_id == _variations.c.id)
        )
        .where(_variations.c.is_delete.is_(False), *conditions)
        .order_by(_variations.c.id, _images.c.id)
    )


VARIATION = PreparedRead(
    full_variations(_variations.c.id == bindparam("id"), _goods.c.is_delete.is_(False))
)
GOOD_VARIATIONS = PreparedRead(full_variations(_variations.c.good_id == bindparam("good_id")))
ALL_VARIATIONS = PreparedRead(full_variations(_goods.c.is_delete.is_(False)))


def with_images(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One item per variation of rows in variation order: its row, its images under `images`."""
    items: list[dict[str, Any]] = []
    for row in rows:
        if not items or items[-1]["id"] != row["id"]:
            items.append({**row, "images": []})
        if row["image_id"] is not None:
            items[-1]["images"].append(RowPart(row, "image_"))
    return items
