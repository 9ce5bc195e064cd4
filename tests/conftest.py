"""Fixtures: one migrated database and one real HTTP server per run; tables emptied per test."""

from __future__ import annotations

import os

import pytest

from db.engine import Database
from services.commerceml import import_commerceml_file
from services.staff_users import create_or_reset_admin
from tests import commerceml_docs, factories
from tests.fakes import FakeGateway
from tests.response_schemas import ResponseLog
from tests.support import (
    auth,
    create_database,
    drop_database,
    is_postgresql,
    make_settings,
    staff_token,
    start_server,
    truncate_all,
)
from transport.app import _import_endpoint_modules
from transport.openapi import build_openapi
from transport.routing import ROUTES


def pytest_report_header(config):
    return "database backend: " + ("postgresql" if is_postgresql() else "sqlite")


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory):
    url = await create_database(str(tmp_path_factory.mktemp("db")))
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
def media_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def settings(database_url, media_root):
    return make_settings(database_url, media_root)


@pytest.fixture(scope="session")
async def db(settings):
    database = Database(settings.DATABASE_URL, pool_size=20)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def response_log():
    """Every JSON answer of the run, checked against /openapi.json when the run ends."""
    log = ResponseLog()
    yield log
    if not log.responses:
        return
    _import_endpoint_modules()
    mismatches, unanswered = log.problems(build_openapi(ROUTES, "check"))
    assert not mismatches, "bodies that differ from their declared schema:\n" + "\n".join(
        sorted(set(mismatches))[:50]
    )
    if unanswered and os.environ.get("RESPONSE_SCHEMA_COVERAGE"):
        pytest.fail("routes whose declared response no test received:\n" + "\n".join(unanswered))


@pytest.fixture(scope="session")
async def server(settings, db, response_log):
    running = await start_server(settings, db)
    running.client.event_hooks["response"].append(response_log.record)
    yield running
    await running.stop()


@pytest.fixture
async def client(server):
    return server.client


@pytest.fixture
async def app(server):
    return server.app


@pytest.fixture
async def make_server(settings, db, response_log):
    """Start another server with some settings changed; stopped after the test."""
    started = []

    async def factory(**overrides):
        running = await start_server(settings.replace(**overrides), db)
        running.client.event_hooks["response"].append(response_log.record)
        started.append(running)
        return running

    yield factory
    for running in started:
        await running.stop()


@pytest.fixture(autouse=True)
async def clean_tables(db, server):
    yield
    await truncate_all(db)
    server.app.ctx.catalog_cache.clear()
    await server.app.ctx.rate_limits.reset()


@pytest.fixture
async def admin(db):
    """A staff user and its headers."""
    async with db.begin() as session:
        user, _ = await create_or_reset_admin(session, 4, "admin", "admin-pass", "Ada", "Admin")
    return {"id": user.id, "headers": auth(staff_token(user.id))}


@pytest.fixture
def admin_headers(admin):
    return admin["headers"]


@pytest.fixture
async def customer(client):
    """A registered customer (factories.REGISTRATION) with the headers of its login."""
    created = await factories.register(client)
    return {**created, "headers": await factories.log_in(client)}


@pytest.fixture
async def gateway():
    """A local server speaking the payment gateway's protocol (tests/fakes.py)."""
    fake = await FakeGateway().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def onec_settings(settings, client, admin_headers):
    """Settings of the CommerceML import: the test documents' price types, a structure."""
    structure = await factories.post(client, "/structures", {"name": "Шерсть"}, admin_headers)
    return settings.replace(
        ONEC_PRICE_TYPE_ID=commerceml_docs.RETAIL,
        ONEC_SALE_PRICE_TYPE_ID=commerceml_docs.SALE,
        ONEC_DEFAULT_STRUCTURE_ID=structure["id"],
    )


@pytest.fixture
def import_file(db, tmp_path):
    """Import one document as the exchange does: a file, one transaction."""

    async def run(settings, content: bytes, name: str = "import.xml", progress=None):
        path = tmp_path / name
        path.write_bytes(content)
        async with db.begin() as session:
            return await import_commerceml_file(session, settings, path, progress=progress)

    return run
