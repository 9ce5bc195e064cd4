"""Periodic jobs: payment reconciliation, unpaid-order expiry, purge of delivered messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from db.engine import Database
from db.models import OutboxMessage
from db.models.base import utcnow
from services.orders import cancel_unpaid_orders
from services.payments import reconcile_payments

log = logging.getLogger("shop.jobs")

RECONCILE_EVERY_S = 300
CANCEL_UNPAID_EVERY_S = 60
PURGE_EVERY_S = 3600


@dataclass
class Job:
    name: str
    every_s: float
    run: Callable[[], Awaitable[object]]


def build_jobs(db: Database, settings) -> list[Job]:
    """Every periodic job of the shop, each run about once per `every_s`."""

    async def reconcile() -> None:
        await reconcile_payments(db, settings)

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

    jobs = [
        Job("reconcile_payments", RECONCILE_EVERY_S, reconcile),
        Job("purge_sent_messages", PURGE_EVERY_S, purge_sent),
    ]
    if settings.UNPAID_ORDER_TTL_MIN > 0:
        jobs.append(Job("cancel_unpaid_orders", CANCEL_UNPAID_EVERY_S, cancel_unpaid))
    return jobs


class JobRunner:
    """Runs the jobs that are due; a failing job is logged and tried again next period."""

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self._last_run: dict[str, float] = {}

    async def run_due(self) -> None:
        now = asyncio.get_running_loop().time()
        for job in self.jobs:
            last_run = self._last_run.get(job.name)
            if last_run is not None and now - last_run < job.every_s:
                continue
            self._last_run[job.name] = now
            try:
                await job.run()
            except Exception:
                log.exception("periodic job %s failed", job.name)
