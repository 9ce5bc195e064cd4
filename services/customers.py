"""Customers: registration, login, profile and contacts, the admin list and the lifecycle."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ActivityEvent,
    Customer,
    CustomerAddress,
    ErasedLegacyCustomer,
    Favorite,
    Order,
    SocialAccount,
)
from db.models.base import utcnow
from db.queries.customers import CUSTOMER_PROFILE
from db.queries.matching import contains_text
from helpers.passwords import hash_password, verify_password
from helpers.phones import normalize_phone
from helpers.timestamps import format_timestamp, within_days
from helpers.tokens import issue_token
from services.activity import record_activity
from services.auth import find_customer_for_login
from services.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    RuleViolation,
    Unauthorized,
    violated_unique,
)
from services.outbox import emit_event, redact_customer_events

PROFILE_FIELDS = (
    "first_name",
    "second_name",
    "last_name",
    "birthday",
    "gender",
    "age",
    "country",
    "address",
    "login",
)
CONTACT_FIELDS = ("email", "phone_number")


def created_payload(customer: Customer) -> dict:
    return {
        "customer_id": customer.id,
        "uuid": str(customer.uuid),
        "first_name": customer.first_name,
        "second_name": customer.second_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone_number": customer.phone_number,
        "is_registered": customer.is_registered,
        "source": customer.source,
    }


async def customer_profile(session: AsyncSession, customer_id: int):
    """The customer's row as the API shows it."""
    customer = await CUSTOMER_PROFILE.first(session, id=customer_id)
    if customer is None:
        raise NotFound("Customer not found")
    return customer


async def get_customer(session: AsyncSession, customer_id: int, for_update=False) -> Customer:
    query = select(Customer).where(Customer.id == customer_id)
    if for_update:
        query = query.with_for_update()
    customer = await session.scalar(query)
    if customer is None:
        raise NotFound("Customer not found")
    return customer


async def get_active_customer(session: AsyncSession, customer_id: int) -> Customer:
    """The customer, or 409 when it is soft-deleted (only active customers change)."""
    customer = await get_customer(session, customer_id, for_update=True)
    if customer.status != "active":
        raise Conflict("Customer is deleted")
    return customer


async def check_contacts_free(
    session: AsyncSession, email: str | None, phone: str | None, except_id: int | None = None
) -> None:
    """Email and phone are unique among registered customers, soft-deleted ones included."""
    for column, value, message in (
        (Customer.email, email, "Email is busy"),
        (Customer.phone_number, phone, "Phone number is busy"),
    ):
        if value is None:
            continue
        query = select(Customer.id).where(column == value, Customer.is_registered.is_(True))
        if except_id is not None:
            query = query.where(Customer.id != except_id)
        if await session.scalar(query.limit(1)) is not None:
            raise AlreadyExists(message)


BUSY_MESSAGES = (
    ("login", "Login is busy"),
    ("email", "Email is busy"),
    ("phone", "Phone number is busy"),
)


async def _flush_unique(session: AsyncSession) -> None:
    """The checks above read before writing, so a concurrent twin can still trip a unique index."""
    try:
        await session.flush()
    except IntegrityError as error:
        index = violated_unique(error)
        for key, message in BUSY_MESSAGES:
            if key in index:
                raise AlreadyExists(message) from None
        raise


async def _check_login_free(session: AsyncSession, login: str | None, except_id=None) -> None:
    """Logins are matched before emails and phones at sign-in, so a login equal to another
    customer's email or phone would lock that customer out: it is busy too."""
    if login is None:
        return
    contacts = [Customer.email == login.lower()]
    if phone := normalize_phone(login):
        contacts.append(Customer.phone_number == phone)
    shadowed = and_(Customer.is_registered.is_(True), or_(*contacts))
    query = select(Customer.id).where(or_(Customer.login == login, shadowed))
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    if await session.scalar(query.limit(1)) is not None:
        raise AlreadyExists("Login is busy")


async def register_customer(session: AsyncSession, rounds: int, data: dict) -> Customer:
    await _check_login_free(session, data.get("login"))
    await check_contacts_free(session, data.get("email"), data["phone_number"])
    password = data.pop("password")
    customer = Customer(
        **data,
        password_hash=await hash_password(password, rounds),
        is_registered=True,
        source="site",
    )
    session.add(customer)
    await _flush_unique(session)
    await emit_event(session, "CustomerCreated", **created_payload(customer))
    await record_activity(session, "customer_registered", customer.id)
    return customer


async def log_in(session: AsyncSession, secret: str, ttl_min: int, login: str, password: str):
    customer = await find_customer_for_login(session, login)
    if customer is None:
        raise NotFound("Customer not found")
    if not await verify_password(password, customer.password_hash):
        raise Unauthorized("Wrong password")
    customer.last_auth_at = utcnow()
    await record_activity(session, "customer_login", customer.id)
    token = issue_token(secret, "customer", customer.id, ttl_min, customer.token_version)
    return {"customer_id": customer.id, "Authorization": token}


async def update_customer(session: AsyncSession, rounds: int, customer_id: int, data: dict):
    customer = await get_active_customer(session, customer_id)
    if "login" in data:
        await _check_login_free(session, data["login"], customer_id)
    email = data.get("email", customer.email)
    phone = data.get("phone_number", customer.phone_number)
    if email is None and phone is None:
        raise RuleViolation("At least one of email or phone_number is required")
    if customer.is_registered:
        await check_contacts_free(
            session,
            email if "email" in data else None,
            phone if "phone_number" in data else None,
            customer_id,
        )
    if "password" in data:
        customer.password_hash = await hash_password(data.pop("password"), rounds)
        customer.token_version += 1
    changed = {k: v for k, v in data.items() if getattr(customer, k) != v}
    for key, value in changed.items():
        setattr(customer, key, value)
    await _flush_unique(session)
    await _emit_changes(session, customer, changed)
    return customer


async def _emit_changes(session: AsyncSession, customer: Customer, changed: dict) -> None:
    profile = {k: v for k, v in changed.items() if k in PROFILE_FIELDS}
    if profile:
        profile = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in profile.items()}
        await emit_event(
            session, "CustomerProfileChanged", customer_id=customer.id, changed=profile
        )
    if any(key in changed for key in CONTACT_FIELDS):
        await emit_event(
            session,
            "CustomerContactsChanged",
            customer_id=customer.id,
            email=customer.email,
            phone_number=customer.phone_number,
        )


async def replace_contacts(session: AsyncSession, customer_id: int, email, phone) -> Customer:
    customer = await get_active_customer(session, customer_id)
    if email is None and phone is None:
        raise RuleViolation("At least one of email or phone_number is required")
    if customer.is_registered:
        await check_contacts_free(session, email, phone, customer_id)
    changed = {
        key: value
        for key, value in (("email", email), ("phone_number", phone))
        if getattr(customer, key) != value
    }
    for key, value in changed.items():
        setattr(customer, key, value)
    await _flush_unique(session)
    await _emit_changes(session, customer, changed)
    return customer


async def list_customers(session: AsyncSession, filters: dict) -> tuple[list[Customer], int]:
    conditions = []
    if filters["status"] != "all":
        conditions.append(Customer.status == filters["status"])
    if "is_registered" in filters:
        conditions.append(Customer.is_registered.is_(filters["is_registered"]))
    if filters.get("q"):
        conditions.append(_search(filters["q"]))
    conditions += within_days(
        Customer.created_at, filters.get("created_from"), filters.get("created_to")
    )
    total = await session.scalar(select(func.count()).select_from(Customer).where(*conditions))
    rows = await session.scalars(
        select(Customer)
        .where(*conditions)
        .order_by(Customer.id.desc())
        .limit(filters["limit"])
        .offset(filters["offset"])
    )
    return list(rows), total or 0


def _search(text: str):
    matches = contains_text(
        (Customer.first_name, Customer.second_name, Customer.last_name, Customer.email), text
    )
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and digits == text.strip().lstrip("+").replace(" ", ""):
        matches.append(Customer.phone_number.like(f"%{digits}%"))
    return or_(*matches)


async def soft_delete(session: AsyncSession, customer_id: int) -> None:
    customer = await get_customer(session, customer_id, for_update=True)
    if customer.status == "deleted":
        raise Conflict("Customer is already deleted")
    customer.status = "deleted"
    customer.deleted_at = utcnow()
    # A restore must not revive tokens issued before the delete.
    customer.token_version += 1
    await session.flush()
    await emit_event(
        session,
        "CustomerSoftDeleted",
        customer_id=customer.id,
        deleted_at=format_timestamp(customer.deleted_at),
    )


async def restore(session: AsyncSession, customer_id: int) -> Customer:
    customer = await get_customer(session, customer_id, for_update=True)
    if customer.status != "deleted":
        raise Conflict("Customer is not deleted")
    customer.status = "active"
    customer.deleted_at = None
    await session.flush()
    await emit_event(session, "CustomerRestored", customer_id=customer.id)
    return customer


async def erase(session: AsyncSession, customer_id: int) -> None:
    """Permanent delete: personal data goes, orders stay with their contact snapshot."""
    customer = await get_customer(session, customer_id, for_update=True)
    uuid = str(customer.uuid)
    for model in (Favorite, SocialAccount, ActivityEvent, CustomerAddress):
        await session.execute(delete(model).where(model.customer_id == customer_id))
    await session.execute(
        update(Order).where(Order.customer_id == customer_id).values(customer_id=None)
    )
    await session.execute(delete(Customer).where(Customer.id == customer_id))
    if customer.legacy_id is not None:
        session.add(ErasedLegacyCustomer(legacy_id=customer.legacy_id))
    await redact_customer_events(session, customer_id)
    await emit_event(session, "CustomerPermanentlyDeleted", customer_id=customer_id, uuid=uuid)
