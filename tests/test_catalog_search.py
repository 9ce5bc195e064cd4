"""Finding goods in the storefront: text search, price range, stock and sort orders."""

from __future__ import annotations

from tests import factories


async def _assortment(client, headers):
    refs = await factories.directories(client, headers)
    dress = await factories.good(
        client, headers, refs, "DR-100", name="Платье летнее", description="Лёгкое, из льна"
    )
    coats = await factories.good(
        client, headers, refs, "CT-200", name="Пальто шерстяное", description="Тёплое пальто"
    )
    shirt = await factories.good(
        client, headers, refs, "SH-300", name="Рубашка 100%_хлопок", description=""
    )
    await factories.variation(client, headers, dress["id"], refs["red"], refs["s"], price=3000)
    await factories.variation(
        client, headers, coats["id"], refs["red"], refs["s"], price=9000, discounted_price=7000
    )
    await factories.variation(client, headers, coats["id"], refs["blue"], refs["m"], price=12000)
    await factories.variation(
        client, headers, shirt["id"], refs["blue"], refs["s"], price=1500, amount=0
    )
    return {"dress": dress["id"], "coat": coats["id"], "shirt": shirt["id"]}


async def _ids(client, query: str) -> list[int]:
    response = await client.get(f"/goods/all?{query}")
    assert response.status_code == 200, response.text
    return [good["id"] for good in response.json()]


async def test_text_search_finds_by_name_word_article_and_description(client, admin_headers):
    goods = await _assortment(client, admin_headers)
    assert await _ids(client, "q=пальто") == [goods["coat"]]
    assert await _ids(client, "q=ПЛАТЬЕ") == [goods["dress"]]
    assert await _ids(client, "q=DR-100") == [goods["dress"]]
    assert await _ids(client, "q=льна") == [goods["dress"]]
    assert await _ids(client, "q=джинсы") == []


async def test_search_takes_like_wildcards_literally(client, admin_headers):
    await _assortment(client, admin_headers)
    assert await _ids(client, "q=Пла%25") == []
    assert await _ids(client, "q=Руба_ка") == []


async def test_price_range_uses_the_price_paid_and_narrows_the_variations(client, admin_headers):
    goods = await _assortment(client, admin_headers)
    assert await _ids(client, "price_min=5000&price_max=8000") == [goods["coat"]]
    coat = (await client.get("/goods/all?price_min=5000&price_max=8000")).json()[0]
    assert [v["discounted_price"] for v in coat["variations"]] == [7000]
    assert await _ids(client, "price_max=2000") == [goods["shirt"]]


async def test_in_stock_leaves_out_goods_with_nothing_to_sell(client, admin_headers):
    goods = await _assortment(client, admin_headers)
    assert await _ids(client, "in_stock=true") == [goods["dress"], goods["coat"]]
    assert await _ids(client, "in_stock=false") == [goods["dress"], goods["coat"], goods["shirt"]]


async def test_sort_orders_by_price_newness_and_popularity(client, admin_headers):
    goods = await _assortment(client, admin_headers)
    assert await _ids(client, "sort=price") == [goods["shirt"], goods["dress"], goods["coat"]]
    assert await _ids(client, "sort=-price") == [goods["coat"], goods["dress"], goods["shirt"]]
    assert await _ids(client, "sort=new") == [goods["shirt"], goods["coat"], goods["dress"]]
    assert await _ids(client, "sort=popular") == [goods["dress"], goods["coat"], goods["shirt"]]
    page = await client.get("/goods/all?sort=-price&page=2&count=1")
    assert [good["id"] for good in page.json()] == [goods["dress"]]
    assert page.headers["x-total-count"] == "3"


async def test_popular_counts_units_ordered(client, admin_headers):
    goods = await _assortment(client, admin_headers)
    await factories.post(client, "/delivery_types", {"name": "Самовывоз"}, admin_headers)
    await factories.post(client, "/statuses", {"name": "Новый"}, admin_headers)
    shirt = (await client.get(f"/goods/{goods['shirt']}", headers=admin_headers)).json()
    variation_id = shirt["variations"][0]["id"]
    await client.patch(f"/variations/{variation_id}", json={"amount": 5}, headers=admin_headers)
    order = await client.post(
        "/orders",
        json={
            "first_name": "Анна",
            "second_name": "Иванова",
            "phone_number": "+79120000001",
            "email": "anna@example.ru",
            "delivery_type_id": 1,
            "delivery_cost": 0,
            "city": "Челябинск",
            "street": "Тополиная",
            "delivery_address": "Самовывоз",
            "variations": [{"variation_id": variation_id, "amount": 2, "current_price": 1500}],
        },
    )
    assert order.status_code == 201, order.text
    assert (await _ids(client, "sort=popular"))[0] == goods["shirt"]


async def test_bad_search_parameters_are_refused(client):
    for query, field in (
        ("sort=cheapest", "sort"),
        ("price_min=-1", "price_min"),
        ("price_min=100&price_max=50", "price_min"),
        ("in_stock=maybe", "in_stock"),
        ("q=" + "я" * 201, "q"),
    ):
        response = await client.get(f"/goods/all?{query}")
        assert response.status_code == 400, query
        assert field in response.json()["fields"], query


async def test_each_search_has_its_own_cached_page_and_etag(client, admin_headers):
    goods = await _assortment(client, admin_headers)
    first = await client.get("/goods/all?q=пальто")
    second = await client.get("/goods/all?q=платье")
    assert first.headers["etag"] != second.headers["etag"]
    again = await client.get(
        "/goods/all?q=пальто", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    await client.patch(f"/goods/{goods['coat']}", json={"name": "Куртка"}, headers=admin_headers)
    assert await _ids(client, "q=пальто") == [goods["coat"]]
    assert await _ids(client, "q=куртка") == [goods["coat"]]
