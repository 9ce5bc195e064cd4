"""Customer password reset: a one-time, expiring token sent by email, then a new password."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, PasswordReset
from db.models.base import utcnow
from helpers.passwords import hash_password
from services.activity import record_activity
from services.auth import find_customer_for_login
from services.errors import ValidationFailed
from services.notifications import notify_password_reset

INVALID_TOKEN = {"token": ["Invalid or expired token."]}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def request_password_reset(session: AsyncSession, settings, login: str) -> None:
    """Mail a reset link to a registered customer; unknown logins are silently ignored."""
    customer = await find_customer_for_login(session, login)
    if customer is None or not customer.email:
        return
    now = utcnow()
    # Only the newest link works: a reset asked twice leaves one usable token.
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.customer_id == customer.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            customer_id=customer.id,
            token_hash=_token_hash(token),
            expires_at=now + timedelta(minutes=settings.PASSWORD_RESET_TTL_MIN),
        )
    )
    await notify_password_reset(session, settings, customer, token)


async def confirm_password_reset(
    session: AsyncSession, rounds: int, token: str, password: str
) -> None:
    """Set the new password, spend the token and end the customer's other sessions."""
    reset = await session.scalar(
        select(PasswordReset)
        .where(PasswordReset.token_hash == _token_hash(token))
        .with_for_update()
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise ValidationFailed(INVALID_TOKEN)
    customer = await session.get(Customer, reset.customer_id, with_for_update=True)
    if customer.status != "active" or not customer.is_registered:
        raise ValidationFailed(INVALID_TOKEN)
    customer.password_hash = await hash_password(password, rounds)
    customer.token_version += 1
    reset.used_at = utcnow()
    await record_activity(session, "customer_password_reset", customer.id)
