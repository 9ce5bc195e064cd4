"""The outbox dispatcher: delivers queued rows after commit, with retries, once per row.

Rows are claimed in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED plus a lease in
`locked_until`), delivered, then marked; several dispatchers can run at once. A row is sent
only under a lease with time to spare, renewed when needed, and marked only by its holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from background.jobs import Job, JobRunner, build_jobs
from db.after_commit import on_commit
from db.engine import Database
from db.models import OutboxMessage
from db.models.base import utcnow
from db.queries import outbox as outbox_queries
from helpers import metrics
from helpers.mailer import Mailer, MailRejected
from helpers.telegram import (
    TelegramBadMarkup,
    TelegramClient,
    TelegramRejected,
    TelegramRetryLater,
    plain_text,
)
from services.paid_after_cancel import submit_refund_job
from services.payments import confirm_payment_job

log = logging.getLogger("shop.dispatcher")

MAX_ATTEMPTS = 8
BASE_DELAY_S = 10
MAX_DELAY_S = 3600
LEASE = timedelta(minutes=2)
BATCH = 50
# Domain events are delivered at least once: they wait for the broker however long it is down.
NEVER_GIVEN_UP = frozenset({"event"})


class GiveUp(Exception):
    """Delivery failed for good; the row is marked failed."""


class RetryAt(Exception):
    def __init__(self, delay_s: float, reason: str):
        super().__init__(reason)
        self.delay_s = delay_s


def _about(row: OutboxMessage) -> dict:
    return {"outbox_id": row.id, "kind": row.kind, "topic": row.topic, "attempt": row.attempts}


def backoff(attempt: int) -> float:
    return min(BASE_DELAY_S * 2 ** (attempt - 1), MAX_DELAY_S)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings,
        publisher=None,
        payment_checker=None,
        alerts=None,
        jobs: list[Job] = (),
        lease: timedelta = LEASE,
        refund_sender=None,
    ):
        self.db = db
        self.lease = lease
        self.jobs = JobRunner(db, list(jobs))
        self.settings = settings
        self.publisher = publisher
        self.payment_checker = payment_checker
        self.refund_sender = refund_sender
        self.alerts = alerts
        self.telegram = (
            TelegramClient(
                settings.TELEGRAM_API_BASE, settings.TELEGRAM_TOKEN, settings.TELEGRAM_TIMEOUT_S
            )
            if settings.TELEGRAM_TOKEN
            else None
        )
        self.mailer = Mailer(settings) if settings.SMTP_HOST and settings.EMAIL_FROM else None
        self.wake = asyncio.Event()
        self.stopping = False
        self._task: asyncio.Task | None = None

    async def run_forever(self, poll_s: float = 1.0) -> None:
        """Deliver and run the jobs until `stop()`, which lets the current batch finish."""
        log.info("outbox dispatcher started")
        while not self.stopping:
            try:
                delivered = await self.run_once()
                if not self.stopping:
                    await self.jobs.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher pass failed")
                delivered = 0
            if delivered == 0 and not self.stopping:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), poll_s)
        log.info("outbox dispatcher stopped")

    def start(self) -> None:
        """Run in the background of the current event loop until `shutdown()`."""
        self._task = asyncio.get_running_loop().create_task(self.run_forever())

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def shutdown(self, grace_s: float) -> None:
        """Stop; the batch in hand may finish within `grace_s`, else the dispatcher is cancelled
        and hands back the rows it has not tried."""
        self.stop()
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=grace_s)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def run_once(self) -> int:
        rows = await self._claim()
        waiting = {row.id: row for row in rows}
        try:
            for row in rows:
                del waiting[row.id]
                if await self._hold_lease(row):
                    await self._finish(row, await self._attempt(row))
        except BaseException:
            # Stopped or failed mid-batch: the rows not yet tried go back at once, not when
            # their leases end.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(list(waiting.values())))
            raise
        return len(rows)

    async def _release(self, rows: list[OutboxMessage]) -> None:
        if not rows:
            return
        async with self.db.begin() as session:
            await outbox_queries.release_leases(session, rows)
        log.info("outbox leases released", extra={"outbox_ids": [row.id for row in rows]})

    async def _hold_lease(self, row: OutboxMessage) -> bool:
        """True when this dispatcher may send the row: the rest of a batch waits on slow sends,
        and a row whose lease ran out may have been claimed by another dispatcher."""
        now = utcnow()
        if row.locked_until - now > self.lease / 2:
            return True
        renewed = now + self.lease
        async with self.db.begin() as session:
            held = await outbox_queries.renew_lease(session, row, renewed)
        if not held:
            log.info("outbox message claimed by another dispatcher", extra=_about(row))
            return False
        row.locked_until = renewed
        return True

    async def _claim(self) -> list[OutboxMessage]:
        now = utcnow()
        async with self.db.begin() as session:
            return await outbox_queries.claim_batch(session, now, now + self.lease, BATCH)

    async def _attempt(self, row: OutboxMessage):
        try:
            await self._deliver(row)
        except GiveUp as exc:
            return ("failed", str(exc), None)
        except RetryAt as exc:
            return ("retry", str(exc), exc.delay_s)
        except Exception as exc:
            return ("retry", f"{type(exc).__name__}: {exc}"[:500], backoff(row.attempts))
        return ("sent", None, None)

    async def _deliver(self, row: OutboxMessage) -> None:
        if row.kind == "telegram":
            await self._send_telegram(row.payload)
        elif row.kind == "email":
            await self._send_email(row.payload)
        elif row.kind == "event":
            if self.publisher is not None:
                await self.publisher.publish(row.topic, row.payload)
        elif row.kind == "payment_confirm":
            if self.payment_checker is None:
                raise RetryAt(backoff(row.attempts), "payment checks are not configured")
            await self.payment_checker(row.payload)
        elif row.kind == "refund":
            if self.refund_sender is None:
                raise RetryAt(backoff(row.attempts), "refunds are not configured")
            await self.refund_sender(row.payload)
        else:
            raise GiveUp(f"unknown outbox kind {row.kind}")

    async def _send_telegram(self, payload: dict) -> None:
        if self.telegram is None:
            log.info("telegram is not configured; message skipped")
            return
        try:
            await self.telegram.send_message(
                payload["chat_id"], payload["text"], payload.get("parse_mode")
            )
        except TelegramRetryLater as exc:
            raise RetryAt(exc.retry_after, str(exc)) from None
        except TelegramBadMarkup:
            try:
                await self.telegram.send_message(
                    payload["chat_id"], plain_text(payload["text"]), None
                )
            except TelegramRetryLater as exc:
                raise RetryAt(exc.retry_after, str(exc)) from None
            except TelegramRejected as exc:
                raise GiveUp(str(exc)) from None
        except TelegramRejected as exc:
            raise GiveUp(str(exc)) from None

    async def _send_email(self, payload: dict) -> None:
        if self.mailer is None:
            log.info("email is not configured; message skipped")
            return
        try:
            await self.mailer.send(
                payload["to"], payload["subject"], payload["html"], payload["text"]
            )
        except MailRejected as exc:
            raise GiveUp(str(exc)) from None

    async def _finish(self, row: OutboxMessage, outcome) -> None:
        state, error, delay = outcome
        if state == "retry" and row.attempts >= MAX_ATTEMPTS:
            if row.kind not in NEVER_GIVEN_UP:
                state = "failed"
            elif row.attempts == MAX_ATTEMPTS and self.alerts is not None:
                self.alerts.alert(
                    f"Событие {row.topic} ждёт брокер: {error}", key=("broker-down", row.kind)
                )
        async with self.db.begin() as session:
            stored = await outbox_queries.held_row(session, row)
            if stored is None:
                log.warning("outbox lease ran out while sending", extra=_about(row))
                return
            stored.locked_until = None
            stored.last_error = error
            if state == "sent":
                stored.state, stored.sent_at = "sent", utcnow()
                metrics.outbox_delivered_total.labels(row.kind).inc()
                log.info("outbox message delivered", extra=_about(row))
            elif state == "failed":
                stored.state = "failed"
                metrics.outbox_failed_total.labels(row.kind).inc()
                log.error("outbox message given up", extra={**_about(row), "error": error})
                if self.alerts is not None:
                    text = f"Уведомление не доставлено: {row.kind} {row.topic}"
                    on_commit(session, lambda: self.alerts.alert(text, key=("give-up", row.kind)))
            else:
                stored.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.warning(
                    "outbox message delivery failed",
                    extra={**_about(row), "error": error, "retry_in_s": delay},
                )

    async def close(self) -> None:
        if self.telegram is not None:
            await self.telegram.close()


def build_dispatcher(db: Database, settings, broker, alerts, gateway) -> Dispatcher:
    """The outbox dispatcher with the payment checks (through `gateway`) and the periodic jobs."""

    async def check_payment(payload: dict) -> None:
        await confirm_payment_job(db, settings, payload, alerts, gateway)

    async def send_refund(payload: dict) -> None:
        await submit_refund_job(db, settings, payload, gateway)

    return Dispatcher(
        db,
        settings,
        broker,
        check_payment,
        alerts,
        build_jobs(db, settings, gateway),
        refund_sender=send_refund,
    )
