"""Health, echo, request ids, CORS preflight, unknown routes and methods, metrics."""

from __future__ import annotations

import asyncio

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from db.migrate import alembic_config
from tests.support import is_postgresql, wait_for


async def test_the_root_answers_hello_world_as_json(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert response.json() == {"hello": "world"}
    assert response.headers["content-type"].startswith("application/json")


async def test_echo_merges_x_headers(client):
    response = await client.post("/", json={"a": 1}, headers={"X-Shop": "vinterr"})
    assert response.json() == {"a": 1, "x-shop": "vinterr"}


async def test_echo_with_non_object_body_gives_headers_only(client):
    response = await client.post("/", content=b"[1, 2]", headers={"X-One": "1"})
    assert response.json() == {"x-one": "1"}
    response = await client.post("/", content=b"{not json")
    assert response.status_code == 200
    assert response.json() == {}


async def test_health_reports_each_check_and_the_rate_limit_backend(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "service": "vinterr-backend",
        "checks": {"db": "ok", "broker": "disabled", "migrations": "ok", "redis": "disabled"},
        "rate_limit_backend": "memory",
    }


TERMINATE_OTHER_BACKENDS = text(
    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
BACKENDS_ALIVE = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config("")).walk_revisions()))
]


@pytest.mark.parametrize(
    ("revision", "pending"), [(None, REVISIONS), ("0003", REVISIONS[REVISIONS.index("0003") + 1 :])]
)
async def test_health_names_the_migrations_a_database_lacks(settings, tmp_path, revision, pending):
    from db.engine import Database
    from tests.support import create_database, drop_database, start_server

    url = await create_database(str(tmp_path), revision)
    behind = Database(url)
    running = await start_server(settings.replace(DATABASE_URL=url), behind)
    try:
        response = await running.client.get("/health")
        again = await running.client.get("/health")
    finally:
        await running.stop()
        await behind.dispose()
        await drop_database(url)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"] == {
        "db": "ok",
        "broker": "disabled",
        "migrations": "pending",
        "redis": "disabled",
    }
    assert body["pending_migrations"] == pending
    assert again.json() == body


async def test_health_with_database_down_is_503(settings, make_server):
    from db.engine import Database

    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    from tests.support import start_server

    running = await start_server(settings, broken)
    try:
        response = await running.client.get("/health")
        scraped = await running.client.get("/metrics")
        catalogue = await running.client.get("/categories/all")
    finally:
        await running.stop()
        await broken.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["checks"]["db"] == "error"
    assert scraped.status_code == 200 and "http_requests_total" in scraped.text
    assert catalogue.status_code == 503 and catalogue.json()["message"] == "Service unavailable"


@pytest.mark.skipif(not is_postgresql(), reason="terminates PostgreSQL backends")
async def test_connections_closed_by_the_server_are_replaced(client, db):
    for _ in range(3):
        await asyncio.gather(*(client.get("/health") for _ in range(8)))
    async with db.engine.connect() as connection:
        terminated = list(await connection.scalars(TERMINATE_OTHER_BACKENDS))
        assert terminated

        async def terminated_backends_gone() -> bool:
            await connection.commit()  # pg_stat_activity is read once per transaction
            return await connection.scalar(BACKENDS_ALIVE, {"pids": terminated}) == 0

        await wait_for(terminated_backends_gone, timeout_s=10)
    responses = await asyncio.gather(*(client.get("/health") for _ in range(8)))
    assert [r.status_code for r in responses] == [200] * 8


async def test_trailing_slash_is_accepted(client):
    assert (await client.get("/health/")).status_code == 200


async def test_an_unknown_route_is_404_and_an_unknown_method_405_as_json(client):
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found", "error_code": 404}
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.json() == {"message": "Method not allowed", "error_code": 405}


async def test_request_id_is_echoed_or_generated(client):
    response = await client.get("/", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    response = await client.get("/", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"
    assert len(response.headers["x-request-id"]) == 36


async def test_a_preflight_needs_no_token_and_allows_only_configured_origins(client, make_server):
    response = await client.options("/health")
    assert response.status_code == 204
    assert "GET" in response.headers["allow"]
    assert "access-control-allow-origin" not in response.headers
    running = await make_server(CORS_ORIGINS=("https://vinterr-plus.ru",))
    response = await running.client.options(
        "/health", headers={"Origin": "https://vinterr-plus.ru"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://vinterr-plus.ru"
    assert "Idempotency-Key" in response.headers["access-control-allow-headers"]
    response = await running.client.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_metrics_exposes_contract_names(client, make_server):
    await client.get("/")
    text = (await client.get("/metrics")).text
    assert "http_requests_total" in text
    assert "http_request_duration_seconds_bucket" in text
    assert "outbox_pending" in text
    scraped = await client.get("/metrics")
    assert scraped.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    running = await make_server(METRICS_TOKEN="scrape-token")
    assert (await running.client.get("/metrics")).status_code == 401
    response = await running.client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-token"}
    )
    assert response.status_code == 200


async def test_error_responses_carry_request_id(client):
    for response in (
        await client.get("/nope"),
        await client.delete("/health"),
        await client.post("/sizes", json={}),
    ):
        assert len(response.headers["x-request-id"]) == 36
        assert response.headers["content-type"].startswith("application/json")


async def test_oversized_json_body_is_413(client, admin_headers):
    body = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post("/sizes", content=body, headers=admin_headers)
    assert response.status_code == 413
    assert response.json() == {"message": "Request body too large", "error_code": 413}
