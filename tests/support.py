"""Test support: databases created per run, in-process servers on 127.0.0.1, data helpers."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
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
from helpers.tokens import issue_token

JWT_SECRET = "test-secret-which-is-long-enough"
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


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, on a spare port under a temporary folder, so it
    can be stopped and restarted without touching the shared server."""

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def available(cls) -> bool:
        return (cls.BIN / "initdb").exists()

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, *command], check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        self._run(
            str(self.BIN / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60",
            "-o", options, "-l", str(self.folder / "server.log"), *extra,
        )  # fmt: skip

    def start(self) -> None:
        if not self.data.exists():
            if os.geteuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            self._run(
                str(self.BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
            )
        self._pg_ctl("start")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def accepting(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_reachable(url: str = REDIS_URL, report: bool = True) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        if report:
            print(f"Redis at {url} is unreachable ({type(exc).__name__}): its tests skip")
        return False
    finally:
        await client.aclose()
    return True


async def remove_redis_keys(url: str, prefix: str) -> None:
    """Deletes the keys a test wrote under its own prefix, and nothing else."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class PrivateRedis:
    """A Redis server of the test's own on a spare port, without persistence, so it can be
    killed and started again without touching the shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if await redis_reachable(self.url, report=False):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("private redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
