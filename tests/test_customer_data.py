"""Social links, favorites, activity events with statistics, and POST /register."""

from __future__ import annotations

import json

import pytest

from tests import factories
from tests.factories import log_in, register


@pytest.fixture
async def customer(client):
    created = await register(client)
    return {**created, "headers": await log_in(client)}


async def test_social_links(client, customer, admin_headers):
    path = f"/customers/{customer['id']}/social_accounts"
    headers = customer["headers"]
    linked = await client.post(
        path,
        json={"network": "vk", "url": "https://m.vk.com/ivan", "reason": "скидки"},
        headers=headers,
    )
    assert linked.status_code == 201
    account = linked.json()
    assert account["network"] == "vk" and account["connected_at"].endswith("Z")
    twice = await client.post(
        path, json={"network": "vk", "url": "https://vk.ru/x"}, headers=headers
    )
    assert twice.status_code == 409 and twice.json()["message"] == "Social network already linked"
    for url in (
        "https://vk.com.evil.io/x",
        "https://telegram.com/x",
        "https://evil.io/vk.com",
        "ftp://t.me/x",
        "not a url",
        "https://evil.io\\@t.me/x",
        "https://user@t.me/x",
        "https://[::1/x",
    ):
        wrong = await client.post(path, json={"network": "telegram", "url": url}, headers=headers)
        assert wrong.status_code == 422, url
        assert wrong.json()["fields"] == {"url": ["Link does not belong to the network"]}
    unknown = await client.post(
        path, json={"network": "myspace", "url": "https://m.com"}, headers=headers
    )
    assert unknown.status_code == 422 and unknown.json()["message"] == "Unknown social network"
    long_name = await client.post(
        path, json={"network": "n" * 40, "url": "https://m.com"}, headers=headers
    )
    assert long_name.status_code == 422
    assert long_name.json()["fields"] == {"network": ["Unknown social network"]}
    ok_port = await client.post(
        path, json={"network": "telegram", "url": "https://t.me:443/ivan"}, headers=headers
    )
    assert ok_port.status_code == 201
    reason = await client.patch(f"{path}/{account['id']}", json={"reason": None}, headers=headers)
    assert reason.status_code == 200 and reason.json()["reason"] is None
    listed = (await client.get(path, headers=admin_headers)).json()
    assert listed["count"] == 2 and listed["items"][0]["id"] == account["id"]
    other = await register(client, email="o@example.ru", phone_number="79000000005")
    foreign = await client.delete(
        f"/customers/{other['id']}/social_accounts/{account['id']}", headers=admin_headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["message"] == "Social account not found"
    forbidden = await client.get(f"/customers/{other['id']}/social_accounts", headers=headers)
    assert forbidden.status_code == 403
    assert (await client.delete(f"{path}/{account['id']}", headers=headers)).status_code == 204
    await client.delete(f"/customers/{customer['id']}", headers=admin_headers)
    deleted = await client.post(
        path, json={"network": "vk", "url": "https://vk.com/x"}, headers=admin_headers
    )
    assert deleted.status_code == 409 and deleted.json()["message"] == "Customer is deleted"


async def test_favorites(client, customer, admin_headers):
    refs = await factories.directories(client, admin_headers)
    first = await factories.good(client, admin_headers, refs, article="F1")
    second = await factories.good(client, admin_headers, refs, article="F2")
    hidden = await factories.good(client, admin_headers, refs, article="F3", is_visible=False)
    path = f"/customers/{customer['id']}/favorites"
    headers = customer["headers"]
    added = await client.post(path, json={"good_id": first["id"]}, headers=headers)
    assert added.status_code == 201
    favorite = added.json()
    assert favorite["good"] == {
        "id": first["id"],
        "name": first["name"],
        "article": "F1",
        "category_id": refs["category"]["id"],
        "default_variation": None,
    }
    again = await client.post(path, json={"good_id": first["id"]}, headers=headers)
    assert again.status_code == 200 and again.json() == favorite
    await client.post(path, json={"good_id": second["id"]}, headers=headers)
    missing = await client.post(path, json={"good_id": hidden["id"]}, headers=headers)
    assert missing.status_code == 404 and missing.json()["message"] == "Good not found"
    listed = (await client.get(path, headers=headers)).json()
    assert listed["count"] == 2 and listed["items"][0]["good_id"] == second["id"]
    only = await client.get(f"{path}?good_id={first['id']}&good_id=999", headers=headers)
    assert [f["good_id"] for f in only.json()["items"]] == [first["id"]]
    everyone = (
        await client.get(f"/favorites/all?customer_id={customer['id']}", headers=admin_headers)
    ).json()
    assert everyone["count"] == 2
    assert (await client.get("/favorites/all", headers=headers)).status_code == 403
    await client.patch(f"/goods/{second['id']}", json={"is_visible": False}, headers=admin_headers)
    assert (await client.get(path, headers=headers)).json()["count"] == 1
    for body in ({}, {"id": []}, {"id": None}, {"id": ["x"]}, {"id": list(range(1001))}):
        refused = await client.request("DELETE", path, json=body, headers=headers)
        assert refused.status_code == 400, body
        assert refused.json()["message"] == "id must be a non-empty list"
    removed = await client.request(
        "DELETE", path, json={"id": [favorite["id"], 99999]}, headers=headers
    )
    assert removed.json() == {"count_deleted": 1}
    by_query = await client.delete(f"{path}?id={favorite['id']}", headers=headers)
    assert by_query.json() == {"count_deleted": 0}
    empty_body = await client.request(
        "DELETE", f"{path}?id={favorite['id']}", json={}, headers=headers
    )
    assert empty_body.status_code == 200 and empty_body.json() == {"count_deleted": 0}


async def test_events_and_statistics(client, customer, admin_headers):
    single = await client.post(
        "/events",
        json={
            "type": "page.view",
            "customer_id": customer["id"],
            "data": {"path": "/"},
            "created_at": "2026-01-10T10:00:00",
        },
        headers=admin_headers,
    )
    assert single.status_code == 201
    assert single.json()["created_at"] == "2026-01-10T10:00:00.000000Z"
    other = await register(client, email="p@example.ru", phone_number="79000000006")
    batch = await client.post(
        "/events/batch",
        json={
            "events": [
                {
                    "type": "page.view",
                    "customer_id": customer["id"],
                    "created_at": "2026-01-10T11:00Z",
                },
                {
                    "type": "page.view",
                    "customer_id": other["id"],
                    "created_at": "2026-01-10T23:59Z",
                },
                {"type": "page.view", "created_at": "2026-01-11T00:00:00Z"},
                {"type": "cart.add", "customer_id": other["id"], "created_at": "2026-01-11T08:00Z"},
            ]
        },
        headers=admin_headers,
    )
    assert batch.status_code == 201
    body = batch.json()
    assert body["count"] == 4 and body["ids"] == sorted(body["ids"])
    bad_batch = await client.post(
        "/events/batch",
        json={"events": [{"type": "ok"}, {"type": "Bad Type"}, {"type": "ok", "customer_id": 999}]},
        headers=admin_headers,
    )
    assert bad_batch.status_code == 400
    assert bad_batch.json()["fields"] == {
        "events.1.type": ["Must match ^[a-z][a-z0-9_.:-]{0,63}$."],
        "events.2.customer_id": ["Customer not found"],
    }
    unknown_customer = await client.post(
        "/events/batch",
        json={"events": [{"type": "ok"}, {"type": "ok", "customer_id": 999}]},
        headers=admin_headers,
    )
    assert unknown_customer.json()["fields"] == {"events.1.customer_id": ["Customer not found"]}
    daily = (
        await client.get(
            "/events/stats/page.view/daily?date_from=2026-01-01", headers=admin_headers
        )
    ).json()
    assert daily == {
        "items": [
            {"date": "2026-01-11", "event_amount": 1},
            {"date": "2026-01-10", "event_amount": 3},
        ],
        "count": 2,
    }
    per_customer = (
        await client.get(
            "/events/stats/page.view/per_customer?date_to=2026-01-10", headers=admin_headers
        )
    ).json()
    assert per_customer["items"] == [
        {"date": "2026-01-10", "event_amount": 3, "customer_count": 2, "events_per_customer": 1.5}
    ]
    all_types = (
        await client.get(
            "/events/stats/daily?date_from=2026-01-11&date_to=2026-01-11", headers=admin_headers
        )
    ).json()
    assert all_types["items"] == [{"date": "2026-01-11", "event_amount": 2}]
    paged = (
        await client.get(
            "/events/stats/page.view/daily?limit=1&offset=1&date_to=2026-02-01",
            headers=admin_headers,
        )
    ).json()
    assert paged["count"] == 2 and paged["items"][0]["date"] == "2026-01-10"
    listed = (
        await client.get(
            f"/events/all?type=page.view&customer_id={customer['id']}", headers=admin_headers
        )
    ).json()
    assert listed["count"] == 2
    future = await client.post(
        "/events", json={"type": "x", "created_at": "2999-01-01"}, headers=admin_headers
    )
    assert future.status_code == 400
    assert (await client.get("/events/all?date_from=bad", headers=admin_headers)).status_code == 400
    assert (await client.get("/events/all", headers=customer["headers"])).status_code == 403
    erased = await client.delete(f"/customers/{customer['id']}/events", headers=admin_headers)
    assert erased.status_code == 200 and erased.json()["count_deleted"] >= 3
    await client.delete(f"/customers/{other['id']}", headers=admin_headers)
    refused = await client.post(
        "/events", json={"type": "x", "customer_id": other["id"]}, headers=admin_headers
    )
    assert refused.status_code == 409
    assert (await client.delete("/customers/999/events", headers=admin_headers)).status_code == 404


async def test_null_and_blank_optional_event_fields_are_not_given(client, admin_headers):
    event = {"type": "page.view", "customer_id": None, "data": "", "created_at": None}
    single = await client.post("/events", json=event, headers=admin_headers)
    assert single.status_code == 201, single.text
    assert single.json()["customer_id"] is None and single.json()["data"] is None
    batch = await client.post("/events/batch", json={"events": [event]}, headers=admin_headers)
    assert batch.status_code == 201, batch.text


async def test_event_batch_ids_follow_request_order(client, customer, admin_headers):
    sent = [
        {"type": f"step.{i}", "customer_id": customer["id"] if i % 2 else None}
        | ({"data": {"n": i, "name": "Платье"}} if i % 3 else {})
        for i in range(40)
    ]
    sent[5]["data"] = None
    batch = await client.post("/events/batch", json={"events": sent}, headers=admin_headers)
    assert batch.status_code == 201
    ids = batch.json()["ids"]
    listed = (await client.get("/events/all?limit=100", headers=admin_headers)).json()["items"]
    by_id = {item["id"]: item for item in listed}
    assert [by_id[i]["type"] for i in ids] == [event["type"] for event in sent]
    assert [by_id[i]["customer_id"] for i in ids] == [event["customer_id"] for event in sent]
    assert [by_id[i]["data"] for i in ids] == [event.get("data") for event in sent]


async def test_event_batch_data_limit_is_per_event(client, admin_headers):
    just_under = {"text": "я" * 8000}
    assert len(json.dumps(just_under, ensure_ascii=False).encode()) < 16 * 1024
    fits = await client.post(
        "/events/batch",
        json={"events": [{"type": "big", "data": just_under} for _ in range(3)]},
        headers=admin_headers,
    )
    assert fits.status_code == 201 and fits.json()["count"] == 3
    too_big = await client.post(
        "/events/batch",
        json={"events": [{"type": "big"}, {"type": "big", "data": {"text": "я" * 8300}}]},
        headers=admin_headers,
    )
    assert too_big.status_code == 400
    assert too_big.json()["fields"] == {"events.1.data": ["Must be at most 16 KiB serialised."]}
    listed = (await client.get("/events/all", headers=admin_headers)).json()
    assert listed["count"] == 3


async def test_register_route(client):
    response = await client.post(
        "/register",
        json={
            "name": "  Ivan   Ivanov ",
            "email": "Ivan.Ivanov@Example.ru",
            "age": 33,
            "gender": "Male",
            "country": "Russia",
            "phone": "+7(921)345-19-48",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Ivan Ivanov" and body["email"] == "ivan.ivanov@example.ru"
    assert body["phone"] == "+7(921)345-19-48" and body["address"] is None
    assert len(body["user_uuid"]) == 36 and body["registered_at"].endswith("Z")
    duplicate = await client.post(
        "/register", json={"name": "X", "email": "ivan.ivanov@example.ru"}
    )
    assert duplicate.status_code == 400
    assert (
        duplicate.json()["message"]
        == "Пользователь с email ivan.ivanov@example.ru уже зарегистрирован"
    )
    assert duplicate.json()["detail"] == duplicate.json()["message"]
    phone = await client.post(
        "/register", json={"name": "Y", "email": "y@example.ru", "phone": "8 921 345 19 48"}
    )
    assert phone.status_code == 400
    assert phone.json()["message"] == "Пользователь с телефоном 8 921 345 19 48 уже зарегистрирован"
    invalid = await client.post("/register", json={"email": "bad", "age": 200})
    assert invalid.status_code == 422
    assert invalid.json()["error_code"] == 422 and set(invalid.json()["fields"]) == {
        "name",
        "email",
        "age",
    }
    assert invalid.json()["detail"] == "Validation error"
    empty = await client.post("/register", content=b"")
    assert empty.status_code == 422
    raw_phone = await client.post(
        "/register", json={"name": "Z", "email": "z@example.ru", "phone": "доб. 123"}
    )
    assert raw_phone.status_code == 201 and raw_phone.json()["phone"] == "доб. 123"
    long_email = await client.post(
        "/register", json={"name": "L", "email": "a" * 64 + "@" + "b" * 40 + ".ru"}
    )
    assert long_email.status_code == 422 and set(long_email.json()["fields"]) == {"email"}
