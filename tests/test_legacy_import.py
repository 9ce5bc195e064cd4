"""Legacy customer import from a legacy database the test builds (SQLite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select, text

from db.models import Customer, OutboxMessage

LEGACY_ROWS = [
    (1, "8 902 516 31 11", "  иванов   иван  ", " IVAN@Example.ru ", 1_600_000_000),
    (2, "+79025163111", "Иванов Иван Иванович", "ivan2@example.ru", 0),
    (3, "79120000001", "мария", "not-an-email", None),
    (4, "12345", "Плохой телефон", "x@example.ru", None),
    (5, "+7 912 000 00 02", "пётр", None, 1_700_000_000),
    (6, "7912000000", "Короткий", None, None),
]


def build_legacy(path: Path, rows=LEGACY_ROWS) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                'CREATE TABLE "ZkzClients" (ID INTEGER PRIMARY KEY, '
                "phone_main TEXT, FirstFIO TEXT, email TEXT, created_at INTEGER)"
            )
        )
        connection.execute(
            text('INSERT INTO "ZkzClients" VALUES (:i, :p, :n, :e, :c)'),
            [dict(zip("ipnec", row, strict=True)) for row in rows],
        )
    engine.dispose()
    return url


async def test_import_maps_dedupes_and_is_idempotent(make_server, admin_headers, db, tmp_path):
    running = await make_server(
        LEGACY_DB_URL=build_legacy(tmp_path / "legacy.db"), LEGACY_DB_RETRIES_SLEEP=0.0
    )
    client = running.client
    existing = await client.post(
        "/customers",
        json={
            "first_name": "А",
            "second_name": "Б",
            "password": "pw-12345",
            "phone_number": "79120000002",
            "email": "a@example.ru",
        },
    )
    assert existing.status_code == 201
    dry = await client.post("/customers/import", json={"dry_run": True}, headers=admin_headers)
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True and dry.json()["inserted"] == 2
    report = (await client.post("/customers/import", json={}, headers=admin_headers)).json()
    assert {
        k: report[k]
        for k in (
            "read",
            "inserted",
            "skipped_existing",
            "skipped_phone_exists",
            "duplicates_in_source",
            "invalid_phone",
            "invalid_email",
        )
    } == {
        "read": 6,
        "inserted": 2,
        "skipped_existing": 0,
        "skipped_phone_exists": 1,
        "duplicates_in_source": 1,
        "invalid_phone": 2,
        "invalid_email": 1,
    }
    async with db.session() as session:
        imported = {
            c.legacy_id: c
            for c in await session.scalars(select(Customer).where(Customer.legacy_id.is_not(None)))
        }
        events = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == "CustomersImported")
            )
        )
    assert set(imported) == {2, 3}
    ivan = imported[2]
    assert ivan.phone_number == "79025163111" and ivan.first_name == "Иванов Иван Иванович"
    assert ivan.second_name == "" and ivan.last_name is None and ivan.is_registered is False
    assert imported[3].email is None and imported[3].first_name == "Мария"
    assert len(events) == 1 and events[0].payload["data"]["inserted"] == 2
    again = (await client.post("/customers/import", json={}, headers=admin_headers)).json()
    assert again["inserted"] == 0 and again["skipped_existing"] == 2
    erased = await client.delete(f"/customers/{ivan.id}/permanent", headers=admin_headers)
    assert erased.status_code == 204
    after_erase = (await client.post("/customers/import", json={}, headers=admin_headers)).json()
    assert after_erase["inserted"] == 0 and after_erase["skipped_existing"] == 2


async def test_import_survives_odd_legacy_values(make_server, admin_headers, db, tmp_path):
    rows = [
        (10, "+7 912 000 00 10", "далёкое будущее", None, 10**15),
        (11, "8 ٩١٢ ٠٠٠ ٠٠ ١١", "арабские цифры", None, None),
        (12, "89120000012", "прошлое", None, -5),
    ]
    running = await make_server(
        LEGACY_DB_URL=build_legacy(tmp_path / "odd.db", rows), LEGACY_DB_RETRIES_SLEEP=0.0
    )
    response = await running.client.post("/customers/import", json={}, headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["inserted"] == 2 and response.json()["invalid_phone"] == 1
    async with db.session() as session:
        imported = {
            c.legacy_id: c
            for c in await session.scalars(select(Customer).where(Customer.legacy_id.is_not(None)))
        }
    assert set(imported) == {10, 12}
    assert imported[10].phone_number == "79120000010"
    assert abs(imported[10].created_at.year - imported[12].created_at.year) <= 1


async def test_a_long_read_that_keeps_progressing_is_not_cut_off(
    make_server, admin_headers, tmp_path
):
    rows = ((legacy_id, "12345", "имя", None, None) for legacy_id in range(1, 300_001))
    running = await make_server(
        LEGACY_DB_URL=build_legacy(tmp_path / "big.db", rows),
        LEGACY_DB_TIMEOUT=1.5,
        LEGACY_DB_RETRIES_COUNT=0,
        LEGACY_IMPORT_BATCH_SIZE=500,
    )
    response = await running.client.post(
        "/customers/import", json={"dry_run": True}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["read"] == 300_000 and response.json()["invalid_phone"] == 300_000


async def test_import_needs_configuration_and_a_reachable_database(
    make_server, admin_headers, tmp_path, client
):
    assert (
        await client.post("/customers/import", json={}, headers=admin_headers)
    ).status_code == 503
    running = await make_server(
        LEGACY_DB_URL=f"sqlite:///{tmp_path}/missing/none.db",
        LEGACY_DB_RETRIES_COUNT=1,
        LEGACY_DB_RETRIES_SLEEP=0.0,
    )
    failed = await running.client.post("/customers/import", json={}, headers=admin_headers)
    assert failed.status_code == 502
    assert failed.json()["message"] == "Legacy database unavailable"
    assert failed.json()["progress"]["inserted"] == 0
    assert (await running.client.post("/customers/import", json={})).status_code == 401


def test_the_import_command_dry_run_reports_what_it_would_insert(tmp_path):
    legacy = build_legacy(tmp_path / "legacy.db")
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shop.db",
        "LEGACY_DB_URL": legacy,
        "PATH": "/usr/bin:/bin",
    }
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "main.py", "migrate"], cwd=root, env=env, check=True, capture_output=True
    )
    result = subprocess.run(
        [sys.executable, "main.py", "import-customers", "--dry-run"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert '"inserted": 3' in result.stdout and '"dry_run": true' in result.stdout
