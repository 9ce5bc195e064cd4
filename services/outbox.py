"""Writing to the transactional outbox: domain events and messages, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage
from db.models.base import utcnow
from db.prepared import PreparedWrite
from helpers.timestamps import format_timestamp

# One prebuilt statement: every write path queues messages, so it is compiled once.
_QUEUE = PreparedWrite(insert(OutboxMessage.__table__))
# Event payload fields that can identify a person (names, contacts, profile changes, links).
PERSONAL_EVENT_FIELDS = (
    "first_name",
    "second_name",
    "last_name",
    "email",
    "phone_number",
    "changed",
    "url",
    "reason",
)


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


def event_message(name: str, **payload: Any) -> dict[str, Any]:
    """A domain event as a message for `queue_messages`."""
    return {"kind": "event", "topic": name, "payload": event_envelope(name, payload)}


async def emit_event(session: AsyncSession, name: str, **payload: Any) -> None:
    """Queue a domain event (published to the broker after commit)."""
    await queue_messages(session, [event_message(name, **payload)])


async def queue_message(session: AsyncSession, kind: str, topic: str, payload: dict) -> None:
    """Queue a Telegram message, an email or a payment check (kind), delivered after commit."""
    await queue_messages(session, [{"kind": kind, "topic": topic, "payload": payload}])


async def queue_messages(session: AsyncSession, messages: list[dict[str, Any]]) -> None:
    """Queue several messages (dicts of kind, topic, payload) in one statement."""
    if messages:
        await _QUEUE.many(session, messages)


async def redact_customer_events(session: AsyncSession, customer_id: int) -> int:
    """Blank the personal fields of a customer's domain events, sent or pending.

    The events stay (with their ids and names) so the outbox history keeps its shape, but
    nothing in it identifies the erased person any more. Returns the rows changed.
    """
    customer_of_event = OutboxMessage.payload["data"]["customer_id"].as_integer()
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.payload).where(
            OutboxMessage.kind == "event", customer_of_event == customer_id
        )
    )
    changed = 0
    for message_id, payload in rows.all():
        data = payload["data"]
        if all(data.get(field) is None for field in PERSONAL_EVENT_FIELDS):
            continue
        redacted = {
            key: None if key in PERSONAL_EVENT_FIELDS else value for key, value in data.items()
        }
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(payload={**payload, "data": redacted})
        )
        changed += 1
    return changed
