"""Staff users: create, login, read, edit, list, delete; rate limit of failed logins."""

from __future__ import annotations

import asyncio
import time

from tests.support import auth, wait_for


async def _create(client, headers, login="manager", password="s3cret-pass"):
    return await client.post(
        "/users",
        json={"login": login, "password": password, "first_name": "Мария", "last_name": "Ив"},
        headers=headers,
    )


async def test_a_created_user_logs_in_and_is_read_without_its_password(client, admin_headers):
    created = await _create(client, admin_headers)
    assert created.status_code == 201
    user = created.json()
    assert user == {"id": user["id"], "login": "manager", "first_name": "Мария", "last_name": "Ив"}
    login = await client.post("/users/auth", json={"login": "manager", "password": "s3cret-pass"})
    assert login.status_code == 200
    body = login.json()
    assert body["user_id"] == user["id"]
    token = body["Authorization"]
    for header in (token, f"Bearer {token}", f"token {token}"):
        read = await client.get(f"/users/{user['id']}", headers={"Authorization": header})
        assert read.status_code == 200
        assert "password" not in read.json() and "password_hash" not in read.json()


async def test_creating_a_user_refuses_a_busy_login_a_long_password_and_strangers(
    client, admin_headers
):
    await _create(client, admin_headers)
    busy = await _create(client, admin_headers)
    assert busy.status_code == 409
    assert busy.json() == {"message": "Login is busy", "error_code": 409}
    long_password = await _create(client, admin_headers, login="x", password="я" * 40)
    assert long_password.status_code == 400
    assert "password" in long_password.json()["fields"]
    anonymous = await client.post("/users", json={"login": "y"})
    assert anonymous.status_code == 401


async def test_a_staff_login_tells_an_unknown_user_from_a_wrong_password(client, admin_headers):
    await _create(client, admin_headers)
    unknown = await client.post("/users/auth", json={"login": "nobody", "password": "x"})
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "User not found"
    wrong = await client.post("/users/auth", json={"login": "manager", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Wrong password"
    invalid = await client.post("/users/auth", json={"login": "manager"})
    assert invalid.status_code == 400


async def test_patch_password_invalidates_tokens(client, admin_headers):
    user = (await _create(client, admin_headers)).json()
    token = (
        await client.post("/users/auth", json={"login": "manager", "password": "s3cret-pass"})
    ).json()["Authorization"]
    patched = await client.patch(
        f"/users/{user['id']}",
        json={"password": "new-pass", "first_name": "Анна"},
        headers=auth(token),
    )
    assert patched.status_code == 200
    assert patched.json()["first_name"] == "Анна"
    assert (await client.get(f"/users/{user['id']}", headers=auth(token))).status_code == 401
    relogin = await client.post("/users/auth", json={"login": "manager", "password": "new-pass"})
    assert relogin.status_code == 200


async def test_editing_a_user_refuses_a_taken_or_null_login_and_unknown_ids(
    client, admin_headers, admin
):
    user = (await _create(client, admin_headers)).json()
    busy = await client.patch(
        f"/users/{user['id']}", json={"login": "admin"}, headers=admin_headers
    )
    assert busy.status_code == 409
    same = await client.patch(
        f"/users/{user['id']}", json={"login": "manager"}, headers=admin_headers
    )
    assert same.status_code == 200
    missing = await client.patch("/users/999", json={"first_name": "X"}, headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json()["message"] == "User not found"
    null_login = await client.patch(
        f"/users/{user['id']}", json={"login": None}, headers=admin_headers
    )
    assert null_login.status_code == 400


async def test_users_are_listed_in_pages_and_deleted_by_others_only(client, admin_headers, admin):
    user = (await _create(client, admin_headers)).json()
    listed = await client.get("/users/all?limit=1", headers=admin_headers)
    assert listed.json() == {
        "items": [{"id": admin["id"], "login": "admin", "first_name": "Ada", "last_name": "Admin"}],
        "count": 2,
    }
    assert (await client.get("/users/all?limit=0", headers=admin_headers)).status_code == 400
    assert (await client.get("/users/all?offset=-1", headers=admin_headers)).status_code == 400
    token = (
        await client.post("/users/auth", json={"login": "manager", "password": "s3cret-pass"})
    ).json()["Authorization"]
    myself = await client.delete(f"/users/{user['id']}", headers=auth(token))
    assert myself.status_code == 409
    assert myself.json()["message"] == "Cannot delete yourself"
    deleted = await client.delete(f"/users/{user['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    assert (await client.get("/users/all", headers=auth(token))).status_code == 401
    assert (await client.delete(f"/users/{user['id']}", headers=admin_headers)).status_code == 404


async def test_failed_logins_are_rate_limited(make_server, admin):
    running = await make_server(RATE_LIMITS_ENABLED=True, RATE_LIMIT_LOGIN=(3, 900))
    for _ in range(3):
        response = await running.client.post(
            "/users/auth", json={"login": "admin", "password": "wrong"}
        )
        assert response.status_code == 401
    limited = await running.client.post(
        "/users/auth", json={"login": "admin", "password": "admin-pass"}
    )
    assert limited.status_code == 429
    body = limited.json()
    assert body["message"] == "Too many requests"
    assert body["retry_after"] >= 1
    assert int(limited.headers["retry-after"]) == body["retry_after"]


async def test_a_deleted_users_token_never_passes_to_a_later_user(client, admin_headers):
    user = (await _create(client, admin_headers)).json()
    token = (
        await client.post("/users/auth", json={"login": "manager", "password": "s3cret-pass"})
    ).json()["Authorization"]
    issued_by = int(time.time())
    assert (await client.delete(f"/users/{user['id']}", headers=admin_headers)).status_code == 204
    # Token times are whole seconds: the successor must be created in a later second.
    await wait_for(lambda: int(time.time()) > issued_by)
    successor = (await _create(client, admin_headers, login="successor")).json()
    assert (await client.get(f"/users/{successor['id']}", headers=auth(token))).status_code == 401


async def test_concurrent_twins_find_the_login_busy(client, admin_headers):
    responses = await asyncio.gather(*(_create(client, admin_headers) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert {r.json()["message"] for r in responses if r.status_code == 409} == {"Login is busy"}
