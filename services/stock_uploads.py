"""1C uploads: remains (Excel and JSON) and weights, applied in one transaction or not at all.

Uploads overwrite `stock` only; reservations of open orders are never touched, so units sold
on the site are not made sellable again by a report made before the sale reached 1C.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Good, Variation
from db.models.base import utcnow
from helpers import metrics
from helpers.excel import ReportError, read_report
from services import notifications
from services.catalog import bump_catalog_version
from services.errors import RuleViolation
from services.outbox import emit_event
from services.stock import Actor, Cause, serialise_stock_uploads, set_stock_levels

REMAINS_HEADERS = ("Характеристика.Код", "Итого по всем складам")
WEIGHT_HEADERS = ("КодАртикул", "Вес")
SAMPLES = 20


async def parse_excel(content: bytes, headers: tuple[str, str], kind: str):
    try:
        return await asyncio.to_thread(read_report, content, *headers)
    except ReportError as exc:
        metrics.stock_uploads_total.labels(kind, "rejected").inc()
        raise RuleViolation(str(exc)) from None


def stock_from(value: Decimal | None) -> int:
    if value is None or value < 0:
        return 0
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


async def apply_remains(
    session: AsyncSession,
    settings,
    amounts: dict[str, int],
    full_report: bool,
    source: str,
    actor: Actor,
) -> dict:
    """Set `stock` of matched variations (and 0 for absent ones in a full report)."""
    await serialise_stock_uploads(session)
    rows = (
        await session.execute(
            select(Variation.id, Variation.variation_1c_id, Variation.stock).where(
                Variation.is_delete.is_(False), Variation.variation_1c_id.is_not(None)
            )
        )
    ).all()
    by_code = {code: (vid, stock) for vid, code, stock in rows}
    by_stripped = defaultdict(list)
    for vid, code, stock in rows:
        by_stripped[code.lstrip("0")].append((vid, stock))
    new_stock: dict[int, int] = {}
    current = {vid: stock for vid, _, stock in rows}
    unknown = []
    for code, amount in amounts.items():
        match = by_code.get(code)
        if match is None and len(by_stripped.get(code.lstrip("0"), [])) == 1:
            match = by_stripped[code.lstrip("0")][0]
        if match is None:
            unknown.append(code)
            continue
        new_stock[match[0]] = new_stock.get(match[0], 0) + amount
    zeroed = 0
    if full_report:
        absent = [vid for vid in current if vid not in new_stock]
        zeroed = len(absent)
        new_stock.update({vid: 0 for vid in absent})
    # Names the upload in the stock history and in its event.
    upload_id = uuid.uuid4().hex
    cause = Cause(f"{source}_remains", actor, upload_id=upload_id)
    await set_stock_levels(session, new_stock, current, cause=cause)
    await bump_catalog_version(session)
    counts = {"updated": len(new_stock) - zeroed, "zeroed": zeroed, "unknown_codes": len(unknown)}
    await emit_event(session, "RemainsUpdated", source=source, upload_id=upload_id, **counts)
    if settings.TELEGRAM_NOTIFY_STOCK_UPDATES:
        await notifications.notify_stock_update(session, settings, **counts)
    metrics.stock_uploads_total.labels(
        "excel_remains" if source == "excel" else "json_remains", "ok"
    ).inc()
    return {"message": "OK", **counts, "unknown_code_samples": unknown[:SAMPLES]}


async def upload_excel_remains(
    session: AsyncSession, settings, content: bytes, actor: Actor
) -> dict:
    report = await parse_excel(content, REMAINS_HEADERS, "excel_remains")
    amounts: dict[str, int] = defaultdict(int)
    for code, value in report.rows:
        amounts[code] += stock_from(value)
    result = await apply_remains(session, settings, dict(amounts), True, "excel", actor)
    return {**result, "rows": len(report.rows), "skipped_rows": report.skipped_rows}


async def upload_json_remains(
    session: AsyncSession, settings, items: list[dict], full_report: bool, actor: Actor
) -> dict:
    amounts: dict[str, int] = defaultdict(int)
    for item in items:
        amounts[item["one_c_id"]] += max(item["amount"], 0)
    return await apply_remains(session, settings, dict(amounts), full_report, "json", actor)


async def upload_weights(session: AsyncSession, settings, content: bytes) -> dict:
    report = await parse_excel(content, WEIGHT_HEADERS, "weights")
    weights: dict[str, Decimal] = {}
    empty = 0
    for article, value in report.rows:
        if value is None or value < 0:
            empty += 1
            continue
        weights[article] = value
    await serialise_stock_uploads(session)
    goods = dict((await session.execute(select(Good.article, Good.id))).all())
    unknown = [article for article in weights if article not in goods]
    now = utcnow()
    changes = [
        {"id": goods[article], "weight": weight, "updated_at": now}
        for article, weight in weights.items()
        if article in goods
    ]
    if changes:
        await session.execute(update(Good), changes)
    await bump_catalog_version(session)
    await emit_event(session, "WeightsUpdated", updated=len(changes), unknown_articles=len(unknown))
    metrics.stock_uploads_total.labels("weights", "ok").inc()
    return {
        "message": "OK",
        "rows": len(report.rows) - empty,
        "updated": len(changes),
        "unknown_articles": len(unknown),
        "unknown_article_samples": unknown[:SAMPLES],
        "skipped_rows": report.skipped_rows + empty,
    }
