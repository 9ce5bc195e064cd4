"""Customer activity events used for statistics."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, JsonData, created_at_column


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_events_type_created_at", "type", "created_at"),
        Index("ix_activity_events_created_at", "created_at"),
        Index("ix_activity_events_customer_id_created_at", "customer_id", "created_at"),
        # Covering indexes of the daily statistics (GROUP BY the UTC day).
        Index("ix_activity_events_type_created_day", "type", "created_day", "customer_id"),
        Index("ix_activity_events_created_day", "created_day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    data: Mapped[dict | None] = mapped_column(JsonData)
    created_at: Mapped[datetime] = created_at_column()
    # The UTC calendar day of created_at, kept for the per-day statistics.
    created_day: Mapped[date] = mapped_column(Date)
