"""Contact-form messages: stored and announced to the shop's Telegram chat."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ContactForm
from services.notifications import notify_contact_form


async def submit_contact_form(session: AsyncSession, settings, data: dict) -> ContactForm:
    form = ContactForm(**data)
    session.add(form)
    await session.flush()
    await notify_contact_form(session, settings, form.id)
    return form
