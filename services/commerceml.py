"""1C CommerceML 2 catalogue import: apply one import.xml, offers.xml, rests or prices file.

One file is one transaction of the caller's: any failure raises and the caller rolls back.
The file is parsed in a worker thread a chunk of records at a time (the event loop stays free
and memory bounded) while the previous chunk is written; the kind of file is decided by its
element names, never by its name.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import pathlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from helpers import commerceml as cml
from helpers import metrics
from services import commerceml_catalog, commerceml_offers, notifications
from services.catalog import bump_catalog_version
from services.commerceml_catalog import CatalogImport
from services.commerceml_offers import OffersImport
from services.errors import ExchangeFileInvalid
from services.outbox import emit_event
from services.stock import serialise_stock_uploads

CHUNK = 1000
ITEMS = (cml.Group, cml.Good, cml.Offer)
CATALOG_SECTIONS = ("Классификатор", "Каталог")


@dataclass
class ImportReport:
    kind: str  # "catalog" (import.xml), "offers", "rests" or "prices"
    counts: dict[str, int]


async def import_commerceml_file(
    session: AsyncSession,
    settings,
    path: pathlib.Path,
    *,
    progress: Callable[[int], object] | None = None,
    upload_id: str | None = None,
) -> ImportReport:
    """Apply one CommerceML file; raises ExchangeFileInvalid or ExchangeSettingMissing.

    `progress(items_done)` is called after every chunk of records (groups, goods, offers).
    `upload_id` names the file in the stock history (a new one when not given).
    """
    await serialise_stock_uploads(session)
    counts: Counter = Counter()
    catalog = CatalogImport(session, settings, counts)
    offers = OffersImport(session, settings, counts, upload_id or uuid.uuid4().hex)
    sections: dict[str, bool] = {}
    items = 0
    try:
        async with aclosing(_chunks(path)) as chunks:
            async for chunk in chunks:
                await _apply(chunk, catalog, offers, sections)
                items += sum(isinstance(record, ITEMS) for record in chunk)
                if progress is not None and inspect.isawaitable(result := progress(items)):
                    await result
    except cml.CommerceMLError as exc:
        raise ExchangeFileInvalid(str(exc)) from None
    if catalog.pending_groups:
        await catalog.flush_groups()
    report = await _finish(session, settings, catalog, offers, sections, counts)
    for key, value in report.counts.items():
        if value and key.startswith(("groups_", "goods_", "offers_")):
            item, _, result = key.partition("_")
            metrics.onec_import_items_total.labels(item.removesuffix("s"), result).inc(value)
    return report


async def _apply(chunk: list, catalog: CatalogImport, offers: OffersImport, sections) -> None:
    """Hand each run of records of one type to its part of the import."""
    for kind, run in itertools.groupby(chunk, type):
        records = list(run)
        if kind is cml.Section:
            sections.update((record.name, record.changes_only) for record in records)
        elif kind is cml.Group:
            catalog.add_groups(records)
        elif kind is cml.Good:
            await catalog.add_goods(records)
        elif kind is cml.PriceType:
            offers.add_price_types(records)
        elif kind is cml.Offer:
            await offers.add_offers(records)


async def _finish(session, settings, catalog, offers, sections, counts) -> ImportReport:
    is_catalog = any(name in sections for name in CATALOG_SECTIONS)
    keys = commerceml_catalog.COUNTS if is_catalog else ()
    kind = "catalog"
    if "ПакетПредложений" in sections:
        keys += commerceml_offers.COUNTS
        kind = kind if is_catalog else offers.kind
        full_snapshot = offers.kind == "offers" and not sections["ПакетПредложений"]
        listed, zeroed = await offers.finish(full_snapshot)
        if offers.carries_stock:
            remains = {
                "updated": listed,
                "zeroed": zeroed,
                "unknown_codes": counts["offers_skipped_unknown_good"]
                + counts["offers_skipped_unknown"],
            }
            await emit_event(
                session,
                "RemainsUpdated",
                source="commerceml",
                upload_id=offers.upload_id,
                **remains,
            )
            if settings.TELEGRAM_NOTIFY_STOCK_UPDATES:
                await notifications.notify_stock_update(session, settings, **remains)
    await bump_catalog_version(session)
    return ImportReport(kind, {key: counts[key] for key in keys})


async def _chunks(path: pathlib.Path) -> AsyncIterator[list[cml.Record]]:
    """Lists of records with up to CHUNK items each, the next one read in a thread while this
    one is written."""
    records = cml.read_commerceml(path)

    def take() -> list[cml.Record]:
        chunk, items = [], 0
        for record in records:
            chunk.append(record)
            items += isinstance(record, ITEMS)
            if items == CHUNK:
                break
        return chunk

    pending = asyncio.ensure_future(asyncio.to_thread(take))
    try:
        while chunk := await pending:
            pending = asyncio.ensure_future(asyncio.to_thread(take))
            yield chunk
    finally:
        if pending.done():
            records.close()
        else:
            # The thread still reads: close the file once it is done with this chunk.
            pending.add_done_callback(lambda _: records.close())
        pending.add_done_callback(lambda done: done.cancelled() or done.exception())
