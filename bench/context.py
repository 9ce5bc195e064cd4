"""A scenario's surroundings: its own database, the server process it starts, the machine."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

from db.engine import Database
from tests.support import free_port, new_database, remove_database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-which-is-long-enough-to-sign"
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Context:
    database_url: str
    db: Database
    base_url: str = ""
    process: subprocess.Popen | None = None
    ceiling_url: str = ""
    ceiling_process: subprocess.Popen | None = None
    other_processes: list[subprocess.Popen] = field(default_factory=list)
    seconds: float = 3.0
    rounds: int = 7

    async def start_server(self, workers: int = 1, **env: str) -> None:
        await self.settle_database()
        self.process, self.base_url = await _spawn(
            ["main.py", "serve"], "/health", self._server_env(workers, env)
        )

    async def start_other_server(self, workers: int = 1, **env: str) -> str:
        """One more server on the scenario's database, beside the first; returns its URL."""
        process, base_url = await _spawn(
            ["main.py", "serve"], "/health", self._server_env(workers, env)
        )
        self.other_processes.append(process)
        return base_url

    def _server_env(self, workers: int, env: dict[str, str]) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "WORKERS": str(workers),
            "APP_ENV": "development",
            "JWT_SECRET": SECRET,
            "RATE_LIMITS_ENABLED": "false",
            "DISPATCHER_IN_SERVER": "false",
            "LOG_LEVEL": "warning",
            "AUTO_MIGRATE": "false",
            **env,
        }

    async def settle_database(self) -> None:
        """Write out what the fill (or an earlier scenario) left in PostgreSQL's buffers, so
        its checkpoint does not land in the middle of a measurement."""
        if self.db.dialect == "postgresql":
            async with self.db.engine.connect() as connection:
                await connection.execute(text("CHECKPOINT"))

    async def start_ceiling(self, workers: int = 1) -> None:
        """The bare Sanic + asyncpg app of bench/ceiling.py on the scenario's database."""
        self.ceiling_process, self.ceiling_url = await _spawn(
            ["-m", "bench.ceiling"],
            "/",
            {"DATABASE_URL": self.database_url, "WORKERS": str(workers)},
        )

    def stop_server(self) -> None:
        for process in [self.process, *self.other_processes]:
            _stop(process)
        self.process = None
        self.other_processes = []

    def stop_ceiling(self) -> None:
        _stop(self.ceiling_process)
        self.ceiling_process = None


async def _spawn(arguments: list[str], ready_path: str, env: dict) -> tuple[subprocess.Popen, str]:
    """Start a server process on a free port; returns it and its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *arguments],
        cwd=ROOT,
        env={**os.environ, "PORT": str(port), **env},
        stdout=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                if (await client.get(base_url + ready_path)).status_code == 200:
                    return process, base_url
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    _stop(process)
    raise RuntimeError(f"{' '.join(arguments)} did not start")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def database_server() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_SERVER
    )


def _server_or_sqlite() -> str | None:
    server = database_server()
    return None if server.startswith("sqlite") else server


async def create_database() -> str:
    return await new_database(_server_or_sqlite(), f"{ROOT}/var", "shop_bench")


async def drop_database(url: str) -> None:
    await remove_database(_server_or_sqlite(), url)


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    memory = (
        Path("/proc/meminfo").read_text().split("\n")[0] if Path("/proc/meminfo").exists() else ""
    )
    kib = int(re.sub(r"\D", "", memory) or 0)
    return (
        f"{model.group(1) if model else platform.processor()}, {os.cpu_count()} cores, "
        f"{kib / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}"
    )


async def database_version(db: Database) -> str:
    async with db.session() as session:
        if db.dialect == "postgresql":
            version = await session.scalar(text("SHOW server_version"))
            return f"PostgreSQL {version}"
        return "SQLite " + str(await session.scalar(text("select sqlite_version()")))
