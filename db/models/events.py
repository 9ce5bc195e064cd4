"""Customer activity events used for statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, JsonData, created_at_column


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_events_type_created_at", "type", "created_at"),
        Index("ix_activity_events_created_at", "created_at"),
        Index("ix_activity_events_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    data: Mapped[dict | None] = mapped_column(JsonData)
    created_at: Mapped[datetime] = created_at_column()
