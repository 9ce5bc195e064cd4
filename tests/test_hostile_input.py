"""Inputs at the edges of JSON, text, dates and URLs: each gets a clear 4xx, never a 500."""

from __future__ import annotations

import pytest
from sanic.response import raw

from tests.factories import REGISTRATION, register

LAST_DAY_FILTERS = [
    "/customers/all?created_to=9999-12-31",
    "/favorites/all?created_to=9999-12-31",
    "/orders/all?created_to=9999-12-31",
    "/events/all?date_to=9999-12-31",
    "/events/stats/daily?date_to=9999-12-31",
]


@pytest.mark.parametrize("path", LAST_DAY_FILTERS)
async def test_the_last_representable_day_is_an_open_upper_bound(client, admin_headers, path):
    response = await client.get(path, headers=admin_headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_timestamps_beyond_utc_range_are_invalid(client, admin_headers, created_at):
    single = await client.post(
        "/events", json={"type": "page.view", "created_at": created_at}, headers=admin_headers
    )
    assert single.status_code == 400, single.text
    assert set(single.json()["fields"]) == {"created_at"}
    batch = await client.post(
        "/events/batch",
        json={"events": [{"type": "page.view", "created_at": created_at}]},
        headers=admin_headers,
    )
    assert batch.status_code == 400, batch.text
    assert set(batch.json()["fields"]) == {"events.0.created_at"}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"type": "page.view", "data": {"x": NaN}}',
        b'{"type": "page.view", "data": {"x": -Infinity}}',
        b'{"type": "page.view", "data": {"x": 1e999}}',
    ],
    ids=["deep", "nan", "infinity", "overflow"],
)
async def test_bodies_json_cannot_represent_are_invalid(client, admin_headers, body):
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = await client.post("/events", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "Invalid JSON body"


async def test_favorite_ids_out_of_float_range_are_invalid(client, admin_headers):
    customer = await register(client)
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = await client.request(
        "DELETE",
        f"/customers/{customer['id']}/favorites",
        content=b'{"id": [1e999]}',
        headers=headers,
    )
    assert response.status_code == 400, response.text


NUL = "Text must not contain NUL characters"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/customers", {**REGISTRATION, "first_name": "Ив\x00ан"}),
        ("POST", "/events", {"type": "page.view", "data": {"note": "a\x00b"}}),
        ("POST", "/events", {"type": "page.view", "data": {"k\x00": 1}}),
        ("GET", "/customers/all?q=%00", None),
        ("GET", "/events/all?type=page%00view", None),
    ],
)
async def test_nul_characters_are_refused(client, admin_headers, method, path, body):
    response = await client.request(method, path, json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == NUL


async def test_escaped_backslash_before_u0000_is_plain_text(client, admin_headers):
    headers = {**admin_headers, "Content-Type": "application/json"}
    body = b'{"type": "page.view", "data": {"path": "C:\\\\u0000"}}'
    response = await client.post("/events", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {"path": "C:\\u0000"}


async def test_ids_out_of_range_still_need_credentials(client):
    response = await client.get("/orders/0")
    assert response.status_code == 401


async def test_early_years_keep_four_digits(client, admin_headers):
    response = await client.post(
        "/events",
        json={"type": "page.view", "created_at": "0005-01-01T00:00:00Z"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["created_at"] == "0005-01-01T00:00:00.000000Z"


def test_response_headers_never_carry_line_breaks_or_nul(app):
    response = raw(b"", headers={"X-Note": "a\r\nSet-Cookie: x=1\x00", "X-Plain": "b"})
    sent = {name.lower(): value for name, value in response.processed_headers}
    assert sent[b"x-note"] == b"aSet-Cookie: x=1"
    assert sent[b"x-plain"] == b"b"
