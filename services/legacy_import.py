"""Import of customers from the legacy database: idempotent, batched, one run at a time."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, Table, create_engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.models import AppLock, Customer, ErasedLegacyCustomer
from db.models.base import utcnow
from helpers import metrics
from helpers.phones import normalize_email
from services.errors import BadGateway, Conflict, ServiceUnavailable
from services.outbox import emit_event

log = logging.getLogger("shop.legacy_import")

LOCK_NAME = "legacy_import"
LOCK_LEASE = timedelta(minutes=20)
LEGACY_PHONE = re.compile(r"^(?:\+7|7|8)([0-9]{10})$")
COUNTERS = (
    "read",
    "inserted",
    "skipped_existing",
    "skipped_phone_exists",
    "duplicates_in_source",
    "invalid_phone",
    "invalid_email",
)


def legacy_phone(raw) -> str | None:
    text = re.sub(r"\s+", "", str(raw or ""))
    match = LEGACY_PHONE.match(text)
    return "7" + match.group(1) if match else None


def legacy_name(raw) -> str:
    text = " ".join(str(raw or "").split())[:100]
    return " ".join(word[:1].upper() + word[1:].lower() for word in text.split(" ") if word)


def legacy_created_at(raw, now: datetime) -> datetime:
    try:
        seconds = int(raw or 0)
        created_at = datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else now
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return min(created_at, now)


def read_legacy_rows(settings, step_done=lambda: None) -> list[dict]:
    """Blocking read in streamed batches; runs in a worker thread and reports each step."""
    engine = create_engine(settings.LEGACY_DB_URL, pool_pre_ping=True)
    try:
        table = Table(settings.LEGACY_CUSTOMERS_TABLE, MetaData(), autoload_with=engine)
        step_done()
        columns = {
            "id": settings.LEGACY_COLUMN_ID,
            "phone": settings.LEGACY_COLUMN_PHONE,
            "name": settings.LEGACY_COLUMN_NAME,
            "email": settings.LEGACY_COLUMN_EMAIL,
            "created_at": settings.LEGACY_COLUMN_CREATED_AT,
        }
        query = select(*(table.c[name].label(key) for key, name in columns.items()))
        rows: list[dict] = []
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(query)
            step_done()
            while batch := result.fetchmany(settings.LEGACY_IMPORT_BATCH_SIZE):
                rows.extend(dict(row._mapping) for row in batch)
                step_done()
        return rows
    finally:
        engine.dispose()


async def _read_with_retries(settings, counts: dict) -> list[dict]:
    attempts = settings.LEGACY_DB_RETRIES_COUNT + 1
    for attempt in range(1, attempts + 1):
        try:
            return await _read_watched(settings)
        except Exception as exc:
            log.warning("legacy database read failed (attempt %s): %s", attempt, type(exc).__name__)
            if attempt < attempts:
                await asyncio.sleep(settings.LEGACY_DB_RETRIES_SLEEP)
    raise BadGateway("Legacy database unavailable", progress=counts)


async def _read_watched(settings) -> list[dict]:
    """The read in a worker thread, given up when one step (connecting, the query, a batch)
    takes longer than LEGACY_DB_TIMEOUT; a long read that keeps making progress goes on."""
    last_step = [time.monotonic()]

    def step_done() -> None:
        last_step[0] = time.monotonic()

    reading = asyncio.ensure_future(asyncio.to_thread(read_legacy_rows, settings, step_done))
    limit = settings.LEGACY_DB_TIMEOUT
    while limit > 0 and not reading.done():
        await asyncio.wait({reading}, timeout=min(1.0, limit / 4))
        if not reading.done() and time.monotonic() - last_step[0] > limit:
            # The thread cannot be stopped; its late result or error is dropped.
            reading.add_done_callback(lambda task: task.exception())
            raise TimeoutError(f"no progress from the legacy database in {limit} s")
    return await reading


def map_rows(rows: list[dict], now: datetime, counts: dict) -> list[dict]:
    """Valid phones only; one row per phone (the highest legacy id wins)."""
    by_phone: dict[str, dict] = {}
    for row in rows:
        phone = legacy_phone(row["phone"])
        if phone is None:
            counts["invalid_phone"] += 1
            continue
        current = by_phone.get(phone)
        if current is not None:
            counts["duplicates_in_source"] += 1
            if current["legacy_id"] > int(row["id"]):
                continue
        email = normalize_email("".join(str(row["email"] or "").split()))
        by_phone[phone] = {
            "legacy_id": int(row["id"]),
            "phone_number": phone,
            "first_name": legacy_name(row["name"]),
            "second_name": "",
            "email": email,
            "invalid_email": bool(row["email"] and str(row["email"]).strip()) and email is None,
            "created_at": legacy_created_at(row["created_at"], now),
        }
    mapped = sorted(by_phone.values(), key=lambda item: item["legacy_id"])
    counts["invalid_email"] += sum(1 for item in mapped if item.pop("invalid_email"))
    return mapped


async def _claim_run(db) -> None:
    now = utcnow()
    async with db.begin() as session:
        lock = await session.scalar(
            select(AppLock).where(AppLock.name == LOCK_NAME).with_for_update()
        )
        if lock is None:
            session.add(AppLock(name=LOCK_NAME, held_until=now + LOCK_LEASE))
        elif lock.held_until is not None and lock.held_until > now:
            raise Conflict("Import already running")
        else:
            lock.held_until = now + LOCK_LEASE


async def _release_run(db) -> None:
    async with db.begin() as session:
        await session.execute(
            update(AppLock).where(AppLock.name == LOCK_NAME).values(held_until=None)
        )


async def import_customers(db, settings, dry_run: bool = False) -> dict:
    if not settings.LEGACY_DB_URL:
        raise ServiceUnavailable("Legacy import is not configured")
    await _claim_run(db)
    try:
        return await _run_import(db, settings, dry_run)
    finally:
        await _release_run(db)


async def _run_import(db, settings, dry_run: bool) -> dict:
    started = time.monotonic()
    counts = dict.fromkeys(COUNTERS, 0)
    rows = await _read_with_retries(settings, counts)
    counts["read"] = len(rows)
    candidates = map_rows(rows, utcnow(), counts)
    async with db.session() as session:
        known_ids = set(
            await session.scalars(select(Customer.legacy_id).where(Customer.legacy_id.is_not(None)))
        )
        # Erased customers stay erased: their legacy rows count as existing.
        known_ids.update(await session.scalars(select(ErasedLegacyCustomer.legacy_id)))
        known_phones = set(
            await session.scalars(
                select(Customer.phone_number).where(Customer.phone_number.is_not(None))
            )
        )
    fresh = []
    for item in candidates:
        if item["legacy_id"] in known_ids:
            counts["skipped_existing"] += 1
        elif item["phone_number"] in known_phones:
            counts["skipped_phone_exists"] += 1
        else:
            fresh.append(item)
    if not dry_run:
        counts["inserted"] = await _insert_batches(db, settings, fresh)
        async with db.begin() as session:
            await emit_event(session, "CustomersImported", **counts)
    else:
        counts["inserted"] = len(fresh)
    for result in (
        "inserted",
        "skipped_existing",
        "skipped_phone_exists",
        "duplicates_in_source",
        "invalid_phone",
    ):
        metrics.legacy_import_rows_total.labels(result).inc(counts[result])
    return {"dry_run": dry_run, **counts, "duration_s": round(time.monotonic() - started, 3)}


async def _insert_batches(db, settings, items: list[dict]) -> int:
    """One transaction per batch; conflicts on legacy_id are ignored so a re-run is safe."""
    inserted = 0
    size = settings.LEGACY_IMPORT_BATCH_SIZE
    for start in range(0, len(items), size):
        batch = [
            {**item, "is_registered": False, "status": "active", "source": "legacy_import"}
            for item in items[start : start + size]
        ]
        async with db.begin() as session:
            insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
            statement = insert(Customer).on_conflict_do_nothing(index_elements=["legacy_id"])
            result = await session.execute(statement.returning(Customer.id), batch)
            inserted += len(result.all())
    return inserted
