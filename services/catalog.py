"""The storefront catalogue: built with a fixed number of queries, cached per catalogue version."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog_version import CATALOG_VERSION, catalog_changed
from db.models import Color, Good, Image, ProductsCare, Size, Structure, Variation
from db.queries.catalog import good_order, included_variations, text_match, variation_conditions
from services.catalog_cache import CachedPage, CatalogCache

# Smaller pages fit in a packet or two either way.
GZIP_FROM_BYTES = 1024


async def bump_catalog_version(session: AsyncSession) -> None:
    """Every catalogue write (staff edits, uploads, stock) moves the version on as it commits."""
    catalog_changed(session)


async def catalog_version(db) -> int:
    async with db.reads() as reads:
        return (await CATALOG_VERSION.first(reads))["version"]


def storefront_filters(filters: dict) -> dict:
    """`count` means something only with `page`."""
    return filters if "page" in filters else {k: v for k, v in filters.items() if k != "count"}


async def storefront_page(
    db, cache: CatalogCache, filters: dict, render: Callable[[list], bytes]
) -> CachedPage:
    """The page for `filters` as of the catalogue's current version, built when missing;
    `render` writes the response body of the goods."""
    version = await cache.version(lambda: catalog_version(db))
    key = tuple(sorted(filters.items()))
    return await cache.page(key, version, lambda: _build_page(db, filters, version, render))


async def _build_page(db, filters: dict, version: int, render) -> CachedPage:
    async with db.read_session() as session:
        items, total = await build_storefront(session, filters)
    # Writing out (and gzipping) the whole catalogue takes tens of milliseconds of CPU: done in
    # a thread, so the worker's other requests go on meanwhile instead of waiting for the loop.
    body, gzip_body = await asyncio.to_thread(_written_page, render, items)
    etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
    return CachedPage(version, body, etag, total, gzip_body)


def _written_page(render: Callable[[list], bytes], items: list) -> tuple[bytes, bytes | None]:
    body = render(items)
    if len(body) < GZIP_FROM_BYTES:
        return body, None
    return body, gzip.compress(body, compresslevel=6, mtime=0)


GOOD_COLUMNS = (
    Good.id,
    Good.name,
    Good.article,
    Good.category_id,
    Good.structure_id,
    Good.products_care_id,
    Good.description,
    Good.is_visible,
    Good.default_variation,
    Good.weight,
)
VARIATION_COLUMNS = (
    Variation.id,
    Variation.good_id,
    Variation.name,
    Variation.color_id,
    Variation.size_id,
    Variation.price,
    Variation.discounted_price,
    Variation.variation_1c_id,
    Variation.stock,
    Variation.reserved,
    Variation.barcode,
    Variation.is_sale,
    Variation.is_new,
)


async def build_storefront(session: AsyncSession, filters: dict) -> tuple[list[dict], int]:
    """Three queries of plain columns (goods, variations, images) plus a count when paging."""
    conditions = [
        Good.is_delete.is_(False),
        Good.is_visible.is_(True),
        exists().where(and_(*included_variations(filters))),
    ]
    if "category_id" in filters:
        conditions.append(Good.category_id == filters["category_id"])
    if filters.get("q"):
        conditions.append(text_match(session.bind.dialect.name, filters["q"]))
    order = good_order(filters)
    goods_query = (
        select(
            *GOOD_COLUMNS,
            Structure.name.label("structure"),
            ProductsCare.name.label("products_care"),
        )
        .join(Structure, Structure.id == Good.structure_id)
        .outerjoin(ProductsCare, ProductsCare.id == Good.products_care_id)
        .where(*conditions)
        .order_by(*order)
    )
    paged = "page" in filters
    total = None
    if paged:
        count = min(filters["count"], 100)
        goods_query = goods_query.limit(count).offset((filters["page"] - 1) * count)
        total = await session.scalar(select(func.count()).select_from(Good).where(*conditions))
    # Core execution on the session's connection: plain rows, no ORM row processing.
    connection = await session.connection()
    goods = (await connection.execute(goods_query)).mappings().all()
    if not goods:
        return [], total or 0
    # A page names its goods (100 at most), so the goods' conditions are not evaluated again;
    # the whole catalogue is read through a subquery, so no statement carries thousands of ids.
    if paged:
        in_page = Variation.good_id.in_([good["id"] for good in goods])
    else:
        total = len(goods)
        in_page = Variation.good_id.in_(select(Good.id).where(*conditions).scalar_subquery())
    included = [in_page, *variation_conditions(filters)]
    variations = (
        await connection.execute(
            select(
                *VARIATION_COLUMNS,
                Color.name.label("color_name"),
                Color.code.label("color_code"),
                Size.name.label("size_name"),
            )
            .join(Color, Color.id == Variation.color_id)
            .join(Size, Size.id == Variation.size_id)
            .where(*included)
            .order_by(Variation.id)
        )
    ).mappings()
    images = await _image_rows(connection, select(Variation.id).where(*included))
    by_good = defaultdict(list)
    for variation in variations:
        by_good[variation["good_id"]].append({**variation, "images": images[variation["id"]]})
    items = [_storefront_good(good, by_good[good["id"]]) for good in goods]
    return items, total


async def _image_rows(connection, variation_ids) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    rows = await connection.execute(
        select(Image.variation_id, Image.id, Image.url, Image.model_info)
        .where(Image.variation_id.in_(variation_ids.scalar_subquery()))
        .order_by(Image.id)
    )
    for row in rows.mappings():
        grouped[row["variation_id"]].append(row)
    return grouped


def _storefront_good(good, variations: list[dict]) -> dict:
    """The good's row with its variations, their colors and the variation to show of each."""
    colors, picks = colors_and_picks(
        good["default_variation"],
        (
            (v["id"], v["color_id"], v["color_name"], v["color_code"], v["size_id"], v["size_name"])
            for v in variations
        ),
    )
    return {**good, "variations": variations, "colors": colors, "variations_to_show": picks}


async def images_of(session: AsyncSession, variation_ids: list[int]) -> dict[int, list[Image]]:
    grouped: dict[int, list[Image]] = defaultdict(list)
    if not variation_ids:
        return grouped
    rows = await session.scalars(
        select(Image).where(Image.variation_id.in_(variation_ids)).order_by(Image.id)
    )
    for image in rows:
        grouped[image.variation_id].append(image)
    return grouped


def colors_and_picks(default_variation, entries) -> tuple[list[dict], list[int]]:
    """Distinct colors (by lowest variation id) with their sizes, and one variation per color.

    `entries` are (variation id, color id, color name, color code, size id, size name) in
    ascending variation id order.
    """
    colors: dict[int, dict] = {}
    sizes: dict[int, dict[int, str]] = defaultdict(dict)
    picks: dict[int, int] = {}
    for vid, color_id, color_name, color_code, size_id, size_name in entries:
        if color_id not in colors:
            colors[color_id] = {"id": color_id, "name": color_name, "code": color_code}
            picks[color_id] = vid
        sizes[color_id][size_id] = size_name
        if vid == default_variation:
            picks[color_id] = vid
    listed = [
        {**color, "sizes": [{"id": sid, "name": sizes[cid][sid]} for sid in sorted(sizes[cid])]}
        for cid, color in colors.items()
    ]
    return listed, [picks[cid] for cid in colors]
