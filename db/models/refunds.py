"""Refunds and reversals of online payments, one row per request to the gateway."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    BigAmount,
    JsonData,
    UTCDateTime,
    created_at_column,
    updated_at_column,
)

REFUND_STATES = ("pending", "succeeded", "failed")
REFUND_KINDS = ("refund", "reversal")
# Who asked: staff through the API, the shop itself (a payment it could not honour), or the
# gateway's merchant cabinet (found on a status check).
REFUND_SOURCES = ("staff", "auto", "gateway")


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name="state"),
        CheckConstraint("kind IN ('refund', 'reversal')", name="kind"),
        CheckConstraint("source IN ('staff', 'auto', 'gateway')", name="source"),
        CheckConstraint("amount_kopecks > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_attempts.id", ondelete="SET NULL"), index=True
    )
    gateway_order_id: Mapped[str | None] = mapped_column(String(64))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), index=True)
    # [{"line_id", "variation_id", "quantity", "unit_price"}]; empty when the gateway's
    # cabinet refunded a sum without naming the goods.
    lines: Mapped[list] = mapped_column(JsonData)
    delivery: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    amount_kopecks: Mapped[int] = mapped_column(BigAmount)
    restocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    gateway_code: Mapped[str | None] = mapped_column(String(16))
    gateway_message: Mapped[str | None] = mapped_column(String(512))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
