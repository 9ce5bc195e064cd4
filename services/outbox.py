"""Writing to the transactional outbox: domain events and messages, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage
from db.models.base import utcnow
from helpers.timestamps import format_timestamp


def event_envelope(name: str, payload: dict[str, Any], occurred_at: datetime | None = None):
    """The broker envelope: `message_id` = `event_uuid`, payload next to the meta fields."""
    event_uuid = str(uuid.uuid4())
    data = {
        "event_uuid": event_uuid,
        "event_occurred_at": format_timestamp(occurred_at or utcnow()),
        "event_name": name,
        **payload,
    }
    return {"message_id": event_uuid, "data": data}


def emit_event(session: AsyncSession, name: str, **payload: Any) -> OutboxMessage:
    """Queue a domain event (published to the broker after commit)."""
    message = OutboxMessage(kind="event", topic=name, payload=event_envelope(name, payload))
    session.add(message)
    return message


def queue_message(session: AsyncSession, kind: str, topic: str, payload: dict) -> OutboxMessage:
    """Queue a Telegram message, an email or a payment check (kind), delivered after commit."""
    message = OutboxMessage(kind=kind, topic=topic, payload=payload)
    session.add(message)
    return message
