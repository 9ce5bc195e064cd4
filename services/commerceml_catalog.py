"""CommerceML import, catalogue part: 1C groups become categories, 1C goods become goods.

The lookups are loaded once per file and kept up to date in memory; new rows are inserted and
changed rows updated a chunk at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Category, Good, Structure
from db.models.base import utcnow
from db.queries.commerceml import insert_rows, update_rows
from helpers import commerceml as cml
from services.errors import ExchangeSettingMissing

NO_GROUP = "Без группы"
TEXT_LIMIT = 255
WEIGHT_LIMIT = Decimal(10) ** 9
GRAMS = Decimal("0.001")
COUNTS = (
    "groups_created",
    "groups_matched",
    "goods_created",
    "goods_updated",
    "goods_unchanged",
    "goods_hidden",
    "goods_skipped_conflict",
    "goods_skipped_deleted",
    "weights_invalid",
)


@dataclass(eq=False, slots=True)
class GoodRow:
    id: int | None
    one_c_guid: str | None
    good_1c_id: str | None
    article: str
    name: str
    barcode: str | None
    category_id: int
    weight: Decimal | None
    is_visible: bool

    def values(self) -> dict:
        return {
            "one_c_guid": self.one_c_guid,
            "good_1c_id": self.good_1c_id,
            "article": self.article,
            "name": self.name,
            "barcode": self.barcode,
            "category_id": self.category_id,
            "weight": self.weight,
            "is_visible": self.is_visible,
        }


class CatalogImport:
    """Groups and goods of one file, applied as they stream in."""

    def __init__(self, session: AsyncSession, settings, counts: Counter):
        self.session = session
        self.settings = settings
        self.counts = counts
        self.pending_groups: list[cml.Group] = []
        self.category_of_group: dict[str, int] | None = None
        self.category_by_name: dict[str, tuple[int, str | None]] = {}
        self.goods_by_guid: dict[str, GoodRow] | None = None
        self.goods_by_code: dict[str, GoodRow] = {}
        self.goods_by_article: dict[str, GoodRow] = {}
        self.new_only: dict[GoodRow, dict] = {}
        self.structure_id: int | None = None
        self.no_group_id: int | None = None

    def add_groups(self, groups: list[cml.Group]) -> None:
        self.pending_groups.extend(groups)

    async def flush_groups(self) -> None:
        """Match or create the groups read so far, parents before children."""
        await self._load_categories()
        groups, self.pending_groups = self.pending_groups, []
        depth: dict[str, int] = {}
        for group in groups:
            depth[group.id] = depth[group.parent_id] + 1 if group.parent_id in depth else 0
        for level in sorted(set(depth.values())):
            await self._groups_level([group for group in groups if depth[group.id] == level])

    async def _groups_level(self, groups: list[cml.Group]) -> None:
        new: dict[str, list[cml.Group]] = {}
        adopted = []
        for group in groups:
            if group.id in self.category_of_group:
                self.counts["groups_matched"] += 1
                continue
            name = group.name[:TEXT_LIMIT]
            found = self.category_by_name.get(name)
            if found is None:
                new.setdefault(name, []).append(group)
                continue
            category_id, one_c_id = found
            if one_c_id is None:
                adopted.append({"id": category_id, "one_c_id": group.id})
                self.category_by_name[name] = (category_id, group.id)
            self.category_of_group[group.id] = category_id
            self.counts["groups_matched"] += 1
        if adopted:
            await update_rows(self.session, Category, adopted)
        rows = [
            {
                "name": name,
                "one_c_id": same_name[0].id,
                "parent_id": self.category_of_group.get(same_name[0].parent_id or ""),
            }
            for name, same_name in new.items()
        ]
        ids = await insert_rows(self.session, Category, rows)
        for (name, same_name), category_id in zip(new.items(), ids, strict=True):
            self.category_by_name[name] = (category_id, same_name[0].id)
            for group in same_name:
                self.category_of_group[group.id] = category_id
        self.counts["groups_created"] += len(rows)

    async def add_goods(self, goods: list[cml.Good]) -> None:
        if self.pending_groups:
            await self.flush_groups()
        await self._load_categories()
        await self._load_goods()
        created: list[GoodRow] = []
        changed: list[GoodRow] = []
        for good in goods:
            row = self._match(good)
            if row is None and good.deleted:
                self.counts["goods_skipped_deleted"] += 1
            elif row is None:
                created.append(await self._new_row(good))
            elif row is not False:
                self._update(row, good, changed)
        if created:
            rows = [{**row.values(), **self.new_only[row]} for row in created]
            ids = await insert_rows(self.session, Good, rows)
            for row, good_id in zip(created, ids, strict=True):
                row.id = good_id
            self.new_only.clear()
        now = utcnow()
        changed = [row for row in dict.fromkeys(changed) if row.id is not None]
        if changed:
            rows = [{"id": row.id, **row.values(), "updated_at": now} for row in changed]
            await update_rows(self.session, Good, rows)

    def _match(self, good: cml.Good) -> GoodRow | Literal[False] | None:
        """The good's row; None when it is new; False when it is skipped (counted)."""
        row = self.goods_by_guid.get(good.id)
        if row is not None:
            return row
        row = (
            (good.code and self.goods_by_code.get(good.code))
            or self.goods_by_code.get(good.id)
            or (good.article and self.goods_by_article.get(good.article[:TEXT_LIMIT]))
            or None
        )
        if row is not None and row.one_c_guid is not None:
            # Another 1C good already owns this site good (1C allows repeated articles).
            self.counts["goods_skipped_conflict"] += 1
            return False
        return row

    async def _new_row(self, good: cml.Good) -> GoodRow:
        article = (good.article or good.code or good.id)[:TEXT_LIMIT]
        code = good.code[:TEXT_LIMIT] or None
        row = GoodRow(
            id=None,
            one_c_guid=good.id,
            good_1c_id=code if code not in self.goods_by_code else None,
            article=article,
            name=(good.name or article)[:TEXT_LIMIT],
            barcode=good.barcode[:TEXT_LIMIT] or None,
            category_id=self._category(good) or await self._no_group(),
            weight=self._weight(good),
            is_visible=False,
        )
        self.new_only[row] = {
            "structure_id": await self._structure(),
            "description": good.description,
        }
        self._remember(row)
        self.counts["goods_created"] += 1
        return row

    def _update(self, row: GoodRow, good: cml.Good, changed: list[GoodRow]) -> None:
        before = row.values()
        row.one_c_guid = good.id
        code = good.code[:TEXT_LIMIT]
        if row.good_1c_id is None and code and code not in self.goods_by_code:
            row.good_1c_id = code
        article = good.article[:TEXT_LIMIT]
        if article and self.goods_by_article.get(article, row) is row:
            self.goods_by_article.pop(row.article, None)
            row.article = article
        row.name = good.name[:TEXT_LIMIT] or row.name
        row.barcode = good.barcode[:TEXT_LIMIT] or row.barcode
        row.category_id = self._category(good) or row.category_id
        weight = self._weight(good)
        row.weight = row.weight if weight is None else weight
        if good.deleted and row.is_visible:
            row.is_visible = False
            self.counts["goods_hidden"] += 1
        self._remember(row)
        if row.values() == before:
            self.counts["goods_unchanged"] += 1
            return
        self.counts["goods_updated"] += 1
        changed.append(row)

    def _remember(self, row: GoodRow) -> None:
        self.goods_by_guid[row.one_c_guid] = row
        self.goods_by_article[row.article] = row
        if row.good_1c_id:
            self.goods_by_code[row.good_1c_id] = row

    def _category(self, good: cml.Good) -> int | None:
        return self.category_of_group.get(good.group_id) if good.group_id else None

    def _weight(self, good: cml.Good) -> Decimal | None:
        weight = good.weight
        if weight is None:
            return None
        if isinstance(weight, cml.BadNumber) or not 0 <= weight < WEIGHT_LIMIT:
            self.counts["weights_invalid"] += 1
            return None
        return weight.quantize(GRAMS)

    async def _structure(self) -> int:
        if self.structure_id is None:
            wanted = self.settings.ONEC_DEFAULT_STRUCTURE_ID
            if wanted is None:
                raise ExchangeSettingMissing(
                    "ONEC_DEFAULT_STRUCTURE_ID is not set: goods new to the site need a structure"
                )
            if await self.session.get(Structure, wanted) is None:
                raise ExchangeSettingMissing(
                    f"ONEC_DEFAULT_STRUCTURE_ID = {wanted} names no structure"
                )
            self.structure_id = wanted
        return self.structure_id

    async def _no_group(self) -> int:
        """The category of goods 1C puts in no group (or in a group the file lacks)."""
        if self.no_group_id is None:
            found = self.category_by_name.get(NO_GROUP)
            if found is None:
                [category_id] = await insert_rows(self.session, Category, [{"name": NO_GROUP}])
                found = self.category_by_name[NO_GROUP] = (category_id, None)
                self.counts["groups_created"] += 1
            self.no_group_id = found[0]
        return self.no_group_id

    async def _load_categories(self) -> None:
        if self.category_of_group is not None:
            return
        rows = (
            await self.session.execute(select(Category.id, Category.name, Category.one_c_id))
        ).all()
        self.category_of_group = {one_c_id: id_ for id_, _, one_c_id in rows if one_c_id}
        self.category_by_name = {name: (id_, one_c_id) for id_, name, one_c_id in rows}

    async def _load_goods(self) -> None:
        if self.goods_by_guid is not None:
            return
        self.goods_by_guid = {}
        rows = await self.session.execute(
            select(
                Good.id,
                Good.one_c_guid,
                Good.good_1c_id,
                Good.article,
                Good.name,
                Good.barcode,
                Good.category_id,
                Good.weight,
                Good.is_visible,
            )
        )
        for values in rows:
            row = GoodRow(*values)
            self.goods_by_article[row.article] = row
            if row.one_c_guid:
                self.goods_by_guid[row.one_c_guid] = row
            if row.good_1c_id:
                self.goods_by_code[row.good_1c_id] = row
