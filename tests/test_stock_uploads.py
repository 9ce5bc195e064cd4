"""1C uploads: Excel remains and weights, JSON remains; all-or-nothing, reservations kept."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from db.engine import Database
from db.models import Variation
from services.stock import SYSTEM, Cause, reserve_stock
from services.stock_uploads import apply_remains
from tests import factories
from tests.factories import order_body, remains_report, setup_shop, xlsx
from tests.support import is_postgresql, wait_for

LOCKS_WAITED_FOR = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def coded_shop(client, headers):
    shop = await setup_shop(client, headers, stock=5)
    await client.patch(
        f"/variations/{shop['first']['id']}", json={"variation_1c_id": "000123"}, headers=headers
    )
    await client.patch(
        f"/variations/{shop['second']['id']}", json={"variation_1c_id": "000456"}, headers=headers
    )
    return shop


async def stock_of(client, variation_id):
    variation = (await client.get(f"/variations/{variation_id}")).json()
    return variation["stock"], variation["reserved"], variation["amount"]


async def test_an_excel_remains_report_updates_by_1c_code_keeps_reservations_and_zeroes_the_rest(
    client, admin_headers
):
    shop = await coded_shop(client, admin_headers)
    placed = await client.post("/orders", json=order_body(shop))
    assert placed.status_code == 201
    report = remains_report(
        [
            ["Платье красное S", "000123", 4],
            ["Платье красное S", 123.0, "1,5"],
            ["Неизвестное", "000999", 3],
            [None, None, 7],
        ]
    )
    response = await client.post(
        "/variations/update_remains", files={"file": ("report.xlsx", report)}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "OK",
        "rows": 3,
        "updated": 1,
        "zeroed": 1,
        "unknown_codes": 1,
        "unknown_code_samples": ["000999"],
        "skipped_rows": 3,
    }
    assert await stock_of(client, shop["first"]["id"]) == (5, 2, 3)
    assert await stock_of(client, shop["second"]["id"]) == (0, 1, 0)


async def test_bad_reports_change_nothing(client, admin_headers):
    shop = await coded_shop(client, admin_headers)
    cases = [
        (b"not an excel file", "Unsupported file format: upload .xlsx"),
        (b"PK\x03\x04broken zip", "Unsupported file format: upload .xlsx"),
        (
            xlsx([["Код", "Остаток"], ["1", 2]]),
            "Required columns not found: Характеристика.Код, Итого по всем складам",
        ),
        (remains_report([]), "No data rows found"),
    ]
    for content, message in cases:
        response = await client.post(
            "/variations/update_remains", files={"file": ("r.xlsx", content)}, headers=admin_headers
        )
        assert response.status_code == 400
        assert response.json()["message"] == message
    missing = await client.post(
        "/variations/update_remains", files={"other": ("r", b"x")}, headers=admin_headers
    )
    assert missing.status_code == 400 and "file" in missing.json()["fields"]
    assert await stock_of(client, shop["first"]["id"]) == (5, 0, 5)
    assert (await client.post("/variations/update_remains")).status_code == 401


async def test_a_weights_report_sets_weights_by_article_the_last_row_winning(client, admin_headers):
    refs = await factories.directories(client, admin_headers)
    good = await factories.good(client, admin_headers, refs, article="00777")
    report = xlsx(
        [
            ["Отчёт по весам"],
            ["КодАртикул", "Наименование", "Вес"],
            ["00777", "Платье", "0,5"],
            ["00777", "Платье", 0.45],
            ["X-1", "Нет такого", 1],
            ["00888", "Без веса", None],
        ]
    )
    response = await client.post(
        "/goods/update_weights", files={"file": ("w.xlsx", report)}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "OK",
        "rows": 3,
        "updated": 1,
        "unknown_articles": 1,
        "unknown_article_samples": ["X-1"],
        "skipped_rows": 1,
    }
    detail = (await client.get(f"/goods/{good['id']}", headers=admin_headers)).json()
    assert detail["weight"] == 0.45


async def test_json_remains_update_listed_codes_and_a_full_report_zeroes_the_rest(
    client, admin_headers
):
    shop = await coded_shop(client, admin_headers)
    partial = await client.post(
        "/variations/auto_update_remains",
        json={
            "variations_data": [
                {"one_c_id": 123, "amount": 2},
                {"one_c_id": "000123", "amount": 1},
                {"one_c_id": "777", "amount": -5},
            ],
            "full_report": False,
        },
        headers=admin_headers,
    )
    assert partial.status_code == 200
    assert partial.json()["updated"] == 1 and partial.json()["zeroed"] == 0
    assert partial.json()["unknown_code_samples"] == ["777"]
    assert await stock_of(client, shop["first"]["id"]) == (3, 0, 3)
    assert await stock_of(client, shop["second"]["id"]) == (5, 0, 5)
    full = await client.post(
        "/variations/auto_update_remains",
        json=[{"one_c_id": "000123", "amount": -1}],
        headers=admin_headers,
    )
    assert full.json()["zeroed"] == 1
    assert await stock_of(client, shop["second"]["id"]) == (0, 0, 0)
    for body in (
        {"variations_data": []},
        [],
        {"variations_data": [{"one_c_id": "", "amount": 1}]},
        {"variations_data": [{"one_c_id": "1", "amount": 1.5}]},
    ):
        refused = await client.post(
            "/variations/auto_update_remains", json=body, headers=admin_headers
        )
        assert refused.status_code == 400, body
    assert await stock_of(client, shop["first"]["id"]) == (0, 0, 0)


@pytest.mark.skipif(not is_postgresql(), reason="row locks need PostgreSQL")
async def test_an_upload_and_a_checkout_never_lock_crosswise(client, admin_headers, db, settings):
    shop = await setup_shop(client, admin_headers)
    first, second = shop["first"]["id"], shop["second"]["id"]
    async with db.begin() as session:
        for variation_id, code in ((first, "A1"), (second, "B2")):
            (await session.get(Variation, variation_id)).variation_1c_id = code
    other_db = Database(settings.DATABASE_URL, pool_size=2)
    first_reserved = asyncio.Event()

    async def upload():
        await first_reserved.wait()
        async with other_db.begin() as session:
            await apply_remains(session, settings, {"B2": 7, "A1": 7}, True, "json", SYSTEM)

    uploading = asyncio.create_task(upload())

    async def upload_waits_for_a_lock_or_ended() -> bool:
        if uploading.done():
            return True
        async with db.session() as session:
            return await session.scalar(LOCKS_WAITED_FOR) > 0

    async def checkout():
        async with db.begin() as session:
            await reserve_stock(session, {first: 1}, Cause("order_reserve", SYSTEM))
            first_reserved.set()
            await wait_for(upload_waits_for_a_lock_or_ended)
            await reserve_stock(session, {second: 1}, Cause("order_reserve", SYSTEM))

    try:
        results = await asyncio.gather(checkout(), uploading, return_exceptions=True)
    finally:
        await other_db.dispose()
    assert results == [None, None]


async def test_uploads_over_their_body_limit_get_413_and_change_nothing(
    make_server, admin_headers, client
):
    shop = await setup_shop(client, admin_headers)
    small = await make_server(UPLOAD_MAX_BYTES=2000)
    variation = shop["first"]
    code = variation["variation_1c_id"] or "000123"
    big_report = remains_report([[f"Платье {n}", f"{code}{n}", 1] for n in range(400)])
    answers = [
        await small.client.post(
            "/variations/update_remains",
            files={"file": ("remains.xlsx", big_report)},
            headers=admin_headers,
        ),
        await small.client.post(
            "/variations/auto_update_remains",
            json=[{"one_c_id": f"{code}{n}", "amount": n} for n in range(200)],
            headers=admin_headers,
        ),
        await small.client.post(
            "/events/batch",
            json={"events": [{"type": "page.view", "data": {"n": n}} for n in range(200)]},
            headers=admin_headers,
        ),
    ]
    for answer in answers:
        assert answer.status_code == 413, answer.text
        assert answer.json() == {"message": "Request body too large", "error_code": 413}
    after = (await client.get(f"/variations/{variation['id']}")).json()
    assert after["stock"] == variation["stock"]
    events = (await client.get("/events/all?limit=10", headers=admin_headers)).json()
    assert events["count"] == 0
