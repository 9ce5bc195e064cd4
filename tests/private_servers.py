"""Servers of a test's own (a PostgreSQL cluster, a Redis) that it may stop and start, and the
shared Redis the tests use."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from tests.support import free_port, wait_for


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
        await wait_for(lambda: redis_reachable(self.url, report=False), 10, interval_s=0.1)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
