"""CRM-style registration: a registered customer without a login, from a name and an email."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer
from helpers.phones import normalize_phone
from services.activity import record_activity
from services.customers import created_payload
from services.errors import RuleViolation, violated_unique
from services.outbox import emit_event


async def register_person(session: AsyncSession, data: dict) -> dict:
    name = " ".join(data["name"].split())
    first_name, _, second_name = name.partition(" ")
    phone_text = data.get("phone")
    phone = normalize_phone(phone_text) if phone_text else None
    email = data["email"]
    email_taken = RuleViolation(f"Пользователь с email {email} уже зарегистрирован")
    phone_taken = RuleViolation(f"Пользователь с телефоном {phone_text} уже зарегистрирован")
    if await _registered(session, Customer.email, email):
        raise email_taken
    if phone and await _registered(session, Customer.phone_number, phone):
        raise phone_taken
    customer = Customer(
        first_name=first_name,
        second_name=second_name,
        email=email,
        phone_number=phone,
        phone_raw=None if phone else phone_text,
        age=data.get("age"),
        gender=data.get("gender"),
        country=data.get("country"),
        address=data.get("address"),
        is_registered=True,
        source="register",
    )
    session.add(customer)
    try:
        await session.flush()
    except IntegrityError as error:
        # A concurrent registration of the same contacts passed the checks above too.
        index = violated_unique(error)
        if "email" in index or "phone" in index:
            raise (email_taken if "email" in index else phone_taken) from None
        raise
    await emit_event(session, "CustomerCreated", **created_payload(customer))
    await record_activity(session, "customer_registered", customer.id)
    return {
        "id": customer.id,
        "user_uuid": str(customer.uuid),
        "name": name,
        "email": email,
        "age": customer.age,
        "gender": customer.gender,
        "country": customer.country,
        "address": customer.address,
        "phone": phone_text,
        "registered_at": customer.created_at,
    }


async def _registered(session: AsyncSession, column, value) -> bool:
    found = await session.scalar(
        select(Customer.id).where(column == value, Customer.is_registered.is_(True)).limit(1)
    )
    return found is not None
