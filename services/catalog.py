"""The storefront catalogue: built with a fixed number of queries, cached per catalogue version."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CatalogState, Color, Good, Image, ProductsCare, Size, Structure, Variation
from db.queries.catalog import good_order, included_variations, text_match, variation_conditions

VERSION_CHECK_INTERVAL_S = 1.0
CACHE_ENTRIES = 256


async def bump_catalog_version(session: AsyncSession) -> None:
    """Every catalogue write (staff edits, uploads) moves the shared version on."""
    result = await session.execute(
        update(CatalogState).where(CatalogState.id == 1).values(version=CatalogState.version + 1)
    )
    if result.rowcount == 0:
        await session.execute(insert(CatalogState).values(id=1, version=1))


async def catalog_fingerprint(session: AsyncSession) -> tuple:
    """Staff edits bump the version; each reservation change adds one to a variation's count.

    A sum grows with every commit whatever order concurrent checkouts commit in, where the
    latest `updated_at` could miss a checkout that stamped its time earlier but committed later.
    """
    version = select(CatalogState.version).where(CatalogState.id == 1).scalar_subquery()
    touched = select(func.coalesce(func.sum(Variation.stock_changes), 0)).scalar_subquery()
    row = (await session.execute(select(version, touched))).one()
    return tuple(row)


@dataclass
class CachedPage:
    fingerprint: tuple
    body: bytes
    etag: str
    total: int
    filters: tuple = ()


class CatalogCache:
    """Built responses of one worker; checked against the database at most once a second."""

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple, CachedPage] = OrderedDict()
        self._query_keys: dict[str, tuple] = {}
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0

    def invalidate(self) -> None:
        self._checked_at = 0.0

    def fingerprint_is_fresh(self) -> bool:
        return (
            self._fingerprint is not None
            and time.monotonic() - self._checked_at < VERSION_CHECK_INTERVAL_S
        )

    @property
    def current_fingerprint(self) -> tuple | None:
        return self._fingerprint

    async def fingerprint(self, session: AsyncSession) -> tuple:
        now = time.monotonic()
        if self._fingerprint is None or now - self._checked_at >= VERSION_CHECK_INTERVAL_S:
            self._fingerprint = await catalog_fingerprint(session)
            self._checked_at = now
        return self._fingerprint

    def key_of_query(self, query_string: str) -> tuple | None:
        return self._query_keys.get(query_string)

    def remember_query(self, query_string: str, key: tuple) -> None:
        if len(self._query_keys) >= CACHE_ENTRIES * 4:
            self._query_keys.clear()
        self._query_keys[query_string] = key

    def get(self, key: tuple, fingerprint: tuple) -> CachedPage | None:
        page = self._pages.get(key)
        if page is None or page.fingerprint != fingerprint:
            return None
        self._pages.move_to_end(key)
        return page

    def put(self, key: tuple, page: CachedPage) -> None:
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > CACHE_ENTRIES:
            self._pages.popitem(last=False)


def cached_page(cache: CatalogCache, query_string: str) -> CachedPage | None:
    """A page built for this very query string, when the version was checked < 1 s ago."""
    key = cache.key_of_query(query_string)
    if key is None or not cache.fingerprint_is_fresh():
        return None
    return cache.get(key, cache.current_fingerprint)


async def storefront_page(
    session: AsyncSession, cache: CatalogCache, filters: dict, query_string: str = ""
) -> CachedPage:
    key = tuple(sorted(filters.items()))
    cache.remember_query(query_string, key)
    fingerprint = await cache.fingerprint(session)
    page = cache.get(key, fingerprint)
    if page is None:
        items, total = await build_storefront(session, filters)
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
        page = CachedPage(fingerprint, body, etag, total, key)
        cache.put(key, page)
    return page


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
    page_ids = select(Good.id).where(*conditions).order_by(*order)
    total = None
    if "page" in filters:
        count = min(filters["count"], 100)
        offset = (filters["page"] - 1) * count
        goods_query = goods_query.limit(count).offset(offset)
        page_ids = page_ids.limit(count).offset(offset)
        total = await session.scalar(select(func.count()).select_from(Good).where(*conditions))
    # Core execution on the session's connection: plain tuples, no ORM row processing.
    connection = await session.connection()
    goods = (await connection.execute(goods_query)).all()
    if not goods:
        return [], total or 0
    # The page's goods and variations as subqueries: no long lists of bound ids.
    included = [Variation.good_id.in_(page_ids.scalar_subquery()), *variation_conditions(filters)]
    variations = (
        await connection.execute(
            select(
                *VARIATION_COLUMNS,
                Color.name.label("color_name"),
                Color.code,
                Size.name.label("size_name"),
            )
            .join(Color, Color.id == Variation.color_id)
            .join(Size, Size.id == Variation.size_id)
            .where(*included)
            .order_by(Variation.id)
        )
    ).all()
    images = await _image_rows(connection, select(Variation.id).where(*included))
    by_good = defaultdict(list)
    for variation in variations:
        by_good[variation[1]].append(tuple(variation))
    items = [_storefront_good(good, by_good[good.id], images) for good in goods]
    return items, total if total is not None else len(items)


async def _image_rows(connection, variation_ids) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = defaultdict(list)
    rows = await connection.execute(
        select(Image.variation_id, Image.id, Image.url, Image.model_info)
        .where(Image.variation_id.in_(variation_ids.scalar_subquery()))
        .order_by(Image.id)
    )
    for variation_id, image_id, url, model_info in rows:
        grouped[variation_id].append({"id": image_id, "url": url, "model_info": model_info})
    return grouped


def _variation_row(row: tuple, images: list[dict]) -> dict:
    (
        vid,
        good_id,
        name,
        color_id,
        size_id,
        price,
        discounted_price,
        code,
        stock,
        reserved,
        barcode,
        is_sale,
        is_new,
        color_name,
        color_code,
        size_name,
    ) = row
    return {
        "id": vid,
        "good_id": good_id,
        "name": name,
        "color_id": color_id,
        "size_id": size_id,
        "price": price,
        "discounted_price": discounted_price,
        "variation_1c_id": code,
        "amount": max(stock - reserved, 0),
        "barcode": barcode,
        "is_sale": is_sale,
        "is_new": is_new,
        "stock": stock,
        "reserved": reserved,
        "color": {"id": color_id, "name": color_name, "code": color_code},
        "size": {"id": size_id, "name": size_name},
        "size_name": size_name,
        "images": images,
    }


def _storefront_good(good, variations: list, images: dict[int, list[dict]]) -> dict:
    colors, picks = colors_and_picks(
        good.default_variation, [(v[0], v[3], v[13], v[14], v[4], v[15]) for v in variations]
    )
    return {
        "id": good.id,
        "name": good.name,
        "article": good.article,
        "category_id": good.category_id,
        "structure_id": good.structure_id,
        "products_care_id": good.products_care_id,
        "description": good.description,
        "is_visible": good.is_visible,
        "default_variation": good.default_variation,
        "weight": float(good.weight) if good.weight is not None else None,
        "structure": good.structure,
        "products_care": good.products_care,
        "variations": [_variation_row(row, images.get(row[0], [])) for row in variations],
        "colors": colors,
        "variations_to_show": picks,
    }


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
