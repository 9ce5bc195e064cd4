"""Activity events the backend records itself (logins, orders, favorites...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ActivityEvent
from db.models.base import utcnow
from db.prepared import PreparedWrite

_RECORD = PreparedWrite(insert(ActivityEvent.__table__))


async def record_activity(
    session: AsyncSession,
    event_type: str,
    customer_id: int | None,
    data: dict[str, Any] | None = None,
) -> None:
    now = utcnow()
    await _RECORD.rows(
        session,
        type=event_type,
        customer_id=customer_id,
        data=data,
        created_at=now,
        created_day=now.date(),
    )
