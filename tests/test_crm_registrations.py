"""`POST /register`, the CRM clients' registration form: normalising, duplicates, 422 errors."""

from __future__ import annotations


async def test_crm_registration_normalises_the_person_and_refuses_duplicates(client):
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
