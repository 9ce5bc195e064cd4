"""Two server processes on one database: neither answers the catalogue or a good's details from
a body older than a change another one committed."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import order_body, setup_shop
from tests.support import is_postgresql, start_server_process, stop_processes

pytestmark = pytest.mark.skipif(not is_postgresql(), reason="needs PostgreSQL")


def amounts(response: httpx.Response) -> dict[int, tuple[int, int]]:
    assert response.status_code == 200, response.text
    body = response.json()
    goods = body if isinstance(body, list) else [body]
    return {v["id"]: (v["amount"], v["price"]) for g in goods for v in g["variations"]}


async def test_a_change_committed_by_one_worker_shows_at_once_on_the_other(
    settings, client, admin_headers
):
    shop = await setup_shop(client, admin_headers, stock=50)
    vid = shop["first"]["id"]
    good = f"/goods/{shop['good']['id']}"
    started = [await start_server_process(settings) for _ in range(2)]
    one, other = (f"http://127.0.0.1:{port}" for _, port in started)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            for round_number in range(1, 6):
                # Both workers have the pages and the good cached before each change.
                for base in (one, other):
                    await http.get(f"{base}/goods/all")
                    await http.get(f"{base}/goods/all?page=1&count=20")
                    await http.get(f"{base}{good}", headers=admin_headers)
                price = 4990 + round_number
                changed = await http.patch(
                    f"{one}/variations/{vid}", json={"price": price}, headers=admin_headers
                )
                assert changed.status_code == 200
                seen = amounts(await http.get(f"{other}/goods/all"))
                assert seen[vid] == (50 - 2 * (round_number - 1), price)
                seen = amounts(await http.get(f"{other}{good}", headers=admin_headers))
                assert seen[vid] == (50 - 2 * (round_number - 1), price)
                line = {"variation_id": vid, "amount": 2, "current_price": price}
                placed = await http.post(
                    f"{other}/orders", json=order_body(shop, variations=[line])
                )
                assert placed.status_code == 201, placed.text
                for query in ("", "?page=1&count=20"):
                    seen = amounts(await http.get(f"{one}/goods/all{query}"))
                    assert seen[vid] == (50 - 2 * round_number, price)
                seen = amounts(await http.get(f"{one}{good}", headers=admin_headers))
                assert seen[vid] == (50 - 2 * round_number, price)
    finally:
        stop_processes([process for process, _ in started])
