"""Activity events: single and batch posts, daily and per-customer statistics, erasing."""

from __future__ import annotations

import json

from tests.factories import register


async def test_events_posted_singly_or_in_batches_are_counted_per_day_and_customer(
    client, customer, admin_headers
):
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
