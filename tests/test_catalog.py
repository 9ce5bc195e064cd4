"""Goods, variations and the storefront catalogue."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from services.catalog_cache import VersionedBodies
from services.stock import SYSTEM, Cause, reserve_stock
from tests import factories
from tests.support import is_postgresql
from transport import http


async def _shop(client, headers):
    refs = await factories.directories(client, headers)
    good = await factories.good(client, headers, refs)
    red_s = await factories.variation(client, headers, good["id"], refs["red"], refs["s"])
    red_m = await factories.variation(client, headers, good["id"], refs["red"], refs["m"], amount=0)
    blue_m = await factories.variation(
        client, headers, good["id"], refs["blue"], refs["m"], is_default=True
    )
    return refs, good, [red_s, red_m, blue_m]


async def test_a_created_good_reads_back_with_its_directory_names_and_duplicates_are_409(
    client, admin_headers
):
    refs = await factories.directories(client, admin_headers)
    good = await factories.good(client, admin_headers, refs, good_1c_id="00123")
    assert good["weight"] == 0.35 and good["is_visible"] is True
    assert good["default_variation"] is None
    again = await client.post("/goods", json={**good, "good_1c_id": None}, headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["message"] == "Good with this article exists"
    same_1c = await client.post("/goods", json={**good, "article": "B"}, headers=admin_headers)
    assert same_1c.json()["message"] == "Good with this 1C id exists"
    bad_refs = await client.post(
        "/goods",
        json={**good, "article": "C", "category_id": 999, "structure_id": 998},
        headers=admin_headers,
    )
    assert bad_refs.status_code == 400
    assert bad_refs.json()["fields"] == {
        "category_id": ["Category not found"],
        "structure_id": ["Structure not found"],
    }
    negative = await client.post(
        "/goods", json={**good, "article": "D", "weight": -1}, headers=admin_headers
    )
    assert negative.status_code == 400
    detail = (await client.get(f"/goods/{good['id']}", headers=admin_headers)).json()
    assert detail["category_name"] == "Платья"
    assert detail["structure_name"] == "Хлопок 100%"
    assert detail["products_care_name"] == "Стирка 30°"
    assert detail["variations"] == [] and detail["variations_to_show"] == []
    assert (await client.get("/goods/999", headers=admin_headers)).status_code == 404
    assert (await client.get(f"/goods/{good['id']}")).status_code == 401


async def test_a_variations_stock_sets_its_amount_and_its_1c_id_is_unique(client, admin_headers):
    refs, good, (red_s, red_m, blue_m) = await _shop(client, admin_headers)
    assert red_s["amount"] == 5 and red_s["stock"] == 5 and red_s["reserved"] == 0
    detail = (await client.get(f"/goods/{good['id']}", headers=admin_headers)).json()
    assert detail["default_variation"] == blue_m["id"]
    assert [v["id"] for v in detail["variations"]] == [red_s["id"], red_m["id"], blue_m["id"]]
    assert detail["variations_to_show"] == [red_s["id"], blue_m["id"]]
    full = (await client.get(f"/variations/{red_s['id']}")).json()
    assert full["color"] == {"id": refs["red"]["id"], "name": "Красный", "code": "#f00"}
    assert full["size"] == {"id": refs["s"]["id"], "name": "S"} and full["size_name"] == "S"
    assert full["images"] == []
    patched = await client.patch(
        f"/variations/{red_s['id']}", json={"amount": 7, "stock": 9}, headers=admin_headers
    )
    assert patched.json()["stock"] == 9 and patched.json()["amount"] == 9
    cleared = await client.patch(
        f"/variations/{blue_m['id']}", json={"is_default": False}, headers=admin_headers
    )
    assert cleared.status_code == 200
    detail = (await client.get(f"/goods/{good['id']}", headers=admin_headers)).json()
    assert detail["default_variation"] is None
    duplicate = await client.patch(
        f"/variations/{red_m['id']}", json={"variation_1c_id": "X1"}, headers=admin_headers
    )
    assert duplicate.status_code == 200
    taken = await client.patch(
        f"/variations/{red_s['id']}", json={"variation_1c_id": "X1"}, headers=admin_headers
    )
    assert taken.status_code == 409
    bad = await client.post(
        "/variations",
        json={
            "good_id": 999,
            "color_id": 999,
            "size_id": refs["s"]["id"],
            "name": "x",
            "price": 1.5,
            "amount": -1,
        },
        headers=admin_headers,
    )
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"price", "amount"}
    missing = await client.post(
        "/variations",
        json={
            "good_id": 999,
            "color_id": 999,
            "size_id": refs["s"]["id"],
            "name": "x",
            "price": 1,
            "amount": 1,
        },
        headers=admin_headers,
    )
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"color_id"} or "good_id" in missing.json()["fields"]


async def test_the_storefront_lists_visible_goods_with_colors_and_sizes_filtered_and_paged(
    client, admin_headers
):
    refs, good, (red_s, red_m, blue_m) = await _shop(client, admin_headers)
    hidden = await factories.good(client, admin_headers, refs, article="HIDDEN", is_visible=False)
    await factories.variation(client, admin_headers, hidden["id"], refs["red"], refs["s"])
    empty = await factories.good(client, admin_headers, refs, article="EMPTY")
    assert empty["id"]
    response = await client.get("/goods/all")
    assert response.status_code == 200
    assert "x-total-count" not in response.headers
    catalog = response.json()
    assert [g["id"] for g in catalog] == [good["id"]]
    item = catalog[0]
    assert item["structure"] == "Хлопок 100%" and item["products_care"] == "Стирка 30°"
    assert "good_1c_id" not in item and "barcode" not in item
    assert [v["id"] for v in item["variations"]] == [red_s["id"], red_m["id"], blue_m["id"]]
    assert item["variations"][1]["amount"] == 0
    assert item["colors"] == [
        {
            "id": refs["red"]["id"],
            "name": "Красный",
            "code": "#f00",
            "sizes": [{"id": refs["s"]["id"], "name": "S"}, {"id": refs["m"]["id"], "name": "M"}],
        },
        {
            "id": refs["blue"]["id"],
            "name": "Синий",
            "code": "#00f",
            "sizes": [{"id": refs["m"]["id"], "name": "M"}],
        },
    ]
    assert item["variations_to_show"] == [red_s["id"], blue_m["id"]]
    by_size = (await client.get(f"/goods/all?size_id={refs['m']['id']}")).json()
    assert [v["id"] for v in by_size[0]["variations"]] == [red_m["id"], blue_m["id"]]
    assert (
        await client.get(f"/goods/all?color_id={refs['blue']['id']}&size_id={refs['s']['id']}")
    ).json() == []
    assert (await client.get(f"/goods/all?category_id={refs['category']['id'] + 1}")).json() == []
    paged = await client.get("/goods/all?page=1&count=1")
    assert paged.headers["x-total-count"] == "1" and len(paged.json()) == 1
    assert (await client.get("/goods/all?page=2&count=1")).json() == []
    assert (await client.get("/goods/all?page=0")).status_code == 400
    assert (await client.get("/goods/all?color_id=abc")).status_code == 400
    assert (await client.get("/goods/all?unknown=1")).status_code == 200


async def test_deleted_and_hidden_goods_leave_the_storefront(client, admin_headers):
    _, good, (red_s, _, blue_m) = await _shop(client, admin_headers)
    await client.patch(f"/goods/{good['id']}", json={"is_visible": False}, headers=admin_headers)
    assert (await client.get("/goods/all")).json() == []
    assert (await client.get(f"/goods/{good['id']}/variations")).status_code == 404
    await client.patch(f"/goods/{good['id']}", json={"is_visible": True}, headers=admin_headers)
    assert len((await client.get(f"/goods/{good['id']}/variations")).json()) == 3
    assert (
        await client.delete(f"/variations/{blue_m['id']}", headers=admin_headers)
    ).status_code == 204
    assert (await client.get(f"/variations/{blue_m['id']}")).status_code == 404
    detail = (await client.get(f"/goods/{good['id']}", headers=admin_headers)).json()
    assert detail["default_variation"] is None
    assert (await client.delete(f"/goods/{good['id']}", headers=admin_headers)).status_code == 204
    assert (await client.get("/goods/all")).json() == []
    assert (await client.get(f"/variations/{red_s['id']}")).status_code == 404
    assert (await client.get("/variations/all")).json() == []
    assert (await client.get(f"/goods/{good['id']}", headers=admin_headers)).status_code == 404


async def test_an_unchanged_storefront_is_304_and_any_change_shows_on_the_next_read(
    client, admin_headers, db, app
):
    _, good, (red_s, _, _) = await _shop(client, admin_headers)
    first = await client.get("/goods/all")
    etag = first.headers["etag"]
    assert "must-revalidate" in first.headers["cache-control"]
    cached = await client.get("/goods/all", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    await client.patch(f"/goods/{good['id']}", json={"name": "Новое имя"}, headers=admin_headers)
    changed = await client.get("/goods/all", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()[0]["name"] == "Новое имя"
    # Another worker reserves two units; this worker's very next answer shows them.
    async with db.begin() as session:
        await reserve_stock(session, {red_s["id"]: 2}, Cause("order_reserve", SYSTEM))
    fresh = (await client.get("/goods/all")).json()
    assert fresh[0]["variations"][0]["amount"] == 3
    assert fresh[0]["variations"][0]["reserved"] == 2


async def test_catalogue_query_count_does_not_grow(client, admin_headers, db, app):
    refs = await factories.directories(client, admin_headers)

    async def count_queries() -> int:
        statements = []

        def listener(conn, cursor, statement, *args):
            statements.append(statement)

        app.ctx.catalog_cache.pages.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
        try:
            response = await client.get("/goods/all")
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(statements), len(response.json())

    async def add_goods(start: int, stop: int) -> None:
        for index in range(start, stop):
            item = await factories.good(client, admin_headers, refs, article=f"A{index}")
            await factories.variation(client, admin_headers, item["id"], refs["red"], refs["s"])
            await factories.variation(client, admin_headers, item["id"], refs["blue"], refs["m"])

    await add_goods(0, 10)
    small, listed_small = await count_queries()
    await add_goods(10, 60)
    large, listed_large = await count_queries()
    assert (listed_small, listed_large) == (10, 60)
    assert small == large


async def _three_goods(client, headers) -> None:
    refs = await factories.directories(client, headers)
    for index in range(3):
        item = await factories.good(client, headers, refs, article=f"THREE-{index}")
        await factories.variation(client, headers, item["id"], refs["red"], refs["s"])


async def test_the_catalogue_comes_gzipped_to_clients_that_accept_it(client, admin_headers):
    await _three_goods(client, admin_headers)
    plain = await client.get("/goods/all", headers={"Accept-Encoding": "identity"})
    packed = await client.get("/goods/all", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.json() == plain.json()
    assert packed.headers["etag"] != plain.headers["etag"]
    assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    refused = await client.get("/goods/all", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert refused.headers["etag"] == plain.headers["etag"]
    for held in (plain, packed):
        again = await client.get("/goods/all", headers={"If-None-Match": held.headers["etag"]})
        assert again.status_code == 304


async def test_a_large_catalogue_is_written_apart_from_its_header_and_reads_the_same(
    client, admin_headers, monkeypatch
):
    await _three_goods(client, admin_headers)
    whole = await client.get("/goods/all", headers={"Accept-Encoding": "identity"})
    packed = await client.get("/goods/all", headers={"Accept-Encoding": "gzip"})
    # Every body counts as large: the same answers must come the other way.
    monkeypatch.setattr(http, "WRITTEN_APART_FROM_BYTES", 1)
    for before in (whole, packed):
        encoding = before.headers.get("content-encoding", "identity")
        after = await client.get("/goods/all", headers={"Accept-Encoding": encoding})
        assert after.status_code == 200
        assert after.content == before.content
        for name in ("content-length", "etag", "vary", "cache-control", "content-type"):
            assert after.headers.get(name) == before.headers.get(name), name
        assert after.headers.get("content-encoding") == before.headers.get("content-encoding")
        assert after.headers["x-request-id"]
    held = await client.get("/goods/all", headers={"If-None-Match": whole.headers["etag"]})
    assert held.status_code == 304
    paged = await client.get("/goods/all?page=1&count=2")
    assert (paged.headers["x-total-count"], len(paged.json())) == ("3", 2)


async def test_a_directory_rename_shows_at_once(client, admin_headers):
    refs, good, _ = await _shop(client, admin_headers)
    first = await client.get("/goods/all")
    details = f"/goods/{good['id']}"
    assert "Алый" not in (await client.get(details, headers=admin_headers)).text
    renamed = await client.patch(
        f"/colors/{refs['red']['id']}", json={"name": "Алый"}, headers=admin_headers
    )
    assert renamed.status_code == 200
    after = await client.get("/goods/all", headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert "Алый" in after.text
    assert "Алый" in (await client.get(details, headers=admin_headers)).text
    renamed = await client.patch(
        f"/categories/{refs['category']['id']}", json={"name": "Сарафаны"}, headers=admin_headers
    )
    assert renamed.status_code == 200
    detail = (await client.get(details, headers=admin_headers)).json()
    assert detail["category_name"] == "Сарафаны"


@pytest.mark.skipif(not is_postgresql(), reason="needs concurrent writers")
async def test_a_checkout_committed_after_a_later_one_still_changes_the_etag(
    client, admin_headers, db, app
):
    _, _, (red_s, _, blue_m) = await _shop(client, admin_headers)
    earlier = db.session()
    await earlier.begin()
    await reserve_stock(earlier, {red_s["id"]: 2}, Cause("order_reserve", SYSTEM))
    async with db.begin() as later:
        await reserve_stock(later, {blue_m["id"]: 1}, Cause("order_reserve", SYSTEM))
    before = await client.get("/goods/all")
    await earlier.commit()
    await earlier.close()
    after = await client.get("/goods/all", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    amounts = {v["id"]: v["amount"] for v in after.json()[0]["variations"]}
    assert amounts[red_s["id"]] == 3


def test_kept_bodies_stay_within_their_byte_budget_and_their_version():
    bodies = VersionedBodies(max_bytes=10)
    bodies.put(1, 7, b"aaaa")
    bodies.put(2, 7, b"bbbb")
    assert bodies.get(1, 7) == b"aaaa"
    bodies.put(3, 7, b"cccc")
    # Over the budget: the least recently used body leaves first.
    assert bodies.get(2, 7) is None
    assert (bodies.get(1, 7), bodies.get(3, 7)) == (b"aaaa", b"cccc")
    assert bodies.get(1, 8) is None
    bodies.put(4, 7, b"x" * 11)
    assert bodies.get(4, 7) is None
    # Pages are measured by what they hold (the body and its gzipped copy).
    pages = VersionedBodies(max_bytes=10, size=lambda page: page["bytes"])
    pages.put("full", 7, {"bytes": 6})
    pages.put("page 1", 7, {"bytes": 6})
    assert (pages.get("full", 7), pages.get("page 1", 7)) == (None, {"bytes": 6})
