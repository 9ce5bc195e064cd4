"""Periodic jobs: payment and refund reconciliation, unpaid-order expiry, purge of delivered
messages and of old 1C exchange files and log rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import Database
from db.models import AppLock, OutboxMessage
from db.models.base import utcnow
from services.onec_exchange import purge_old_exchanges, remove_old_files
from services.payments import reconcile_payments
from services.refund_reconciliation import reconcile_refunds
from services.status_changes import cancel_unpaid_orders

log = logging.getLogger("shop.jobs")

RECONCILE_EVERY_S = 300
CANCEL_UNPAID_EVERY_S = 60
PURGE_EVERY_S = 3600
MIN_CHECK_S = 1.0


@dataclass
class Job:
    name: str
    every_s: float
    run: Callable[[], Awaitable[object]]


def build_jobs(db: Database, settings, gateway=None) -> list[Job]:
    """Every periodic job of the shop, each run about once per `every_s`; the refund
    reconciliation needs the payment `gateway`."""

    async def reconcile() -> None:
        await reconcile_payments(db, settings)

    async def reconcile_refunded() -> None:
        await reconcile_refunds(db, settings, gateway)

    async def cancel_unpaid() -> None:
        async with db.begin() as session:
            await cancel_unpaid_orders(session, settings)

    async def purge_sent() -> None:
        cutoff = utcnow() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
        async with db.begin() as session:
            await session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.state == "sent", OutboxMessage.sent_at < cutoff
                )
            )

    async def purge_onec_exchanges() -> None:
        async with db.begin() as session:
            await purge_old_exchanges(session, settings)
        await remove_old_files(settings)

    jobs = [
        Job("reconcile_payments", RECONCILE_EVERY_S, reconcile),
        Job("purge_sent_messages", PURGE_EVERY_S, purge_sent),
        Job("purge_onec_exchanges", PURGE_EVERY_S, purge_onec_exchanges),
    ]
    if gateway is not None:
        jobs.append(Job("reconcile_refunds", RECONCILE_EVERY_S, reconcile_refunded))
    if settings.UNPAID_ORDER_TTL_MIN > 0:
        jobs.append(Job("cancel_unpaid_orders", CANCEL_UNPAID_EVERY_S, cancel_unpaid))
    return jobs


class JobRunner:
    """Runs the jobs that are due, each once per period across every process and host.

    A run is claimed in the `app_locks` row of the job: its `held_until` is moved one period
    ahead by a conditional UPDATE, which only one process can win. A failing job is logged and
    tried again the next period.
    """

    def __init__(self, db: Database, jobs: list[Job]):
        self.db = db
        self.jobs = jobs
        self._next_check: dict[str, float] = {}

    async def run_due(self) -> None:
        loop = asyncio.get_running_loop()
        for job in self.jobs:
            if loop.time() < self._next_check.get(job.name, 0.0):
                continue
            claimed, due_at = await self._claim(job)
            self._next_check[job.name] = loop.time() + max(
                (due_at - utcnow()).total_seconds(), MIN_CHECK_S
            )
            if not claimed:
                continue
            log.info("periodic job started", extra={"job": job.name})
            try:
                await job.run()
            except Exception:
                log.exception("periodic job failed", extra={"job": job.name})

    async def _claim(self, job: Job) -> tuple[bool, datetime]:
        """Whether this process runs the job now, and when it is due next."""
        name = f"job:{job.name}"
        now = utcnow()
        until = now + timedelta(seconds=job.every_s)
        async with self.db.begin() as session:
            claimed = await session.execute(
                update(AppLock)
                .where(
                    AppLock.name == name,
                    or_(AppLock.held_until.is_(None), AppLock.held_until <= now),
                )
                .values(held_until=until)
            )
            if claimed.rowcount == 1:
                return True, until
            held_until = await session.scalar(
                select(AppLock.held_until).where(AppLock.name == name)
            )
            if held_until is not None:
                return False, held_until
            try:
                async with session.begin_nested():
                    session.add(AppLock(name=name, held_until=until))
                    await session.flush()
            except IntegrityError:
                return False, until
            return True, until
