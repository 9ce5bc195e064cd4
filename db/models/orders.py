"""Orders, their lines, status history and idempotency keys of order submissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    BigAmount,
    DeliveryAddressColumns,
    JsonData,
    UTCDateTime,
    created_at_column,
    updated_at_column,
)

RESERVATION_STATES = ("active", "released", "consumed")


class Order(DeliveryAddressColumns, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("reservation IN ('active', 'released', 'consumed')", name="reservation"),
        CheckConstraint("delivery_cost >= 0", name="delivery_cost_not_negative"),
        Index("ix_orders_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="RESTRICT"), index=True
    )
    delivery_type_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_types.id", ondelete="RESTRICT"), index=True
    )
    is_payed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sberbank_id: Mapped[str | None] = mapped_column(String(64), index=True)
    delivery_cost: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivery_cost_by_storefront: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    total_sum: Mapped[int] = mapped_column(BigAmount, default=0, server_default="0")
    is_cash_payment: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    contact_first_name: Mapped[str] = mapped_column(String(255))
    contact_second_name: Mapped[str] = mapped_column(String(255))
    contact_last_name: Mapped[str | None] = mapped_column(String(255))
    contact_phone_number: Mapped[str | None] = mapped_column(String(15))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    reservation: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    refunded_kopecks: Mapped[int] = mapped_column(BigAmount, default=0, server_default="0")
    # Null while nothing was refunded: the state then follows `is_payed`.
    payment_state: Mapped[str | None] = mapped_column(String(20))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("current_price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variation_id: Mapped[int] = mapped_column(
        ForeignKey("variations.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[int] = mapped_column(Integer)
    current_price: Mapped[int] = mapped_column(Integer)
    # Units whose money went back to the buyer; they no longer count for the reservation.
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatusChange(Base):
    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_order_id_created_at", "order_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    response_body: Mapped[dict | None] = mapped_column(JsonData)
    created_at: Mapped[datetime] = created_at_column()
