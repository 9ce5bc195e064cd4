"""Social accounts of a customer: linking checked against the network's hosts, editing, the
admin list, unlinking."""

from __future__ import annotations

from tests.factories import register


async def test_a_social_account_links_once_per_network_and_only_to_its_hosts(
    client, customer, admin_headers
):
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
