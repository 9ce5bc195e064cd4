"""Rate limits (§1.7): failed logins per kind, IP and login value; other limits per route;
counts shared through Redis; a Redis outage lets requests through and limits resume after it."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from helpers.metrics import REGISTRY
from helpers.rate_limit import PAUSE_AFTER_ERROR_S
from tests.factories import REGISTRATION, register
from tests.private_servers import REDIS_URL, PrivateRedis, redis_reachable, remove_redis_keys
from tests.support import free_port

LIMITED = {"RATE_LIMITS_ENABLED": True, "RATE_LIMIT_LOGIN": (3, 900)}
CONTACT_FORM = {"customer_name": "Мария", "phone_number": "89120000000", "text": "Размер M?"}


async def staff_login(client, password: str):
    return await client.post("/users/auth", json={"login": "admin", "password": password})


async def customer_login(client, login: str, password: str):
    return await client.post("/customers/auth", json={"login": login, "password": password})


def backend_errors() -> float:
    return REGISTRY.get_sample_value("rate_limit_backend_errors_total") or 0.0


async def test_failed_customer_logins_lock_only_that_login_on_that_route(make_server, admin):
    client = (await make_server(**LIMITED)).client
    await register(client)
    await register(client, email="olga@example.ru", phone_number="79025163112")
    failures = [
        (await customer_login(client, "ivan@example.ru", "wrong")).status_code for _ in range(3)
    ]
    assert failures == [401, 401, 401]
    # The same login typed differently is the same login; the right password waits too.
    locked = await customer_login(client, " IVAN@example.RU", "secret-1")
    assert locked.status_code == 429 and locked.json()["retry_after"] >= 1
    assert (await customer_login(client, "olga@example.ru", "secret-1")).status_code == 200
    assert (await staff_login(client, "admin-pass")).status_code == 200
    assert [(await staff_login(client, "wrong")).status_code for _ in range(3)] == [401] * 3
    assert (await staff_login(client, "admin-pass")).status_code == 429
    assert (await customer_login(client, "olga@example.ru", "secret-1")).status_code == 200


async def test_unknown_logins_count_and_api_keys_count_per_ip(make_server, admin):
    client = (await make_server(**LIMITED)).client
    unknown = [(await customer_login(client, "nobody", "x")).status_code for _ in range(4)]
    assert unknown == [404, 404, 404, 429]
    tokens = [
        (await client.post("/auth/token", json={"api_key": f"guess-{i}"})).status_code
        for i in range(4)
    ]
    assert tokens == [401, 401, 401, 429]
    assert (await staff_login(client, "admin-pass")).status_code == 200


async def test_signup_limits_count_each_route_apart(make_server):
    client = (await make_server(RATE_LIMITS_ENABLED=True, RATE_LIMIT_SIGNUP=(1, 600))).client
    assert (await client.post("/contact_forms", json=CONTACT_FORM)).status_code == 201
    assert (await client.post("/contact_forms", json=CONTACT_FORM)).status_code == 429
    assert (await client.post("/customers", json=REGISTRATION)).status_code == 201
    other = {**REGISTRATION, "email": "olga@example.ru", "phone_number": "79025163112"}
    limited = await client.post("/customers", json=other)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) == limited.json()["retry_after"] >= 1


@pytest.fixture
async def shared_redis():
    """The shared Redis with a key prefix of this test's own, removed afterwards."""
    if not await redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex[:12]}:limits"
    yield {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix}
    await remove_redis_keys(REDIS_URL, prefix)


async def test_two_servers_on_one_redis_share_the_counts(make_server, admin, shared_redis):
    first = (await make_server(**LIMITED, **shared_redis)).client
    second = (await make_server(**LIMITED, **shared_redis)).client
    health = (await first.get("/health")).json()
    assert health["rate_limit_backend"] == "redis" and health["checks"]["redis"] == "ok"
    statuses = [
        (await staff_login(client, "wrong")).status_code for client in (first, second, first)
    ]
    assert statuses == [401, 401, 401]
    assert (await staff_login(second, "admin-pass")).status_code == 429
    assert (await staff_login(first, "admin-pass")).status_code == 429


@pytest.fixture
async def private_redis():
    if not PrivateRedis.available():
        pytest.skip("redis-server is not installed")
    redis = PrivateRedis()
    await redis.start()
    yield redis
    redis.kill()


def rate_limit_log_lines(output: str) -> list[str]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line["message"] for line in lines if line["logger"] == "shop.rate_limits"]


async def test_redis_down_lets_requests_through_and_limits_resume(
    make_server, admin, private_redis, capsys
):
    running = await make_server(**LIMITED, REDIS_URL=private_redis.url, LOG_LEVEL="info")
    client = running.client
    assert [(await staff_login(client, "wrong")).status_code for _ in range(3)] == [401] * 3
    assert (await staff_login(client, "admin-pass")).status_code == 429

    private_redis.kill()
    errors_before = backend_errors()
    down = [(await staff_login(client, "wrong")).status_code for _ in range(5)]
    assert down == [401] * 5
    assert (await staff_login(client, "admin-pass")).status_code == 200
    assert backend_errors() > errors_before
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["checks"]["redis"] == "error"
    messages = rate_limit_log_lines(capsys.readouterr().out)
    assert len(messages) == 1 and messages[0].startswith("rate limits not enforced")

    await private_redis.start()
    await asyncio.sleep(PAUSE_AFTER_ERROR_S + 0.2)
    assert [(await staff_login(client, "wrong")).status_code for _ in range(3)] == [401] * 3
    assert (await staff_login(client, "admin-pass")).status_code == 429
    assert (await client.get("/health")).json()["checks"]["redis"] == "ok"
    assert rate_limit_log_lines(capsys.readouterr().out) == [
        "rate limits enforced again: Redis answers"
    ]


async def test_redis_unreachable_from_the_start_refuses_nothing(make_server, admin):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    client = (await make_server(**LIMITED, REDIS_URL=closed)).client
    errors_before = backend_errors()
    statuses = [(await staff_login(client, "wrong")).status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert (await staff_login(client, "admin-pass")).status_code == 200
    assert backend_errors() >= errors_before + 1
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["rate_limit_backend"] == "redis"
    assert health.json()["checks"]["redis"] == "error"
