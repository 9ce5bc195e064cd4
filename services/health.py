"""Health checks of the database, its migrations and the broker; gauges refreshed on scrape."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from db.engine import Database
from db.migrate import pending_revisions
from db.models import Customer, OutboxMessage
from db.models.base import utcnow
from db.models.customers import CUSTOMER_STATUSES
from helpers import metrics
from helpers.rate_limit import RateLimits

log = logging.getLogger("shop.health")

DB_CHECK_TIMEOUT_S = 2.0
CUSTOMERS_GAUGE_TTL_S = 60.0
MIGRATIONS_RECHECK_S = 30.0
_customers_refreshed_at = 0.0


async def _ping(db: Database) -> None:
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


class MigrationState:
    """Whether the schema is at the head revision; once it is, never asked again."""

    def __init__(self) -> None:
        self.pending: list[str] | None = None
        self._checked_at = -MIGRATIONS_RECHECK_S

    @property
    def state(self) -> str:
        if self.pending is None:
            return "unknown"
        return "pending" if self.pending else "ok"

    async def refresh(self, db: Database) -> None:
        """Asks the database at most every MIGRATIONS_RECHECK_S until it is up to date."""
        if self.pending == [] or time.monotonic() - self._checked_at < MIGRATIONS_RECHECK_S:
            return
        self._checked_at = time.monotonic()
        try:
            self.pending = await asyncio.wait_for(pending_revisions(db.engine), DB_CHECK_TIMEOUT_S)
        except Exception as exc:
            log.warning("migration state unknown: %s", type(exc).__name__)
            return
        if self.pending:
            log.error("database lacks migrations %s: run python main.py migrate", self.pending)


async def check(
    db: Database,
    settings,
    broker,
    migrations: MigrationState | None = None,
    rate_limits: RateLimits | None = None,
) -> dict:
    """Unhealthy when the database is down or behind; Redis and the broker are only reported
    (rate limits fail open and events wait in the outbox)."""
    try:
        await asyncio.wait_for(_ping(db), DB_CHECK_TIMEOUT_S)
        db_state = "ok"
    except Exception:
        db_state = "error"
    if not settings.BROKER_URL:
        broker_state = "disabled"
    else:
        broker_state = "ok" if broker is not None and await broker.is_healthy() else "error"
    checks = {"db": db_state, "broker": broker_state}
    report: dict = {"checks": checks}
    if rate_limits is not None:
        checks["redis"] = await rate_limits.state()
        report["rate_limit_backend"] = rate_limits.backend
    healthy = db_state == "ok"
    if migrations is not None:
        if db_state == "ok":
            await migrations.refresh(db)
        checks["migrations"] = migrations.state
        if migrations.pending:
            report["pending_migrations"] = migrations.pending
        healthy = healthy and migrations.state != "pending"
    return {"status": "healthy" if healthy else "unhealthy", **report}


async def refresh_gauges(db: Database) -> None:
    """Gauges read from the database; while it is unreachable the last values are served."""
    try:
        await asyncio.wait_for(_read_gauges(db), DB_CHECK_TIMEOUT_S)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("metrics gauges not refreshed: %s", type(exc).__name__)


async def _read_gauges(db: Database) -> None:
    global _customers_refreshed_at
    async with db.session() as session:
        pending = dict(
            (
                await session.execute(
                    select(OutboxMessage.kind, func.count())
                    .where(OutboxMessage.state == "pending")
                    .group_by(OutboxMessage.kind)
                )
            ).all()
        )
        oldest = await session.scalar(
            select(func.min(OutboxMessage.created_at)).where(OutboxMessage.state == "pending")
        )
        for kind in metrics.OUTBOX_KINDS:
            metrics.outbox_pending.labels(kind).set(pending.get(kind, 0))
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=utcnow().tzinfo)
            age = max((utcnow() - oldest).total_seconds(), 0.0)
        metrics.outbox_oldest_pending_age_seconds.set(age)
        if time.monotonic() - _customers_refreshed_at < CUSTOMERS_GAUGE_TTL_S:
            return
        rows = await session.execute(
            select(Customer.status, Customer.is_registered, func.count()).group_by(
                Customer.status, Customer.is_registered
            )
        )
        # Every pair is set, zeros included: with several workers a pair that is not set again
        # would keep its old value in the metrics files.
        counts = {(status, bool(is_registered)): count for status, is_registered, count in rows}
        for status in CUSTOMER_STATUSES:
            for is_registered in (True, False):
                count = counts.get((status, is_registered), 0)
                metrics.customers.labels(status, str(is_registered).lower()).set(count)
        _customers_refreshed_at = time.monotonic()
