"""CommerceML import, offers part: 1C offers become variations with their prices and stock.

Offers are matched and new variations inserted as they stream in; the changes to existing
variations and all stock levels are written at the end of the file, in id order, because
checkout locks variations in id order too. Reservations are never touched.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Color, Good, Size, Variation
from db.models.base import utcnow
from db.queries.commerceml import (
    insert_rows,
    lock_variations,
    tied_stock,
    untied_variations,
    update_rows,
    variations_by_guid,
)
from helpers import commerceml as cml
from helpers.money import whole_rubles
from services.errors import ExchangeSettingMissing
from services.stock import SYSTEM, Cause, set_stock_levels

NO_COLOR = "Без цвета"
NO_SIZE = "Без размера"
TEXT_LIMIT = 255
INT_LIMIT = 2**31 - 1
KEEP = object()
COUNTS = (
    "offers_created",
    "offers_updated",
    "offers_unchanged",
    "offers_skipped_unknown_good",
    "offers_skipped_unknown",
    "offers_skipped_no_price",
    "prices_invalid",
    "quantities_invalid",
    "quantities_negative",
    "quantities_fractional",
    "stock_zeroed",
    "colors_created",
    "sizes_created",
)


@dataclass(eq=False, slots=True)
class VariationRow:
    id: int | None
    good_id: int
    one_c_guid: str | None
    name: str
    price: int
    discounted_price: int | None
    barcode: str | None
    color_id: int
    size_id: int
    stock: int
    is_delete: bool

    def values(self) -> dict:
        return {
            "one_c_guid": self.one_c_guid,
            "name": self.name,
            "price": self.price,
            "discounted_price": self.discounted_price,
            "barcode": self.barcode,
        }


class OffersImport:
    """The offers of one file: price types first, then the offers as they stream in."""

    def __init__(self, session: AsyncSession, settings, counts: Counter, upload_id: str):
        self.session = session
        self.settings = settings
        self.counts = counts
        self.upload_id = upload_id
        self.price_types: dict[str, cml.PriceType] = {}
        self.price_type_id: str | None = None
        self.sale_type_id: str | None = None
        self.loaded = False
        self.rows: list[VariationRow] = []
        self.listed: set[VariationRow] = set()
        self.untied_loaded: set[int] = set()
        self.by_guid: dict[str, VariationRow] = {}
        self.unclaimed: dict[int, list[VariationRow]] = defaultdict(list)
        self.goods: dict[str, tuple[int, str]] = {}
        self.colors: dict[str, int] = {}
        self.sizes: dict[str, int] = {}
        self.stock: dict[VariationRow, int] = {}
        self.changed: set[VariationRow] = set()
        self.carries_stock = False
        self.carries_prices = False

    def add_price_types(self, price_types: list[cml.PriceType]) -> None:
        self.price_types.update((price_type.id, price_type) for price_type in price_types)

    async def add_offers(self, offers: list[cml.Offer]) -> None:
        await self._load()
        await self._load_variations(offers)
        created: list[VariationRow] = []
        for offer in offers:
            if offer.prices:
                self.carries_prices = True
                if self.price_type_id is None:
                    self._resolve_price_types()
            row = self.by_guid.get(offer.id) or self._claim(offer)
            if row is None:
                row = await self._create(offer)
                if row is not None:
                    created.append(row)
                    self.listed.add(row)
                    self._stock(row, offer)
                continue
            self.listed.add(row)
            before = (row.values(), self.stock.get(row, row.stock))
            row.one_c_guid = offer.id
            self.by_guid[offer.id] = row
            self._update(row, offer)
            self._stock(row, offer)
            if row.values() != before[0]:
                self.changed.add(row)
            after = (row.values(), self.stock.get(row, row.stock))
            self.counts["offers_updated" if after != before else "offers_unchanged"] += 1
        if created:
            rows = [
                {**row.values(), "good_id": row.good_id, "color_id": row.color_id}
                | {"size_id": row.size_id, "stock": 0}
                for row in created
            ]
            ids = await insert_rows(self.session, Variation, rows)
            for row, variation_id in zip(created, ids, strict=True):
                row.id = variation_id
            self.rows.extend(created)

    async def _create(self, offer: cml.Offer) -> VariationRow | None:
        good = self.goods.get(offer.good_id)
        if good is None:
            self.counts["offers_skipped_unknown_good"] += 1
            return None
        if not offer.name:
            # Prices and rests files name offers by Ид only: nothing to build a variation from.
            self.counts["offers_skipped_unknown"] += 1
            return None
        price = self._price(offer, self.price_type_id)
        if price is None and not offer.prices and not offer.has_stock:
            price = 0  # a description-only offer: its prices file follows
        if price is None:
            self.counts["offers_skipped_no_price"] += 1
            return None
        sale = self._sale_price(offer, price)
        color, size = self._characteristics(offer)
        row = VariationRow(
            id=None,
            good_id=good[0],
            one_c_guid=offer.id,
            name=offer.name[:TEXT_LIMIT],
            price=price,
            discounted_price=None if sale is KEEP else sale,
            barcode=offer.barcode[:TEXT_LIMIT] or None,
            color_id=await self._directory_id(Color, self.colors, color or NO_COLOR),
            size_id=await self._directory_id(Size, self.sizes, size or NO_SIZE),
            stock=0,
            is_delete=False,
        )
        self.by_guid[offer.id] = row
        self.counts["offers_created"] += 1
        return row

    def _claim(self, offer: cml.Offer) -> VariationRow | None:
        """A variation of the offer's good not yet tied to 1C: by barcode, by color and size,
        or the good's only one for an offer without characteristics."""
        good = self.goods.get(offer.good_id)
        candidates = self.unclaimed.get(good[0], []) if good else []
        if not candidates:
            return None
        color, size = self._characteristics(offer)
        found = None
        if offer.barcode:
            found = next((row for row in candidates if row.barcode == offer.barcode), None)
        if found is None and (color or size):
            color_id = _known(self.colors, color or NO_COLOR)
            size_id = _known(self.sizes, size or NO_SIZE)
            found = next(
                (row for row in candidates if (row.color_id, row.size_id) == (color_id, size_id)),
                None,
            )
        if found is None and not (color or size) and len(candidates) == 1:
            found = candidates[0]
        if found is not None:
            candidates.remove(found)
        return found

    def _update(self, row: VariationRow, offer: cml.Offer) -> None:
        row.name = offer.name[:TEXT_LIMIT] or row.name
        row.barcode = offer.barcode[:TEXT_LIMIT] or row.barcode
        if offer.prices:
            price = self._price(offer, self.price_type_id)
            row.price = row.price if price is None else price
            sale = self._sale_price(offer, row.price)
            row.discounted_price = row.discounted_price if sale is KEEP else sale

    def _stock(self, row: VariationRow, offer: cml.Offer) -> None:
        if not offer.has_stock:
            return
        self.carries_stock = True
        values = (
            [offer.quantity] if offer.quantity is not None else list(offer.warehouse_quantities)
        )
        if any(isinstance(value, cml.BadNumber) for value in values):
            self.counts["quantities_invalid"] += 1
            return
        total = sum(values, Decimal(0))
        if total < 0:
            self.counts["quantities_negative"] += 1
            total = Decimal(0)
        whole = int(total.to_integral_value(rounding=ROUND_FLOOR))
        if whole != total:
            self.counts["quantities_fractional"] += 1
        if whole > INT_LIMIT:
            self.counts["quantities_invalid"] += 1
            return
        self.stock[row] = whole

    def _price(self, offer: cml.Offer, type_id: str | None) -> int | None:
        """The offer's price of that type in whole rubles; None when absent or invalid."""
        value = next((p.value for p in offer.prices if p.type_id == type_id), None)
        if value is None:
            return None
        if isinstance(value, cml.BadNumber) or value < 0 or whole_rubles(value) > INT_LIMIT:
            self.counts["prices_invalid"] += 1
            return None
        return whole_rubles(value)

    def _sale_price(self, offer: cml.Offer, price: int):
        """The discounted price (None: no sale price below the price), or KEEP when sale
        prices are not imported or the offer's is invalid."""
        if self.sale_type_id is None:
            return KEEP
        if not any(item.type_id == self.sale_type_id for item in offer.prices):
            return None
        sale = self._price(offer, self.sale_type_id)
        if sale is None:
            return KEEP
        return sale if sale < price else None

    def _characteristics(self, offer: cml.Offer) -> tuple[str, str]:
        found = {name.casefold(): value for name, value in offer.characteristics if value}
        return found.get("цвет", "")[:TEXT_LIMIT], found.get("размер", "")[:TEXT_LIMIT]

    def _resolve_price_types(self) -> None:
        self.price_type_id = self._price_type("ONEC_PRICE_TYPE_ID", required=True)
        self.sale_type_id = self._price_type("ONEC_SALE_PRICE_TYPE_ID", required=False)

    def _price_type(self, setting: str, required: bool) -> str | None:
        wanted = getattr(self.settings, setting)
        listed = "; ".join(f"{item.id} ({item.name})" for item in self.price_types.values())
        if not wanted:
            if not required:
                return None
            raise ExchangeSettingMissing(
                f"{setting} is not set: choose the price type of the site's prices"
                + (f" among the file's: {listed}" if listed else "")
            )
        if not self.price_types or wanted in self.price_types:
            return wanted
        for item in self.price_types.values():
            if item.name.casefold() == wanted.casefold():
                return item.id
        raise ExchangeSettingMissing(
            f"{setting} = {wanted} is none of the file's price types: {listed}"
        )

    async def _directory_id(self, model, known: dict[str, int], name: str) -> int:
        """A color or size by name (exact, else ignoring case), created when missing."""
        found = _known(known, name)
        if found is None:
            values = {"name": name, "code": ""} if model is Color else {"name": name}
            [found] = await insert_rows(self.session, model, [values])
            known[name] = known[name.casefold()] = found
            self.counts["colors_created" if model is Color else "sizes_created"] += 1
        return found

    @property
    def kind(self) -> str:
        """offers; or rests / prices for the packages newer 1C sends with only one of them."""
        if self.carries_stock and not self.carries_prices:
            return "rests"
        if self.carries_prices and not self.carries_stock:
            return "prices"
        return "offers"

    async def finish(self, full_snapshot: bool) -> tuple[int, int]:
        """Write the changed variations and the stock; (stock set from the file, zeroed).

        A full snapshot sets the stock of the 1C variations it does not list to 0.
        """
        if not self.loaded:
            return 0, 0
        current = {row.id: row.stock for row in self.rows}
        new_stock = {row.id: stock for row, stock in self.stock.items()}
        zeroed = 0
        if full_snapshot and self.carries_stock:
            listed = {row.id for row in self.listed}
            for variation_id, stock in await tied_stock(self.session):
                if variation_id not in listed:
                    current[variation_id] = stock
                    new_stock[variation_id] = 0
                    zeroed += stock > 0
        self.counts["stock_zeroed"] = zeroed
        changed = sorted((row for row in self.changed if row.id is not None), key=_by_id)
        restocked = [vid for vid, stock in new_stock.items() if current.get(vid) != stock]
        await lock_variations(self.session, [row.id for row in changed] + restocked)
        now = utcnow()
        await update_rows(
            self.session,
            Variation,
            [{"id": row.id, **row.values(), "updated_at": now} for row in changed],
        )
        cause = Cause("commerceml", SYSTEM, upload_id=self.upload_id)
        await set_stock_levels(self.session, new_stock, current, cause=cause)
        return len(self.stock), zeroed

    async def _load(self) -> None:
        """Colors, sizes and the goods tied to 1C, once per file."""
        if self.loaded:
            return
        self.loaded = True
        session = self.session
        for model, known in ((Color, self.colors), (Size, self.sizes)):
            for id_, name in await session.execute(select(model.id, model.name)):
                known.setdefault(name.casefold(), id_)
                known[name] = id_
        goods = await session.execute(
            select(Good.one_c_guid, Good.id, Good.name).where(Good.one_c_guid.is_not(None))
        )
        self.goods = {guid: (id_, name) for guid, id_, name in goods}

    async def _load_variations(self, offers: list[cml.Offer]) -> None:
        """The variations a chunk of offers may name: tied to them, or untied of their goods."""
        wanted = [offer.id for offer in offers if offer.id not in self.by_guid]
        for values in await variations_by_guid(self.session, wanted) if wanted else ():
            row = VariationRow(*values)
            self.rows.append(row)
            self.by_guid[row.one_c_guid] = row
        goods = {
            self.goods[offer.good_id][0]
            for offer in offers
            if offer.id not in self.by_guid and offer.good_id in self.goods
        } - self.untied_loaded
        self.untied_loaded |= goods
        for values in await untied_variations(self.session, sorted(goods)) if goods else ():
            row = VariationRow(*values)
            self.rows.append(row)
            self.unclaimed[row.good_id].append(row)


def _by_id(row: VariationRow) -> int:
    return row.id


def _known(known: dict[str, int], name: str) -> int | None:
    return known.get(name) or known.get(name.casefold())
