"""Customers: registration, login, profile, contacts, the admin list and the lifecycle matrix."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from db.models import ActivityEvent, Customer, Favorite, OutboxMessage
from tests.factories import REGISTRATION, log_in, register


async def test_registration_normalises_and_hides_the_password(client, db):
    customer = await register(client, last_name="", login="ivan", birthday="1990-05-01")
    assert customer["phone_number"] == "79025163111"
    assert customer["email"] == "ivan@example.ru"
    assert customer["last_name"] is None
    assert customer["is_registered"] is True and customer["status"] == "active"
    assert customer["created_at"].endswith("Z") and len(customer["uuid"]) == 36
    assert "password" not in customer and "password_hash" not in customer
    async with db.session() as session:
        events = await session.scalar(
            select(func.count()).where(OutboxMessage.topic == "CustomerCreated")
        )
        activity = await session.scalar(
            select(func.count()).where(ActivityEvent.type == "customer_registered")
        )
    assert (events, activity) == (1, 1)


async def test_registration_conflicts_in_contract_order(client):
    await register(client, login="ivan")
    cases = [
        ({"login": "ivan", "email": "x@example.ru"}, "Login is busy"),
        ({"email": "IVAN@example.ru"}, "Email is busy"),
        ({"email": "other@example.ru", "phone_number": "+7(902)516-31-11"}, "Phone number is busy"),
    ]
    for changes, message in cases:
        response = await client.post("/customers", json={**REGISTRATION, **changes})
        assert response.status_code == 409
        assert response.json()["message"] == message
    other = {"email": "o@example.ru", "phone_number": "79000000009"}
    for login in ("IVAN@example.ru", "8 902 516-31-11"):
        shadowing = await client.post("/customers", json={**REGISTRATION, **other, "login": login})
        assert shadowing.status_code == 409 and shadowing.json()["message"] == "Login is busy"


async def test_registration_names_every_invalid_field_and_refuses_non_latin_digits(client):
    response = await client.post(
        "/customers",
        json={
            "first_name": "",
            "phone_number": "12345",
            "password": "",
            "email": "nope",
            "birthday": "2999-01-01",
        },
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "first_name",
        "second_name",
        "phone_number",
        "password",
        "email",
        "birthday",
    }
    assert response.json()["fields"]["phone_number"] == ["Not a valid phone number."]
    arabic_digits = await client.post(
        "/customers", json={**REGISTRATION, "phone_number": "+٧ ٩٠٢ ٥١٦ ٣١ ١١"}
    )
    assert arabic_digits.status_code == 400
    assert set(arabic_digits.json()["fields"]) == {"phone_number"}


async def test_guests_never_block_registration(client, db):
    async with db.begin() as session:
        session.add(
            Customer(
                first_name="Гость",
                second_name="",
                email="ivan@example.ru",
                phone_number="79025163111",
                is_registered=False,
                source="guest_order",
            )
        )
    await register(client)


async def test_login_by_login_email_and_phone(client):
    customer = await register(client, login="ivan")
    for login in ("ivan", "IVAN@example.ru", "+7 902 516 31 11"):
        headers = await log_in(client, login)
        read = await client.get(f"/customers/{customer['id']}", headers=headers)
        assert read.status_code == 200
        assert read.json()["last_auth_at"] is not None
    wrong = await client.post("/customers/auth", json={"login": "ivan", "password": "bad"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Wrong password"
    unknown = await client.post("/customers/auth", json={"login": "nobody", "password": "x"})
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Customer not found"


async def test_customers_see_only_themselves(client, admin_headers):
    first = await register(client)
    second = await register(client, email="b@example.ru", phone_number="79000000002")
    headers = await log_in(client)
    assert (await client.get(f"/customers/{second['id']}", headers=headers)).status_code == 403
    patched = await client.patch(
        f"/customers/{second['id']}", json={"first_name": "X"}, headers=headers
    )
    assert patched.status_code == 403
    assert (await client.get(f"/customers/{first['id']}")).status_code == 401
    assert (await client.get("/customers/999", headers=admin_headers)).status_code == 404


async def test_a_customer_edits_their_profile_and_a_new_password_ends_the_old_token(
    client, admin_headers
):
    customer = await register(client)
    headers = await log_in(client)
    other = await register(client, email="b@example.ru", phone_number="79000000002")
    busy = await client.patch(
        f"/customers/{customer['id']}", json={"email": "B@example.ru"}, headers=headers
    )
    assert busy.status_code == 409 and busy.json()["message"] == "Email is busy"
    own = await client.patch(
        f"/customers/{customer['id']}",
        json={"email": "ivan@example.ru", "gender": "male"},
        headers=headers,
    )
    assert own.status_code == 200 and own.json()["gender"] == "male"
    both_gone = await client.patch(
        f"/customers/{customer['id']}", json={"email": None, "phone_number": None}, headers=headers
    )
    assert both_gone.status_code == 400
    changed = await client.patch(
        f"/customers/{customer['id']}", json={"password": "new-pass"}, headers=headers
    )
    assert changed.status_code == 200
    assert (await client.get(f"/customers/{customer['id']}", headers=headers)).status_code == 401
    await log_in(client, password="new-pass")
    assert other["id"] != customer["id"]


async def test_staff_replace_contacts_whole_keeping_one_and_refusing_a_busy_one(
    client, admin_headers
):
    customer = await register(client)
    path = f"/customers/{customer['id']}/contacts"
    missing_key = await client.put(path, json={"email": "a@example.ru"}, headers=admin_headers)
    assert missing_key.status_code == 400
    both_null = await client.put(
        path, json={"email": None, "phone_number": None}, headers=admin_headers
    )
    assert both_null.status_code == 400
    assert both_null.json()["message"] == "At least one of email or phone_number is required"
    replaced = await client.put(
        path, json={"email": None, "phone_number": "+7 912 345-67-89"}, headers=admin_headers
    )
    assert replaced.status_code == 200
    assert replaced.json()["email"] is None
    assert replaced.json()["phone_number"] == "79123456789"
    await register(client, email="c@example.ru", phone_number="79000000003")
    busy = await client.put(
        path, json={"email": "c@example.ru", "phone_number": None}, headers=admin_headers
    )
    assert busy.status_code == 409


@pytest.mark.parametrize("status", ["active", "deleted"])
async def test_only_an_active_customer_is_edited_and_a_deleted_one_is_restored_or_erased(
    client, admin_headers, status
):
    customer = await register(client)
    path = f"/customers/{customer['id']}"
    if status == "deleted":
        assert (await client.delete(path, headers=admin_headers)).status_code == 204
    read = await client.get(path, headers=admin_headers)
    assert read.status_code == 200 and read.json()["status"] == status
    patch = await client.patch(path, json={"first_name": "Пётр"}, headers=admin_headers)
    contacts = await client.put(
        f"{path}/contacts",
        json={"email": "z@example.ru", "phone_number": None},
        headers=admin_headers,
    )
    soft = await client.delete(path, headers=admin_headers)
    if status == "active":
        assert (patch.status_code, contacts.status_code, soft.status_code) == (200, 200, 204)
    else:
        assert (patch.status_code, contacts.status_code, soft.status_code) == (409, 409, 409)
        assert patch.json()["message"] == "Customer is deleted"
        assert soft.json()["message"] == "Customer is already deleted"
    restored = await client.post(f"{path}/restore", headers=admin_headers)
    assert restored.status_code == 200 and restored.json()["status"] == "active"
    again = await client.post(f"{path}/restore", headers=admin_headers)
    assert again.status_code == 409 and again.json()["message"] == "Customer is not deleted"
    assert (await client.delete(f"{path}/permanent", headers=admin_headers)).status_code == 204
    assert (await client.delete(f"{path}/permanent", headers=admin_headers)).status_code == 404


async def test_soft_deleted_customer_token_stops_working(client, admin_headers, db):
    customer = await register(client)
    headers = await log_in(client)
    assert (await client.delete(f"/customers/{customer['id']}", headers=headers)).status_code == 204
    shown = await client.get(f"/customers/{customer['id']}", headers=admin_headers)
    async with db.session() as session:
        event = await session.scalar(
            select(OutboxMessage.payload).where(OutboxMessage.topic == "CustomerSoftDeleted")
        )
    assert event["data"]["deleted_at"] == shown.json()["deleted_at"]
    assert (await client.get(f"/customers/{customer['id']}", headers=headers)).status_code == 401
    relogin = await client.post(
        "/customers/auth", json={"login": "ivan@example.ru", "password": "secret-1"}
    )
    assert relogin.status_code == 404
    blocked = await client.post("/customers", json=REGISTRATION)
    assert blocked.status_code == 409
    restored = await client.post(f"/customers/{customer['id']}/restore", headers=admin_headers)
    assert restored.status_code == 200
    assert (await client.get(f"/customers/{customer['id']}", headers=headers)).status_code == 401
    assert (
        await client.get(f"/customers/{customer['id']}", headers=await log_in(client))
    ).is_success


async def test_permanent_delete_erases_personal_data(client, admin_headers, db):
    customer = await register(client)
    await log_in(client)
    async with db.begin() as session:
        from sqlalchemy import insert

        from db.models import Category, Good, Structure

        category = (
            await session.execute(insert(Category).values(name="К").returning(Category.id))
        ).scalar_one()
        structure = (
            await session.execute(insert(Structure).values(name="С").returning(Structure.id))
        ).scalar_one()
        good = (
            await session.execute(
                insert(Good)
                .values(
                    name="Платье",
                    article="A",
                    category_id=category,
                    structure_id=structure,
                    description="",
                )
                .returning(Good.id)
            )
        ).scalar_one()
        session.add(Favorite(customer_id=customer["id"], good_id=good))
    headers = await log_in(client)
    renamed = await client.patch(
        f"/customers/{customer['id']}",
        json={"last_name": "Сидорович", "email": "ivan.p@example.ru"},
        headers=headers,
    )
    assert renamed.status_code == 200
    linked = await client.post(
        f"/customers/{customer['id']}/social_accounts",
        json={"network": "vk", "url": "https://vk.com/ivan.petrov", "reason": "скидки"},
        headers=headers,
    )
    assert linked.status_code == 201
    personal = (
        "Иван",
        "Петров",
        "Сидорович",
        "ivan@example.ru",
        "ivan.p@example.ru",
        "79025163111",
        "vk.com/ivan.petrov",
        "скидки",
    )
    before = await event_payloads(db)
    assert all(any(value in text for text in before) for value in personal)
    response = await client.delete(f"/customers/{customer['id']}/permanent", headers=admin_headers)
    assert response.status_code == 204
    async with db.session() as session:
        for model in (Customer, Favorite, ActivityEvent):
            column = model.id if model is Customer else model.customer_id
            count = await session.scalar(select(func.count()).where(column == customer["id"]))
            assert count == 0, model
    payloads = await event_payloads(db)
    assert any("CustomerPermanentlyDeleted" in text for text in payloads)
    assert any("CustomerCreated" in text for text in payloads)
    leaks = [(value, text) for value in personal for text in payloads if value in text]
    assert leaks == []
    await register(client)


async def event_payloads(db) -> list[str]:
    async with db.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "event")
        )
        return [json.dumps(payload, ensure_ascii=False) for payload in rows]


async def test_staff_list_customers_by_status_and_literal_name_or_phone_in_pages(
    client, admin_headers, db
):
    first = await register(client)
    second = await register(
        client, email="anna@example.ru", phone_number="79000000002", first_name="Анна"
    )
    await client.delete(f"/customers/{first['id']}", headers=admin_headers)
    listed = await client.get("/customers/all", headers=admin_headers)
    assert listed.json()["count"] == 1
    assert listed.json()["items"][0]["id"] == second["id"]
    everyone = (await client.get("/customers/all?status=all", headers=admin_headers)).json()
    assert [c["id"] for c in everyone["items"]] == [second["id"], first["id"]]
    deleted = (await client.get("/customers/all?status=deleted", headers=admin_headers)).json()
    assert [c["id"] for c in deleted["items"]] == [first["id"]]
    by_name = await client.get("/customers/all?status=all&q=анн", headers=admin_headers)
    assert [c["id"] for c in by_name.json()["items"]] == [second["id"]]
    by_phone = await client.get("/customers/all?status=all&q=9025163", headers=admin_headers)
    assert [c["id"] for c in by_phone.json()["items"]] == [first["id"]]
    wildcard = await client.get("/customers/all?status=all&q=_", headers=admin_headers)
    assert wildcard.json()["count"] == 0
    percent = await client.get("/customers/all?status=all&q=%25", headers=admin_headers)
    assert percent.json()["count"] == 0
    page = (
        await client.get("/customers/all?status=all&limit=1&offset=1", headers=admin_headers)
    ).json()
    assert page["count"] == 2 and [c["id"] for c in page["items"]] == [first["id"]]
    bad = await client.get("/customers/all?status=gone", headers=admin_headers)
    assert bad.status_code == 400
    guests = await client.get("/customers/all?is_registered=false", headers=admin_headers)
    assert guests.json()["count"] == 0
    headers = await log_in(client, "anna@example.ru")
    assert (await client.get("/customers/all", headers=headers)).status_code == 403


async def test_registrations_beyond_the_signup_limit_get_429(make_server):
    running = await make_server(RATE_LIMITS_ENABLED=True, RATE_LIMIT_SIGNUP=(2, 600))
    for index in range(2):
        response = await running.client.post(
            "/customers",
            json={
                **REGISTRATION,
                "email": f"u{index}@example.ru",
                "phone_number": f"7900000001{index}",
            },
        )
        assert response.status_code == 201
    limited = await running.client.post("/customers", json=REGISTRATION)
    assert limited.status_code == 429


async def test_concurrent_twins_get_the_contract_messages(client):
    async def attempt(index: int):
        changes = {"phone_number": f"7900000{index:04d}", "email": "twin@example.ru"}
        return await client.post("/customers", json={**REGISTRATION, **changes})

    customers = await asyncio.gather(*(attempt(index) for index in range(6)))
    assert sorted(r.status_code for r in customers) == [201] + [409] * 5
    assert {r.json()["message"] for r in customers if r.status_code == 409} == {"Email is busy"}
    registrations = await asyncio.gather(
        *(
            client.post("/register", json={"name": "Twin", "email": "t@example.ru"})
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in registrations) == [201] + [400] * 5
    assert {r.json()["message"] for r in registrations if r.status_code == 400} == {
        "Пользователь с email t@example.ru уже зарегистрирован"
    }
