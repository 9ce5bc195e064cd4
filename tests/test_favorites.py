"""Favorites of a customer: adding once, hidden goods, listing, deleting by ids."""

from __future__ import annotations

from tests import factories


async def test_a_customer_favorites_visible_goods_once_and_deletes_them_by_id(
    client, customer, admin_headers
):
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
