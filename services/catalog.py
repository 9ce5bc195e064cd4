"""The storefront catalogue: built with a fixed number of queries, cached per catalogue version."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.variations import variation_full
from db.models import CatalogState, Color, Good, Image, ProductsCare, Size, Structure, Variation

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
    """Staff edits bump the version; reservations by orders move variations.updated_at."""
    version = select(CatalogState.version).where(CatalogState.id == 1).scalar_subquery()
    touched = select(func.max(Variation.updated_at)).scalar_subquery()
    row = (await session.execute(select(version, touched))).one()
    return tuple(row)


@dataclass
class CachedPage:
    fingerprint: tuple
    body: bytes
    etag: str
    total: int


class CatalogCache:
    """Built responses of one worker; checked against the database at most once a second."""

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple, CachedPage] = OrderedDict()
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0

    def invalidate(self) -> None:
        self._checked_at = 0.0

    async def fingerprint(self, session: AsyncSession) -> tuple:
        now = time.monotonic()
        if self._fingerprint is None or now - self._checked_at >= VERSION_CHECK_INTERVAL_S:
            self._fingerprint = await catalog_fingerprint(session)
            self._checked_at = now
        return self._fingerprint

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


async def storefront_page(session: AsyncSession, cache: CatalogCache, filters: dict) -> CachedPage:
    key = tuple(sorted(filters.items()))
    fingerprint = await cache.fingerprint(session)
    page = cache.get(key, fingerprint)
    if page is None:
        items, total = await build_storefront(session, filters)
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
        page = CachedPage(fingerprint, body, etag, total)
        cache.put(key, page)
    return page


def _included(filters: dict):
    conditions = [Variation.good_id == Good.id, Variation.is_delete.is_(False)]
    if "color_id" in filters:
        conditions.append(Variation.color_id == filters["color_id"])
    if "size_id" in filters:
        conditions.append(Variation.size_id == filters["size_id"])
    return conditions


async def build_storefront(session: AsyncSession, filters: dict) -> tuple[list[dict], int]:
    """Three queries (goods, variations, images) plus a count when paging."""
    conditions = [
        Good.is_delete.is_(False),
        Good.is_visible.is_(True),
        exists().where(and_(*_included(filters))),
    ]
    if "category_id" in filters:
        conditions.append(Good.category_id == filters["category_id"])
    goods_query = (
        select(Good, Structure.name, ProductsCare.name)
        .join(Structure, Structure.id == Good.structure_id)
        .outerjoin(ProductsCare, ProductsCare.id == Good.products_care_id)
        .where(*conditions)
        .order_by(Good.id)
    )
    total = None
    if "page" in filters:
        count = min(filters["count"], 100)
        goods_query = goods_query.limit(count).offset((filters["page"] - 1) * count)
        total = await session.scalar(select(func.count()).select_from(Good).where(*conditions))
    goods = (await session.execute(goods_query)).all()
    good_ids = [good.id for good, _, _ in goods]
    if not good_ids:
        return [], total or 0
    variations = (
        await session.execute(
            select(Variation, Color, Size)
            .join(Good, Good.id == Variation.good_id)
            .join(Color, Color.id == Variation.color_id)
            .join(Size, Size.id == Variation.size_id)
            .where(Variation.good_id.in_(good_ids), *_included(filters))
            .order_by(Variation.id)
        )
    ).all()
    images_by_variation = await images_of(session, [v.id for v, _, _ in variations])
    by_good = defaultdict(list)
    for variation, color, size in variations:
        by_good[variation.good_id].append((variation, color, size))
    items = [
        _storefront_good(good, structure, care, by_good[good.id], images_by_variation)
        for good, structure, care in goods
    ]
    return items, total if total is not None else len(items)


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


def colors_and_picks(good: Good, variations: list[tuple]) -> tuple[list[dict], list[int]]:
    """Distinct colors (by lowest variation id) with their sizes, and one variation per color."""
    colors: dict[int, dict] = {}
    sizes: dict[int, dict[int, str]] = defaultdict(dict)
    picks: dict[int, int] = {}
    for variation, color, size in variations:
        if color.id not in colors:
            colors[color.id] = {"id": color.id, "name": color.name, "code": color.code}
            picks[color.id] = variation.id
        sizes[color.id][size.id] = size.name
        if variation.id == good.default_variation:
            picks[color.id] = variation.id
    listed = [
        {**color, "sizes": [{"id": sid, "name": sizes[cid][sid]} for sid in sorted(sizes[cid])]}
        for cid, color in colors.items()
    ]
    return listed, [picks[cid] for cid in colors]


def _storefront_good(good, structure, care, variations, images) -> dict:
    colors, picks = colors_and_picks(good, variations)
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
        "structure": structure,
        "products_care": care,
        "variations": [variation_full(v, c, s, images.get(v.id, [])) for v, c, s in variations],
        "colors": colors,
        "variations_to_show": picks,
    }
