"""1C exchange protocol over HTTP as 1C calls it: sessions, uploads, background imports, the log."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from db.models import OnecExchange, OnecSession
from db.models.base import utcnow
from services.stock import UPLOAD_LOCK_KEY
from tests.commerceml_docs import (
    MAIN_STORE,
    RETAIL,
    SALE,
    SHOP_STORE,
    Group,
    Offer,
    Product,
    import_xml,
    offers_xml,
    rests_xml,
)
from tests.factories import exchange_settings
from tests.onec_client import PATH, OneC, basic
from tests.support import is_postgresql, wait_for

GOODS = import_xml(
    [Group("g1", "Женская одежда", [Group("g2", "Платья")])],
    [Product("3f6c1d0e-6b1a-11ee-80f1-0050569c2a11", "Платье «Лето»", "VN-001", "g2")],
)


@pytest.fixture
async def exchange(make_server, client, admin_headers, tmp_path):
    """A server with the exchange switched on, files under a folder of the test's own."""
    folder = tmp_path / "1c"
    running = await make_server(**await exchange_settings(client, admin_headers, folder))
    running.folder = folder
    return running


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def test_unset_credentials_hide_the_exchange(client):
    for path in ("/1c_exchange", PATH):
        for mode in ("checkauth", "init", "query"):
            response = await client.get(
                path, params={"type": "sale", "mode": mode}, headers=basic()
            )
            assert response.status_code == 404
            assert response.text == "failure\nNot found"
            assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_checkauth_then_init_on_both_paths(exchange):
    for path in ("/1c_exchange", PATH):
        onec = OneC(exchange.client, path)
        await onec.checkauth()
        ((name, value),) = onec.cookie.items()
        assert name == "vinterr_1c" and len(value) >= 40
        response = await onec.call("catalog", "init")
        assert response.text == "zip=no\nfile_limit=10485760"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        for mode in ("deactivate", "complete"):
            assert (await onec.call("catalog", mode)).text == "success"


async def test_credentials_and_cookies_are_checked(exchange, db):
    client = exchange.client
    wrong = [
        {},
        basic(password="wrong"),
        basic(login="other"),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer something"},
    ]
    for headers in wrong:
        response = await client.get(
            PATH, params={"type": "catalog", "mode": "checkauth"}, headers=headers
        )
        assert response.status_code == 401, headers
        assert response.text == "failure\nNot authorized"
        assert response.headers["www-authenticate"].startswith("Basic")
    onec = OneC(client)
    await onec.checkauth()
    without_cookie = await client.get(PATH, params={"type": "catalog", "mode": "init"})
    assert (without_cookie.status_code, without_cookie.text) == (401, "failure\nNot authorized")
    stranger = OneC(client)
    stranger.cookie = {"vinterr_1c": "made-up"}
    assert (await stranger.call("catalog", "init")).status_code == 401
    with_wrong_basic = await client.get(
        PATH,
        params={"type": "catalog", "mode": "init"},
        headers={**basic(password="wrong"), "Cookie": f"vinterr_1c={onec.cookie['vinterr_1c']}"},
    )
    assert with_wrong_basic.status_code == 401
    assert (await onec.call("catalog", "init")).status_code == 200
    async with db.begin() as session:
        await session.execute(
            update(OnecSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await onec.call("catalog", "init")
    assert (expired.status_code, expired.text) == (401, "failure\nNot authorized")
    upload = await onec.call("catalog", "file", b"<x/>", filename="import.xml")
    assert upload.status_code == 401
    assert files_under(exchange.folder) == []


async def test_an_unknown_type_or_mode_answers_failure_naming_the_field(exchange):
    onec = OneC(exchange.client)
    await onec.checkauth()
    cases = [
        ({"type": "catalog", "mode": "launch"}, "mode"),
        ({"type": "get_catalog", "mode": "init"}, "type"),
        ({"mode": "init"}, "type"),
    ]
    for params, field in cases:
        response = await onec.call(**{"kind": params.get("type", ""), "mode": params["mode"]})
        if "type" not in params:
            response = await exchange.client.get(
                PATH, params=params, headers={"Cookie": f"vinterr_1c={onec.cookie['vinterr_1c']}"}
            )
        assert response.status_code == 400, params
        assert response.text.startswith(f"failure\nValidation error: {field}:"), response.text
    for kind, mode in (("catalog", "query"), ("catalog", "success")):
        response = await onec.call(kind, mode)
        assert response.status_code == 400
        assert response.text == f"failure\nMode {mode} is not supported for type {kind}"


async def test_file_names_are_checked(exchange):
    onec = OneC(exchange.client)
    await onec.checkauth()
    for name in (
        "../import.xml",
        "a/../../b.xml",
        "/etc/passwd",
        "import files/x.xml",
        "импорт.xml",
        "a\\b.xml",
        "a//b.xml",
        "./import.xml",
        "..",
        "x" * 256,
        "",
    ):
        response = await onec.call("catalog", "file", b"<x/>", filename=name)
        assert response.status_code == 400, name
        assert response.text.startswith("failure\n"), name
    missing = await onec.call("catalog", "file", b"<x/>")
    assert missing.text == "failure\nFile name is required"
    assert files_under(exchange.folder) == []


async def test_pieces_append_and_the_total_is_capped(make_server, client, admin_headers, tmp_path):
    folder = tmp_path / "1c"
    running = await make_server(
        **await exchange_settings(client, admin_headers, folder),
        ONEC_FILE_LIMIT=1000,
        ONEC_FILE_TOTAL_LIMIT=2500,
    )
    onec = OneC(running.client)
    await onec.checkauth()
    assert (await onec.call("catalog", "init")).text == "zip=no\nfile_limit=1000"
    content = bytes(range(256)) * 9
    await onec.upload("import_files/ab/photo.jpg", content, piece=1000)
    (stored,) = files_under(folder)
    assert stored.endswith("import_files/ab/photo.jpg")
    assert (folder / stored).read_bytes() == content
    over = await onec.call("catalog", "file", b"x" * 500, filename="import_files/ab/photo.jpg")
    assert over.status_code == 413
    assert over.text.startswith("failure\nFile larger than 2500 bytes")
    assert files_under(folder) == []
    too_big_piece = await onec.call("catalog", "file", b"x" * 1001, filename="offers.xml")
    assert (too_big_piece.status_code, too_big_piece.text) == (
        413,
        "failure\nRequest body too large",
    )
    assert files_under(folder) == []
    other = OneC(running.client)
    await other.checkauth()
    await onec.upload("import.xml", b"first")
    await other.upload("import.xml", b"second")
    contents = sorted((folder / name).read_bytes() for name in files_under(folder))
    assert contents == [b"first", b"second"]


async def test_import_runs_in_the_background_until_success(exchange, admin_headers):
    onec = OneC(exchange.client)
    await onec.checkauth()
    await onec.init()
    await onec.upload("import.xml", GOODS, piece=100)
    first = await onec.call("catalog", "import", filename="import.xml")
    assert first.status_code == 200
    assert first.text.startswith("progress\n")
    done = await onec.import_file("import.xml")
    assert (done.status_code, done.text) == (200, "success")
    again = await onec.call("catalog", "import", filename="import.xml")
    assert again.text == "success"
    log = await exchange.client.get("/1c_exchange/log", headers=admin_headers)
    assert log.status_code == 200
    rows = log.json()["items"]
    assert [(row["mode"], row["outcome"]) for row in rows] == [
        ("import", "success"),
        ("file", "success"),
        ("init", "success"),
        ("checkauth", "success"),
    ]
    assert rows[0]["filename"] == "import.xml" and rows[0]["attempts"] == 1
    assert rows[0]["finished_at"] is not None
    assert rows[1]["counts"] == {"bytes": len(GOODS), "chunks": -(-len(GOODS) // 100)}
    assert log.json()["count"] == 4


async def test_import_failures_answer_failure(exchange):
    onec = OneC(exchange.client)
    await onec.checkauth()
    never = await onec.call("catalog", "import", filename="import.xml")
    assert never.status_code == 400
    assert never.text == "failure\nFile import.xml was not uploaded in this session"
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    for name, content in (
        ("broken.xml", GOODS[:-30]),
        ("bomb.xml", bomb),
        ("external.xml", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'),
    ):
        await onec.upload(name, content)
        answer = await onec.import_file(name)
        assert answer.status_code == 400, name
        assert answer.text.startswith("failure\n"), name
        assert "\n" not in answer.text.split("\n", 1)[1]


async def test_a_dead_workers_import_is_started_again(exchange, db):
    onec = OneC(exchange.client)
    await onec.checkauth()
    await onec.upload("import.xml", GOODS)
    async with db.begin() as session:
        onec_session = await session.scalar(select(OnecSession))
        session.add(
            OnecExchange(
                session_id=onec_session.id,
                type="catalog",
                mode="import",
                filename="import.xml",
                outcome="progress",
                runner="gone-host:1:dead",
                lease_until=utcnow() + timedelta(minutes=5),
                attempts=1,
            )
        )
    running = await onec.call("catalog", "import", filename="import.xml")
    assert running.text.startswith("progress\n")
    # Time for a wrongful takeover to show: the dead worker's lease has minutes left.
    await asyncio.sleep(0.2)
    assert (await onec.call("catalog", "import", filename="import.xml")).text.startswith("progress")
    async with db.begin() as session:
        await session.execute(update(OnecExchange).values(lease_until=utcnow()))
    done = await onec.import_file("import.xml")
    assert done.text == "success"
    async with db.begin() as session:
        job = await session.scalar(select(OnecExchange).where(OnecExchange.mode == "import"))
        assert (job.attempts, job.runner, job.outcome) == (2, None, "success")


async def test_an_import_interrupted_three_times_fails(exchange, db):
    onec = OneC(exchange.client)
    await onec.checkauth()
    await onec.upload("import.xml", GOODS)
    async with db.begin() as session:
        onec_session = await session.scalar(select(OnecSession))
        session.add(
            OnecExchange(
                session_id=onec_session.id,
                type="catalog",
                mode="import",
                filename="import.xml",
                outcome="progress",
                runner="gone-host:1:dead",
                lease_until=utcnow() - timedelta(seconds=1),
                attempts=3,
            )
        )
    answer = await onec.call("catalog", "import", filename="import.xml")
    assert answer.status_code == 400
    assert answer.text.startswith("failure\nImport interrupted 3 times")


async def test_one_import_at_a_time(exchange, db):
    first, second = OneC(exchange.client), OneC(exchange.client)
    for onec in (first, second):
        await onec.checkauth()
        await onec.upload("import.xml", GOODS)
    async with db.begin() as session:
        first_session = await session.scalar(select(OnecSession).order_by(OnecSession.id))
        session.add(
            OnecExchange(
                session_id=first_session.id,
                type="catalog",
                mode="import",
                filename="import.xml",
                outcome="progress",
                runner="other-host:1:busy",
                lease_until=utcnow() + timedelta(minutes=5),
                attempts=1,
            )
        )
    waiting = await second.call("catalog", "import", filename="import.xml")
    assert waiting.text == "progress\nWaiting for another import to finish"
    # Time for a second import to start wrongly beside the one holding the lease.
    await asyncio.sleep(0.3)
    again = await second.call("catalog", "import", filename="import.xml")
    assert again.text == "progress\nWaiting for another import to finish"
    async with db.begin() as session:
        await session.execute(
            update(OnecExchange)
            .where(OnecExchange.runner == "other-host:1:busy")
            .values(lease_until=utcnow())
        )
    assert (await second.import_file("import.xml")).text == "success"
    assert (await first.import_file("import.xml")).text == "success"


async def test_calls_may_land_on_any_server(exchange, make_server):
    other = await make_server(**exchange.app.ctx.settings.__dict__)
    onec_a, onec_b = OneC(exchange.client), OneC(other.client)
    await onec_a.checkauth()
    onec_b.cookie = onec_a.cookie
    assert (await onec_b.call("catalog", "init")).status_code == 200
    await onec_a.upload("import.xml", GOODS[:50])
    await onec_b.upload("import.xml", GOODS[50:])
    answers = []

    async def finished() -> bool:
        onec = (onec_a, onec_b)[len(answers) % 2]
        answers.append((await onec.call("catalog", "import", filename="import.xml")).text)
        return not answers[-1].startswith("progress")

    await wait_for(finished, interval_s=0.05)
    assert answers[-1] == "success"


async def test_exchange_log_is_for_staff(exchange, admin_headers):
    onec = OneC(exchange.client)
    await onec.checkauth("sale")
    await onec.call("sale", "file", b"<x/>", filename="../orders.xml")
    assert (await exchange.client.get("/1c_exchange/log")).status_code == 401
    page = await exchange.client.get(
        "/1c_exchange/log", params={"outcome": "failure", "limit": 1}, headers=admin_headers
    )
    assert page.status_code == 200
    (row,) = page.json()["items"]
    assert (row["type"], row["mode"], row["outcome"]) == ("sale", "file", "failure")
    assert row["message"].startswith("Invalid file name")
    bad = await exchange.client.get(
        "/1c_exchange/log", params={"outcome": "maybe"}, headers=admin_headers
    )
    assert bad.status_code == 400


async def test_exchange_requests_are_counted_by_type_mode_and_result(exchange):
    onec = OneC(exchange.client)
    await onec.checkauth()
    await onec.call("catalog", "init")
    await exchange.client.get(PATH, params={"type": "catalog", "mode": "init"})
    metrics = (await exchange.client.get("/metrics")).text
    assert (
        'onec_exchange_requests_total{mode="checkauth",result="success",type="catalog"}' in metrics
    )
    assert 'onec_exchange_requests_total{mode="init",result="failure",type="catalog"}' in metrics


async def test_old_files_and_rows_are_purged(exchange, db):
    from background.jobs import JobRunner, build_jobs

    onec = OneC(exchange.client)
    await onec.checkauth()
    await onec.upload("import.xml", GOODS)
    old = OneC(exchange.client)
    await old.checkauth()
    await old.upload("offers.xml", GOODS)
    async with db.begin() as session:
        sessions = list(await session.scalars(select(OnecSession).order_by(OnecSession.id)))
        month_ago = utcnow() - timedelta(days=31)
        await session.execute(
            update(OnecExchange)
            .where(OnecExchange.session_id == sessions[1].id)
            .values(started_at=month_ago)
        )
        await session.execute(
            update(OnecSession)
            .where(OnecSession.id == sessions[1].id)
            .values(created_at=month_ago, expires_at=month_ago + timedelta(hours=1))
        )
    old_folder = exchange.folder / sessions[1].folder
    stamp = time.time() - 31 * 86400
    for path in (old_folder / "offers.xml", old_folder):
        os.utime(path, (stamp, stamp))
    settings = exchange.app.ctx.settings
    jobs = [job for job in build_jobs(db, settings) if job.name == "purge_onec_exchanges"]
    await JobRunner(db, jobs).run_due()
    assert files_under(exchange.folder) == [f"{sessions[0].folder}/import.xml"]
    async with db.begin() as session:
        assert [s.id for s in await session.scalars(select(OnecSession))] == [sessions[0].id]
        remaining = await session.scalars(select(OnecExchange.session_id))
        assert set(remaining) == {sessions[0].id}


DRESS, SKIRT = "3f6c1d0e-6b1a-11ee-80f1-0050569c2a11", "4a7d2e1f-6b1a-11ee-80f1-0050569c2a11"
CATALOGUE = import_xml(
    [Group("g1", "Женская одежда", [Group("g2", "Платья"), Group("g3", "Юбки")])],
    [
        Product(DRESS, "Платье «Лето»", "VN-001", "g2", "Лёгкое платье", weight="0.350"),
        Product(SKIRT, "Юбка плиссе", "VN-002", "g3", barcode="4600000000028"),
    ],
)
OFFERS = offers_xml(
    [
        Offer(
            f"{DRESS}#c1",
            "Платье «Лето» (Красный, 44)",
            "Красный",
            "44",
            {RETAIL: "4990.50", SALE: "3990"},
            {MAIN_STORE: "3", SHOP_STORE: "2"},
        ),
        Offer(f"{DRESS}#c2", "Платье «Лето» (Синий, 46)", "Синий", "46", {RETAIL: "4990"}, {}),
        Offer(SKIRT, "Юбка плиссе", prices={RETAIL: "2990"}, stores={MAIN_STORE: "7"}),
    ]
)


async def test_catalogue_from_1c_reaches_the_site(exchange, client, admin_headers):
    onec = OneC(exchange.client)
    await onec.checkauth()
    await onec.init()
    await onec.upload("import.xml", CATALOGUE, piece=1000)
    await onec.upload("offers.xml", OFFERS, piece=1000)
    for name in ("import.xml", "offers.xml"):
        assert (await onec.import_file(name)).text == "success", name
    variations = {v["name"]: v for v in (await client.get("/variations/all")).json()}
    red = variations["Платье «Лето» (Красный, 44)"]
    assert (red["price"], red["discounted_price"], red["stock"], red["amount"]) == (
        4991,
        3990,
        5,
        5,
    )
    assert (red["color"]["name"], red["size"]["name"]) == ("Красный", "44")
    assert (
        variations["Платье «Лето» (Синий, 46)"]["stock"],
        variations["Юбка плиссе"]["stock"],
    ) == (
        0,
        7,
    )
    dress = (await client.get(f"/goods/{red['good_id']}", headers=admin_headers)).json()
    assert (dress["name"], dress["article"], dress["is_visible"]) == (
        "Платье «Лето»",
        "VN-001",
        False,
    )
    assert (await client.get("/goods/all")).json() == []
    shown = await client.patch(
        f"/goods/{red['good_id']}", json={"is_visible": True}, headers=admin_headers
    )
    assert shown.status_code == 200
    (listed,) = (await client.get("/goods/all")).json()
    assert listed["id"] == red["good_id"]
    later = OneC(exchange.client)
    await later.checkauth()
    await later.init()
    await later.upload("rests_1.xml", rests_xml({f"{DRESS}#c1": {MAIN_STORE: "1"}}, True))
    assert (await later.import_file("rests_1.xml")).text == "success"
    after = {v["name"]: v for v in (await client.get("/variations/all")).json()}
    assert after["Платье «Лето» (Красный, 44)"]["stock"] == 1
    assert after["Юбка плиссе"]["stock"] == 7


@pytest.mark.skipif(not is_postgresql(), reason="SQLite's one writer is the import itself")
async def test_a_long_import_keeps_its_lease(make_server, client, admin_headers, tmp_path, db):
    """Polls during an import longer than its lease see it renewed, not started again.

    A remains upload holding the upload lock keeps the import waiting, however fast the machine.
    """
    lease_s = 1.5
    settings = await exchange_settings(client, admin_headers, tmp_path / "1c")
    running = await make_server(**settings, ONEC_IMPORT_LEASE_S=lease_s)
    goods = [Product(f"good-{n:05d}", f"Платье {n}", f"VN-{n:05d}", "g1") for n in range(400)]
    onec = OneC(running.client)
    await onec.checkauth()
    await onec.upload("import.xml", import_xml([Group("g1", "Платья")], goods))

    async def import_job() -> OnecExchange | None:
        async with db.session() as session:
            return await session.scalar(select(OnecExchange).where(OnecExchange.mode == "import"))

    answers = []

    async def ask() -> str:
        answers.append((await onec.call("catalog", "import", filename="import.xml")).text)
        return answers[-1]

    async def renewed_past_a_whole_lease() -> bool:
        await ask()
        return (await import_job()).lease_until >= first_lease + timedelta(seconds=lease_s)

    async def finished() -> bool:
        return not (await ask()).startswith("progress")

    async with db.engine.connect() as upload:
        await upload.execute(select(func.pg_advisory_lock(UPLOAD_LOCK_KEY)))
        await ask()
        first_lease = (await import_job()).lease_until
        await wait_for(renewed_past_a_whole_lease, interval_s=0.05)
        await upload.execute(select(func.pg_advisory_unlock(UPLOAD_LOCK_KEY)))
    await wait_for(finished, timeout_s=120)
    assert answers[-1] == "success"
    assert any(answer.startswith("progress\nImported ") for answer in answers), answers
    job = await import_job()
    assert (job.attempts, job.counts["goods_created"]) == (1, 400)
