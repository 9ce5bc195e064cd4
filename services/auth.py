"""Who is calling: token subjects looked up on every request, and the login use cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.direct import DirectReads
from db.models import ApiClient, Customer, StaffUser
from db.queries.auth import CLIENT_SUBJECT, CUSTOMER_SUBJECT, STAFF_SUBJECT
from helpers.passwords import verify_password
from helpers.phones import normalize_phone
from helpers.tokens import InvalidToken, TokenClaims, decode_token, hash_api_key, issue_token
from services.errors import NotFound, PermissionDenied, Unauthorized


@dataclass(frozen=True)
class Principal:
    kind: str  # "staff" | "customer" | "api_client"
    id: int
    is_admin: bool

    @property
    def is_staff_or_admin_client(self) -> bool:
        return self.kind == "staff" or (self.kind == "api_client" and self.is_admin)


def _claims(secret: str, token: str) -> TokenClaims:
    try:
        return decode_token(secret, token)
    except InvalidToken:
        raise Unauthorized() from None


async def load_principal(session: AsyncSession, secret: str, token: str) -> Principal:
    """Decode a JWT and check its subject still exists and is allowed to act."""
    return await _subject(session, _claims(secret, token))


def defer_principal(reads: DirectReads, secret: str, token: str) -> Principal | None:
    """A staff or customer token's caller, as its claims name it; the check that the subject
    still exists and may act runs with the request's first read (db/direct.py), before any
    answer. None for other callers, whose rights are read from the database first."""
    claims = _claims(secret, token)
    if claims.role not in _CHECKS:
        return None
    lookup, verify = _CHECKS[claims.role]
    reads.check_with_first_read(lookup, {"id": claims.subject_id}, lambda row: verify(claims, row))
    return Principal(_KINDS[claims.role], claims.subject_id, claims.role == "admin")


def _issued_to(claims: TokenClaims, subject) -> bool:
    """False for a token older than its subject: SQLite may hand a deleted row's id to a new one."""
    return subject is not None and claims.issued_at >= int(subject["created_at"].timestamp())


def _verify_staff(claims: TokenClaims, user) -> None:
    if not _issued_to(claims, user) or user["token_version"] != claims.version:
        raise Unauthorized()


def _verify_customer(claims: TokenClaims, customer) -> None:
    if (
        not _issued_to(claims, customer)
        or customer["status"] != "active"
        or customer["token_version"] != claims.version
    ):
        raise Unauthorized()


_CHECKS = {
    "admin": (STAFF_SUBJECT, _verify_staff),
    "customer": (CUSTOMER_SUBJECT, _verify_customer),
}
_KINDS = {"admin": "staff", "customer": "customer"}


async def _subject(session: AsyncSession, claims: TokenClaims) -> Principal:
    if claims.role in _CHECKS:
        lookup, verify = _CHECKS[claims.role]
        verify(claims, await lookup.first(session, id=claims.subject_id))
        return Principal(_KINDS[claims.role], claims.subject_id, claims.role == "admin")
    client = await CLIENT_SUBJECT.first(session, id=claims.subject_id)
    if not _issued_to(claims, client):
        raise Unauthorized()
    if not client["is_active"]:
        raise PermissionDenied("API client is inactive")
    return Principal("api_client", client["id"], client["is_admin"])


async def login_staff(session: AsyncSession, secret: str, ttl_min: int, login: str, password: str):
    user = (await session.execute(select(StaffUser).where(StaffUser.login == login))).scalar()
    if user is None:
        raise NotFound("User not found")
    if not await verify_password(password, user.password_hash):
        raise Unauthorized("Wrong password")
    token = issue_token(secret, "admin", user.id, ttl_min, user.token_version)
    return {"user_id": user.id, "Authorization": token}


async def find_customer_for_login(session: AsyncSession, login: str) -> Customer | None:
    """Registered active customers with a password, by login, then email, then phone."""
    email = login.lower()
    phone = normalize_phone(login)
    matches = [Customer.login == login, Customer.email == email]
    if phone:
        matches.append(Customer.phone_number == phone)
    rows = (
        await session.execute(
            select(Customer).where(
                Customer.is_registered.is_(True),
                Customer.status == "active",
                Customer.password_hash.is_not(None),
                or_(*matches),
            )
        )
    ).scalars()

    def rank(customer: Customer) -> int:
        return 0 if customer.login == login else 1 if customer.email == email else 2

    return min(rows, key=rank, default=None)


async def exchange_api_key(session: AsyncSession, secret: str, ttl_min: int, api_key: str):
    client = (
        await session.execute(select(ApiClient).where(ApiClient.key_hash == hash_api_key(api_key)))
    ).scalar()
    if client is None:
        raise Unauthorized("Incorrect API key")
    if not client.is_active:
        raise PermissionDenied("API client is inactive")
    token = issue_token(secret, "api_client", client.id, ttl_min, 0, client.is_admin)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl_min * 60}
