"""Background imports of 1C catalogue files: job rows, their leases, one import at a time.

`mode=import` never waits for an import: the first call queues a job and, when no other import
of the shop holds a live lease, claims it for this process, which runs it after the call's
commit. Every later call (on any worker or host) reads the job's row and answers `progress`
until the row says `success` or `failure`. A process renews its lease while it imports; a lease
that runs out means the process died, and the next call claims the job again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.after_commit import on_commit
from db.models import AppLock, OnecExchange, OnecSession
from db.models.base import utcnow
from services.errors import ExchangeFileInvalid
from services.onec_exchange import MESSAGE_LIMIT, checked_file_name, uploaded_file

IMPORT_LOCK = "onec_import"
MAX_ATTEMPTS = 3
WAITING = "Waiting for another import to finish"


@dataclass
class ImportStep:
    outcome: str  # "progress" | "success" | "failure"
    message: str


async def import_step(
    session: AsyncSession, settings, onec_session: OnecSession, kind: str, name: str, runner
) -> ImportStep:
    """What a `mode=import` call answers; `runner.start(job_id)` runs a job claimed here
    once this transaction commits."""
    name = checked_file_name(name)
    job = await session.scalar(
        select(OnecExchange)
        .where(
            OnecExchange.session_id == onec_session.id,
            OnecExchange.mode == "import",
            OnecExchange.filename == name,
        )
        .order_by(OnecExchange.id.desc())
        .limit(1)
    )
    if job is None:
        uploaded_file(settings, onec_session, name)
        job = OnecExchange(
            session_id=onec_session.id,
            type=kind,
            mode="import",
            filename=name,
            outcome="progress",
            message="Queued",
        )
        session.add(job)
        await session.flush()
    answer = _answer(job, utcnow())
    if answer is not None:
        return answer
    # Claims are taken one at a time; the job is read again under the lock.
    await _hold_import_lock(session)
    await session.refresh(job)
    now = utcnow()
    answer = _answer(job, now)
    if answer is not None:
        return answer
    if job.attempts >= MAX_ATTEMPTS:
        _finish(job, "failure", f"Import interrupted {job.attempts} times; see the server log")
        return ImportStep("failure", job.message)
    if await _other_import_running(session, job.id, now):
        job.message = WAITING
        return ImportStep("progress", WAITING)
    job.runner = runner.token
    job.lease_until = now + timedelta(seconds=settings.ONEC_IMPORT_LEASE_S)
    job.attempts += 1
    job.message = "Import started"
    await session.flush()
    job_id = job.id
    on_commit(session, lambda: runner.start(job_id))
    return ImportStep("progress", job.message)


def _answer(job: OnecExchange, now: datetime) -> ImportStep | None:
    """The answer read from the row; None when the job waits for a process to run it."""
    if job.outcome != "progress":
        return ImportStep(job.outcome, job.message or "")
    if job.runner is not None and job.lease_until is not None and job.lease_until > now:
        return ImportStep("progress", job.message or "Importing")
    return None


async def _hold_import_lock(session: AsyncSession) -> None:
    """The shop's import lock row, held until the transaction ends."""
    query = select(AppLock.name).where(AppLock.name == IMPORT_LOCK).with_for_update()
    if await session.scalar(query) is not None:
        return
    try:
        async with session.begin_nested():
            session.add(AppLock(name=IMPORT_LOCK))
            await session.flush()
    except IntegrityError:
        pass
    await session.scalar(query)


async def _other_import_running(session: AsyncSession, job_id: int, now: datetime) -> bool:
    running = await session.scalar(
        select(OnecExchange.id)
        .where(
            OnecExchange.mode == "import",
            OnecExchange.outcome == "progress",
            OnecExchange.runner.is_not(None),
            OnecExchange.lease_until > now,
            OnecExchange.id != job_id,
        )
        .limit(1)
    )
    return running is not None


def _finish(job: OnecExchange, outcome: str, message: str, counts: dict | None = None) -> None:
    job.outcome = outcome
    job.message = message[:MESSAGE_LIMIT]
    job.counts = counts
    job.runner = None
    job.lease_until = None
    job.finished_at = utcnow()


async def job_file(session: AsyncSession, settings, job_id: int) -> Path:
    """The uploaded file a job imports."""
    job = await session.get(OnecExchange, job_id)
    onec_session = await session.get(OnecSession, job.session_id) if job.session_id else None
    if onec_session is None:
        raise ExchangeFileInvalid("The exchange session of this import no longer exists")
    return uploaded_file(settings, onec_session, job.filename)


def _owned(job_id: int, runner: str):
    return (
        OnecExchange.id == job_id,
        OnecExchange.runner == runner,
        OnecExchange.outcome == "progress",
    )


async def renew_lease(session: AsyncSession, settings, job_id: int, runner: str, message: str):
    """Heartbeat of a running import; False when the job is no longer this process's."""
    result = await session.execute(
        update(OnecExchange)
        .where(*_owned(job_id, runner))
        .values(
            lease_until=utcnow() + timedelta(seconds=settings.ONEC_IMPORT_LEASE_S),
            message=message[:MESSAGE_LIMIT],
        )
    )
    return result.rowcount == 1


async def finish_import(
    session: AsyncSession,
    job_id: int,
    runner: str,
    outcome: str,
    message: str,
    counts: dict | None = None,
) -> bool:
    """Record the outcome; False (and nothing written) when the job was taken over."""
    result = await session.execute(
        update(OnecExchange)
        .where(*_owned(job_id, runner))
        .values(
            outcome=outcome,
            message=message[:MESSAGE_LIMIT],
            counts=counts,
            runner=None,
            lease_until=None,
            finished_at=utcnow(),
        )
    )
    return result.rowcount == 1


async def release_lease(session: AsyncSession, job_id: int, runner: str) -> None:
    """Give an interrupted job back at once, so the next call starts it again."""
    await session.execute(
        update(OnecExchange)
        .where(*_owned(job_id, runner))
        .values(lease_until=utcnow(), message="Interrupted; starting again")
    )
