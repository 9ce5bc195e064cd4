"""Marking codes ("Честный знак") of the labelled units of an order's lines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at_column


class MarkingCode(Base):
    __tablename__ = "marking_codes"
    # A unit is sold once in an order: its code names one line of it.
    __table_args__ = (UniqueConstraint("order_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = created_at_column()
