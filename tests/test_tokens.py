"""Token rules: header forms, expiry, tampering, unknown subjects, roles, API clients."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import event

from db.models import Customer
from helpers.tokens import issue_token
from services.api_clients import create_api_client, deactivate_api_client
from tests.support import JWT_SECRET, auth, customer_token, is_postgresql, staff_token


async def _customer(db, status="active") -> int:
    async with db.begin() as session:
        customer = Customer(
            first_name="Иван",
            second_name="Петров",
            email="ivan@example.ru",
            is_registered=True,
            status=status,
        )
        session.add(customer)
        await session.flush()
        return customer.id


def _claims_token(**claims) -> str:
    now = int(time.time())
    base = {"role": "admin", "sub": "1", "iat": now, "exp": now + 600, "ver": 0}
    return jwt.encode({**base, **claims}, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("value", ["", "null", "undefined", "Bearer null", "Token undefined"])
async def test_empty_headers_count_as_no_token(client, value):
    response = await client.get("/users/all", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized", "error_code": 401}


async def test_expired_tampered_and_foreign_tokens_are_401(client, admin):
    user_id = admin["id"]
    expired = _claims_token(sub=str(user_id), exp=int(time.time()) - 10)
    tampered = staff_token(user_id)[:-3] + "abc"
    foreign = jwt.encode(
        {"role": "admin", "sub": str(user_id), "iat": 1, "exp": 2**33},
        "another-secret-entirely-and-long-enough",
        algorithm="HS256",
    )
    no_role = _claims_token(sub=str(user_id), role="root")
    for token in (expired, tampered, foreign, no_role, "garbage"):
        response = await client.get("/users/all", headers=auth(token))
        assert response.status_code == 401, token


async def test_unknown_subjects_are_401(client, db):
    assert (await client.get("/users/all", headers=auth(staff_token(4242)))).status_code == 401
    customer_id = await _customer(db, status="deleted")
    response = await client.get(f"/users/{customer_id}", headers=auth(customer_token(4242)))
    assert response.status_code == 401
    response = await client.get("/sizes/1", headers=auth(customer_token(customer_id)))
    assert response.status_code == 401


async def test_wrong_role_is_403(client, db):
    customer_id = await _customer(db)
    response = await client.get("/users/all", headers=auth(customer_token(customer_id)))
    assert response.status_code == 403


async def test_an_api_key_buys_a_bearer_token_whose_rights_end_with_its_client(client, db):
    async with db.begin() as session:
        _, plain_key = await create_api_client(session, "analytics", is_admin=False)
        _, admin_key = await create_api_client(session, "onec-sync", is_admin=True)
    wrong = await client.post("/auth/token", json={"api_key": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Incorrect API key"
    assert (await client.post("/auth/token", json={})).status_code == 400
    issued = await client.post("/auth/token", json={"api_key": plain_key})
    assert issued.status_code == 200
    body = issued.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["role"] == "api_client" and claims["admin"] is False
    plain_headers = auth("Bearer " + body["access_token"])
    assert (await client.get("/users/all", headers=plain_headers)).status_code == 403
    admin_token = (await client.post("/auth/token", json={"api_key": admin_key})).json()
    admin_headers = auth(admin_token["access_token"])
    assert (await client.get("/users/all", headers=admin_headers)).status_code == 200
    async with db.begin() as session:
        await deactivate_api_client(session, "analytics")
    inactive = await client.get("/users/all", headers=plain_headers)
    assert inactive.status_code == 403
    assert inactive.json()["message"] == "API client is inactive"
    refused = await client.post("/auth/token", json={"api_key": plain_key})
    assert refused.status_code == 403
    assert refused.json()["message"] == "API client is inactive"


async def test_token_of_deleted_api_client_subject_is_401(client):
    token = issue_token(JWT_SECRET, "api_client", 999, 60, admin=True)
    assert (await client.get("/users/all", headers=auth(token))).status_code == 401


async def test_telegram_bot_routes_refuse_jwt_when_secret_unset(client, admin_headers):
    response = await client.get("/telegram_users/1", headers=admin_headers)
    assert response.status_code in (401, 404)


@pytest.mark.skipif(not is_postgresql(), reason="SQLite checks tokens in a session of their own")
async def test_an_authenticated_read_checks_its_token_on_the_same_connection(
    client, admin_headers, db
):
    created = await client.post(
        "/customers",
        json={
            "first_name": "Ива",
            "second_name": "Н",
            "phone_number": "79120001122",
            "password": "p-1",
        },
    )
    checkouts = []

    def listener(*_args):
        checkouts.append(1)

    event.listen(db.engine.sync_engine.pool, "checkout", listener)
    try:
        response = await client.get(f"/customers/{created.json()['id']}", headers=admin_headers)
    finally:
        event.remove(db.engine.sync_engine.pool, "checkout", listener)
    assert response.status_code == 200
    # PostgreSQL: the token check and the read share one direct asyncpg connection instead.
    assert len(checkouts) == (0 if db.direct_pool is not None else 1)


async def test_reads_that_check_their_caller_with_the_read_refuse_stale_callers_first(
    client, admin, db
):
    """GET /customers/<id> and /goods/<id> check the token's subject with their read."""
    customer_id = await _customer(db)
    revoked_staff = auth(staff_token(admin["id"], version=1))
    for path in (f"/customers/{customer_id}", "/customers/424242", "/goods/424242", "/goods/0"):
        assert (await client.get(path, headers=revoked_staff)).status_code == 401, path
        assert (await client.get(path, headers=auth(staff_token(4242)))).status_code == 401
    own = auth(customer_token(customer_id))
    assert (await client.get(f"/customers/{customer_id}", headers=own)).status_code == 200
    assert (await client.get("/customers/424242", headers=own)).status_code == 403
    assert (await client.get("/goods/424242", headers=own)).status_code == 403
    async with db.begin() as session:
        (await session.get(Customer, customer_id)).status = "deleted"
    for path in (f"/customers/{customer_id}", "/customers/424242", "/goods/1"):
        assert (await client.get(path, headers=own)).status_code == 401, path
    response = await client.get(f"/customers/{customer_id}", headers=admin["headers"])
    assert response.status_code == 200
