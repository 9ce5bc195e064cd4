"""Several app processes on one database and one Redis: a login limit holds across all of them
and /metrics counts every request once (`WORKERS=2` in one server, and two servers)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.private_servers import REDIS_URL, redis_reachable, remove_redis_keys
from tests.support import start_server_process

LIMIT = 4
NOISE = 12
SHARED = {"RATE_LIMITS_ENABLED": "true", "RATE_LIMIT_LOGIN": f"{LIMIT}/900", "LOG_LEVEL": "warning"}


@pytest.fixture
async def redis_env():
    if not await redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex[:12]}:limits"
    yield {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix}
    await remove_redis_keys(REDIS_URL, prefix)


@pytest.fixture
async def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()


def fresh_connections() -> httpx.AsyncClient:
    """A client that opens a connection per request, so the kernel may hand each to any worker."""
    return httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


async def failed_login(http: httpx.AsyncClient, port: int, login: str) -> int:
    url = f"http://127.0.0.1:{port}/users/auth"
    return (await http.post(url, json={"login": login, "password": "wrong"})).status_code


async def hello(http: httpx.AsyncClient, port: int) -> int:
    return (await http.get(f"http://127.0.0.1:{port}/")).status_code


async def requests_counted(http: httpx.AsyncClient, port: int) -> Counter:
    """http_requests_total by (method, route, status), as one scrape of /metrics reports it."""
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    counts: Counter = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_requests_total":
                labels = sample.labels
                counts[labels["method"], labels["route"], labels["status"]] += sample.value
    return counts


def login_failures_by_worker(metrics_dir: Path) -> dict[str, float]:
    """Each worker's own count of refused logins, read from its metrics file."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        counts[path.stem] = sum(
            value
            for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(path)
            if '"http_requests_total"' in key and '"/users/auth"' in key
        )
    return counts


async def test_two_workers_share_the_login_limit_and_report_one_sum(
    settings, tmp_path, redis_env, processes
):
    metrics_dir = tmp_path / "metrics"
    process, port = await start_server_process(
        settings,
        tmp_path / "server.log",
        WORKERS="2",
        METRICS_DIR=str(metrics_dir),
        **SHARED,
        **redis_env,
    )
    processes.append(process)
    sent: Counter = Counter()
    async with fresh_connections() as http:
        spread = False
        # Until a round of attempts at one login has reached both workers (the kernel picks).
        for attempt_round in range(30):
            login = f"ghost-{attempt_round}"
            before = login_failures_by_worker(metrics_dir)
            # Other requests at the same moment keep a worker busy, so the next connection is
            # more likely to be accepted by the other one.
            statuses = await asyncio.gather(
                *(failed_login(http, port, login) for _ in range(LIMIT)),
                *(hello(http, port) for _ in range(NOISE)),
            )
            assert statuses == [404] * LIMIT + [200] * NOISE
            assert await failed_login(http, port, login) == 429
            sent["POST", "/users/auth", "404"] += LIMIT
            sent["POST", "/users/auth", "429"] += 1
            sent["GET", "/", "200"] += NOISE
            after = login_failures_by_worker(metrics_dir)
            served = [name for name in after if after[name] > before.get(name, 0)]
            if len(served) == 2:
                spread = True
                break
        assert spread, "the kernel gave every round's attempts to one worker"
        hellos = await asyncio.gather(*(http.get(f"http://127.0.0.1:{port}/") for _ in range(30)))
        assert {response.status_code for response in hellos} == {200}
        sent["GET", "/", "200"] += 30
        counted = await requests_counted(http, port)
    assert {key: counted[key] for key in sent} == dict(sent)


async def test_two_servers_share_the_login_limit_and_each_counts_its_own(
    settings, tmp_path, redis_env, processes
):
    ports = []
    for name in ("first", "second"):
        process, port = await start_server_process(
            settings, tmp_path / f"{name}.log", **SHARED, **redis_env
        )
        processes.append(process)
        ports.append(port)
    async with fresh_connections() as http:
        statuses = [await failed_login(http, ports[i % 2], "ghost") for i in range(LIMIT)]
        assert statuses == [404] * LIMIT
        assert await failed_login(http, ports[0], "ghost") == 429
        assert await failed_login(http, ports[1], "ghost") == 429
        for port in ports:
            for _ in range(5):
                assert (await http.get(f"http://127.0.0.1:{port}/")).status_code == 200
        first, second = [await requests_counted(http, port) for port in ports]
    half = LIMIT // 2
    assert first["POST", "/users/auth", "404"] == second["POST", "/users/auth", "404"] == half
    assert first["POST", "/users/auth", "429"] == second["POST", "/users/auth", "429"] == 1
    assert first["GET", "/", "200"] == second["GET", "/", "200"] == 5
