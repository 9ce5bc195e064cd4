"""Background work on several processes at once: each message delivered once, each job run once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from background.jobs import Job, JobRunner
from db.engine import Database
from db.models import AppLock, OutboxMessage
from db.models.base import utcnow
from tests.fakes import FakeSmtp, FakeTelegram
from tests.support import JWT_SECRET, wait_for

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_ROWS = 120
EMAIL_ROWS = 20


def test_dispatch_command_does_not_load_the_web_app():
    probe = (
        "import sys, main, background.dispatcher, helpers.alerts, helpers.broker, "
        "helpers.sberbank, helpers.logs; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sanic', 'transport')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_each_job_runs_once_per_period_across_processes(settings, db):
    runs: list[str] = []

    async def reconcile():
        runs.append("reconcile")

    async def purge():
        runs.append("purge")

    jobs = [Job("reconcile", 300, reconcile), Job("purge", 3600, purge)]
    other_db = Database(settings.DATABASE_URL, pool_size=2)
    try:
        hosts = [JobRunner(db, jobs), JobRunner(other_db, jobs)]
        await asyncio.gather(*(host.run_due() for host in hosts for _ in range(3)))
        assert sorted(runs) == ["purge", "reconcile"]

        restarted = [JobRunner(db, jobs), JobRunner(other_db, jobs)]
        await asyncio.gather(*(host.run_due() for host in restarted))
        assert sorted(runs) == ["purge", "reconcile"]

        async with db.begin() as session:
            await session.execute(
                update(AppLock).where(AppLock.name == "job:reconcile").values(held_until=utcnow())
            )
        later = [JobRunner(db, jobs), JobRunner(other_db, jobs)]
        await asyncio.gather(*(host.run_due() for host in later for _ in range(3)))
        assert sorted(runs) == ["purge", "reconcile", "reconcile"]
    finally:
        await other_db.dispose()


async def test_a_failing_job_is_tried_again_next_period_not_at_once(settings, db):
    attempts = []

    async def flaky():
        attempts.append(1)
        raise RuntimeError("gateway down")

    runner = JobRunner(db, [Job("flaky", 60, flaky)])
    await runner.run_due()
    await JobRunner(db, [Job("flaky", 60, flaky)]).run_due()
    assert len(attempts) == 1


async def queue_messages(db) -> None:
    async with db.begin() as session:
        session.add_all(
            OutboxMessage(kind="telegram", topic="t", payload={"chat_id": "1", "text": f"m{i}"})
            for i in range(TELEGRAM_ROWS)
        )
        session.add_all(
            OutboxMessage(
                kind="email",
                topic="e",
                payload={"to": f"c{i}@example.ru", "subject": "s", "html": "h", "text": "t"},
            )
            for i in range(EMAIL_ROWS)
        )


def start_dispatcher(settings, telegram, smtp, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": settings.DATABASE_URL,
        "JWT_SECRET": JWT_SECRET,
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "info",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "TELEGRAM_TOKEN": "1:x",
        "TELEGRAM_API_BASE": telegram.base_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "EMAIL_FROM": "shop@vinterr-plus.ru",
    }
    with log_path.open("w") as log_file:
        return subprocess.Popen(
            [sys.executable, "main.py", "dispatch"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


async def stop(processes: list[subprocess.Popen]) -> list[int]:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    try:
        await wait_for(lambda: all(p.poll() is not None for p in processes))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return [process.returncode for process in processes]


JOB_NAMES = [
    "purge_onec_exchanges",
    "purge_sent_messages",
    "reconcile_payments",
    "reconcile_refunds",
]


def log_lines(paths: list[Path]) -> list[dict]:
    return [
        json.loads(line)
        for path in paths
        if path.exists()
        for line in path.read_text().splitlines()
        if line.endswith("}")
    ]


def started_dispatchers(paths: list[Path]) -> int:
    return sum(1 for line in log_lines(paths) if line["message"] == "outbox dispatcher started")


def started_jobs(paths: list[Path]) -> list[str]:
    return [line["job"] for line in log_lines(paths) if line["message"] == "periodic job started"]


async def test_two_dispatch_processes_deliver_once_log_it_and_stop_cleanly(settings, db, tmp_path):
    await queue_messages(db)
    telegram = await FakeTelegram(delay_s=0.02).start()
    smtp = FakeSmtp().start()
    logs = [tmp_path / f"dispatch-{index}.log" for index in range(3)]
    processes = []
    try:
        processes = [start_dispatcher(settings, telegram, smtp, path) for path in logs[:2]]
        # A signal that arrives while Python is still starting ends it before any handler.
        await wait_for(lambda: started_dispatchers(logs[:2]) == 2)
        await wait_for(lambda: len(telegram.messages) >= 10)
        # Stopped mid-batch: each process finishes the batch it holds, then exits 0.
        assert await stop(processes) == [0, 0]
        async with db.session() as session:
            leased = await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.locked_until.is_not(None))
            )
        assert leased is None

        processes = [start_dispatcher(settings, telegram, smtp, logs[2])]
        await wait_for(
            lambda: (
                len(telegram.messages) >= TELEGRAM_ROWS and len(smtp.inbox.messages) >= EMAIL_ROWS
            )
        )
        # The jobs run after a delivery pass: a stop asked for during the pass skips them.
        await wait_for(lambda: len(started_jobs(logs)) >= len(JOB_NAMES))
        assert await stop(processes) == [0]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        await telegram.stop()
        smtp.stop()

    texts = [message["text"] for message in telegram.messages]
    assert sorted(texts) == sorted(f"m{i}" for i in range(TELEGRAM_ROWS))
    recipients = [message.rcpt_tos[0] for message in smtp.inbox.messages]
    assert sorted(recipients) == sorted(f"c{i}@example.ru" for i in range(EMAIL_ROWS))
    async with db.session() as session:
        states = set(await session.scalars(select(OutboxMessage.state)))
    assert states == {"sent"}

    lines = log_lines(logs)
    delivered = [
        line["outbox_id"] for line in lines if line["message"] == "outbox message delivered"
    ]
    assert len(delivered) == len(set(delivered)) == TELEGRAM_ROWS + EMAIL_ROWS
    assert all(line["level"] in {"INFO", "WARNING"} and "time" in line for line in lines)
    assert sorted(started_jobs(logs)) == JOB_NAMES
    assert sum(line["message"] == "outbox dispatcher stopped" for line in lines) == 3
