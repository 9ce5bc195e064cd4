"""Test support: databases created per run, servers on 127.0.0.1 (in the test's event loop or
as `main.py` processes), the command line, tokens, waiting for a condition."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from config import Settings, load_settings
from db.engine import Database
from db.migrate import upgrade
from db.models import Base
from helpers.sberbank import SberbankGateway
from helpers.tokens import issue_token

JWT_SECRET = "test-secret-which-is-long-enough"
ROOT = Path(__file__).resolve().parent.parent
_app_numbers = itertools.count(1)


def backend_url() -> str | None:
    """PostgreSQL server URL from TEST_DATABASE_URL, or None for SQLite."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return url or None


async def new_database(
    server_url: str | None, sqlite_dir: str, prefix: str, revision: str | None = "head"
) -> str:
    """A fresh database on the PostgreSQL server, or a SQLite file, migrated to `revision`
    (None: left empty); returns its URL."""
    if server_url is None:
        url = f"sqlite+aiosqlite:///{sqlite_dir}/{prefix}-{uuid.uuid4().hex[:8]}.sqlite3"
    else:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    if revision is not None:
        await asyncio.to_thread(upgrade, url, revision)
    return url


async def remove_database(server_url: str | None, url: str) -> None:
    if server_url is None:
        await asyncio.to_thread(Path(make_url(url).database).unlink, missing_ok=True)
        return
    name = make_url(url).database
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def create_database(tmp_dir: str, revision: str | None = "head") -> str:
    """A fresh database for this test run migrated to `revision`; returns its URL."""
    return await new_database(backend_url(), tmp_dir, "shop_test", revision)


async def drop_database(url: str) -> None:
    await remove_database(backend_url(), url)


def is_postgresql() -> bool:
    return backend_url() is not None


TABLES_TO_KEEP = {"alembic_version"}


async def truncate_all(db: Database) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in TABLES_TO_KEEP]
    async with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            await connection.execute(text("PRAGMA defer_foreign_keys=ON"))
            for name in reversed(tables):
                await connection.execute(text(f'DELETE FROM "{name}"'))


def make_settings(database_url: str, media_root: str, **overrides) -> Settings:
    base = {
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "RATE_LIMITS_ENABLED": "false",
        "BCRYPT_ROUNDS": "4",
        "MEDIA_ROOT": media_root,
        "DISPATCHER_IN_SERVER": "false",
        "LOG_LEVEL": "warning",
        "SMTP_HOST": "",
    }
    return load_settings(env=base, **overrides)


def channel_settings(settings: Settings, telegram_port: int, smtp_port: int) -> Settings:
    """`settings` sending through a local Telegram API and a local SMTP server."""
    return settings.replace(
        TELEGRAM_TOKEN="123:abc",
        TELEGRAM_API_BASE=f"http://127.0.0.1:{telegram_port}",
        TELEGRAM_ORDERS_CHAT_ID="-1001",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        SMTP_SECURITY="none",
        EMAIL_FROM="shop@vinterr-plus.ru",
        EMAIL_SHOP_TO="boss@example.ru",
    )


async def wait_for(condition, timeout_s: float = 30.0, interval_s: float = 0.02) -> None:
    """Poll `condition` (a plain or an async callable) until it is true, or fail."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        met = condition()
        if asyncio.iscoroutine(met):
            met = await met
        if met:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval_s)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`main.py *args` with the caller's environment minus the shop's own settings."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def start_server_process(
    settings: Settings, log_path: Path | None = None, **env_changes: str
) -> tuple[subprocess.Popen, int]:
    """`main.py serve` on the tests' database and a free port, once /health answers; its output
    goes to `log_path` (logged at info unless LOG_LEVEL is changed)."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": settings.DATABASE_URL,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "AUTO_MIGRATE": "false",
        "RATE_LIMITS_ENABLED": "false",
        "LOG_LEVEL": "info" if log_path else "warning",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "DISPATCHER_IN_SERVER": "false",
        **env_changes,
    }
    output = log_path.open("w") if log_path else subprocess.DEVNULL
    try:
        command = [sys.executable, "main.py", "serve"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    finally:
        if log_path:
            output.close()

    async def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError("server exited")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        await wait_for(healthy, interval_s=0.05)
    except AssertionError:
        process.kill()
        raise
    return process, port


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each, then wait; kill the ones still running after 20 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def with_gateway(settings: Settings, job, *args):
    """Run `job(*args, gateway_client)` with a payment gateway client closed afterwards."""
    client = SberbankGateway(settings)
    try:
        return await job(*args, client)
    finally:
        await client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    app: object
    server: object
    base_url: str
    client: httpx.AsyncClient

    async def stop(self) -> None:
        await self.client.aclose()
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()


async def start_server(settings: Settings, db: Database, prepare=None) -> RunningServer:
    """Serve a new app over real HTTP on 127.0.0.1 inside the test's event loop.

    `prepare(app)` may add routes before the server starts (routes freeze at start-up).
    """
    from transport.app import create_app

    app = create_app(settings, db=db, name=f"test_app_{next(_app_numbers)}")
    if prepare is not None:
        prepare(app)
    # Sanic rewrites its HTTP classes once per process; several apps in one process must not.
    app.config.TOUCHUP = False
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    base_url = f"http://127.0.0.1:{port}"
    client = httpx.AsyncClient(base_url=base_url, timeout=30)
    return RunningServer(app, server, base_url, client)


def staff_token(user_id: int, version: int = 0) -> str:
    return issue_token(JWT_SECRET, "admin", user_id, 60, version)


def customer_token(customer_id: int, version: int = 0) -> str:
    return issue_token(JWT_SECRET, "customer", customer_id, 60, version)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": token}
