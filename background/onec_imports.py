"""Runs the 1C catalogue imports claimed by this process, each file in one transaction,
renewing the job's lease while it works (services/onec_imports.py keeps the rules)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from sqlalchemy.exc import SQLAlchemyError

from db.engine import Database
from services import onec_imports
from services.commerceml import import_commerceml_file
from services.errors import RuleViolation

log = logging.getLogger("shop.onec")


class LeaseLost(Exception):
    """Another process took the job over while this one was importing."""


class ImportRunner:
    """The imports of one process; `start` is called once the claiming call has committed."""

    def __init__(self, db: Database, settings):
        self.db = db
        self.settings = settings
        self.token = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._tasks: dict[int, asyncio.Task] = {}
        self._closed = False

    def start(self, job_id: int) -> None:
        if self._closed or job_id in self._tasks:
            return
        # Not a Sanic app task: the runner cancels its own imports at shutdown.
        task = asyncio.get_running_loop().create_task(self._run(job_id))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _task: self._tasks.pop(job_id, None))

    @property
    def running(self) -> list[int]:
        return list(self._tasks)

    async def shutdown(self) -> None:
        """Interrupt the imports in hand; their leases are given back for another process."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, job_id: int) -> None:
        items = [0]
        stop_beat = asyncio.Event()
        beat = None
        try:
            async with self.db.begin() as session:
                path = await onec_imports.job_file(session, self.settings, job_id)
            if self.db.dialect != "sqlite":
                # SQLite's one writer is the import itself: nothing could take the job over.
                beat = asyncio.create_task(
                    self._heartbeat(job_id, items, stop_beat, asyncio.current_task())
                )
            async with self.db.begin() as session:
                report = await import_commerceml_file(
                    session,
                    self.settings,
                    path,
                    progress=lambda done: items.__setitem__(0, done),
                    # The stock history names the exchange log's entry of the import.
                    upload_id=f"1c_exchange:{job_id}",
                )
                await _stop(beat, stop_beat)
                summary = ", ".join(f"{key} {value}" for key, value in report.counts.items())
                done = await onec_imports.finish_import(
                    session,
                    job_id,
                    self.token,
                    "success",
                    f"Imported {report.kind}: {summary}",
                    report.counts,
                )
                if not done:
                    raise LeaseLost()
            log.info("1C import %s done: %s", job_id, report.counts)
        except RuleViolation as exc:
            # A bad file, or a setting the file needs is missing.
            await _stop(beat, stop_beat)
            await self._finish(job_id, "failure", exc.message)
        except LeaseLost:
            log.warning(
                "1C import %s was taken over by another process; its work is undone", job_id
            )
        except asyncio.CancelledError:
            await _stop(beat, stop_beat)
            await self._release(job_id)
            raise
        except (SQLAlchemyError, OSError) as exc:
            await _stop(beat, stop_beat)
            log.warning("1C import %s interrupted (%s); it starts again", job_id, exc)
            await self._release(job_id)
        except Exception:
            await _stop(beat, stop_beat)
            log.exception("1C import %s failed", job_id)
            await self._finish(job_id, "failure", "Import failed on the server; see its log")

    async def _heartbeat(self, job_id: int, items: list[int], stop: asyncio.Event, importer):
        loop = asyncio.get_running_loop()
        lease = self.settings.ONEC_IMPORT_LEASE_S
        deadline = loop.time() + lease
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=lease / 3)
                return
            except TimeoutError:
                pass
            kept = None
            try:
                async with self.db.begin() as session:
                    kept = await onec_imports.renew_lease(
                        session, self.settings, job_id, self.token, f"Imported {items[0]} items"
                    )
            except (SQLAlchemyError, OSError) as exc:
                log.warning("1C import %s: lease not renewed (%s)", job_id, type(exc).__name__)
            if kept:
                deadline = loop.time() + lease
            elif kept is False or loop.time() >= deadline:
                # Another process may run the job by now: this one must not finish it too.
                importer.cancel()
                return

    async def _finish(self, job_id: int, outcome: str, message: str) -> None:
        try:
            async with self.db.begin() as session:
                await onec_imports.finish_import(session, job_id, self.token, outcome, message)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("1C import %s outcome not recorded (%s)", job_id, type(exc).__name__)

    async def _release(self, job_id: int) -> None:
        try:
            async with self.db.begin() as session:
                await onec_imports.release_lease(session, job_id, self.token)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("1C import %s lease not released (%s)", job_id, type(exc).__name__)


async def _stop(beat: asyncio.Task | None, stop: asyncio.Event) -> None:
    if beat is not None and not beat.done():
        stop.set()
        await asyncio.gather(beat, return_exceptions=True)
