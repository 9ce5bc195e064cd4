"""Customers of the shop (registered and guests) and their saved addresses."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    DeliveryAddressColumns,
    UTCDateTime,
    created_at_column,
    updated_at_column,
)

CUSTOMER_STATUSES = ("active", "deleted")
CUSTOMER_SOURCES = ("site", "guest_order", "register", "legacy_import")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'deleted')", name="status"),
        CheckConstraint(
            "source IN ('site', 'guest_order', 'register', 'legacy_import')", name="source"
        ),
        Index(
            "uq_customers_registered_email",
            "email",
            unique=True,
            postgresql_where=text("is_registered"),
            sqlite_where=text("is_registered"),
        ),
        Index(
            "uq_customers_registered_phone",
            "phone_number",
            unique=True,
            postgresql_where=text("is_registered"),
            sqlite_where=text("is_registered"),
        ),
        Index("ix_customers_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    login: Mapped[str | None] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(100))
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_name: Mapped[str] = mapped_column(String(255))
    second_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone_number: Mapped[str | None] = mapped_column(String(15), index=True)
    phone_raw: Mapped[str | None] = mapped_column(String(255))
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10))
    age: Mapped[int | None] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(255))
    is_registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    source: Mapped[str] = mapped_column(String(20), default="site", server_default="site")
    legacy_id: Mapped[int | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    last_auth_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerAddress(DeliveryAddressColumns, Base):
    __tablename__ = "customer_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class ErasedLegacyCustomer(Base):
    """Legacy ids of permanently deleted customers, so a later import does not bring them back."""

    __tablename__ = "erased_legacy_customers"

    legacy_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    erased_at: Mapped[datetime] = created_at_column()
