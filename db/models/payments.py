"""Payment attempts at the acquiring gateway and the callbacks it sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigAmount, JsonData, created_at_column, updated_at_column

ATTEMPT_STATES = ("registered", "paid", "failed", "expired")


class PaymentAttempt(Base):
    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("order_id", "attempt"),
        CheckConstraint("state IN ('registered', 'paid', 'failed', 'expired')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    gateway_order_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    form_url: Mapped[str | None] = mapped_column(String(1024))
    amount_kopecks: Mapped[int] = mapped_column(BigAmount)
    state: Mapped[str] = mapped_column(String(12), index=True)
    # The fiscal receipt sent with the registration: [{"line_id", "marking_code", "item"}]
    # (line_id null for delivery); refunds repeat its positions. Null when none was sent.
    receipt: Mapped[list | None] = mapped_column(JsonData)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PaymentCallback(Base):
    __tablename__ = "payment_callbacks"
    __table_args__ = (UniqueConstraint("md_order", "operation", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    md_order: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str | None] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict] = mapped_column(JsonData)
    received_at: Mapped[datetime] = created_at_column()
