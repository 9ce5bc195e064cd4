"""Service bookkeeping: catalog version for cache invalidation and named locks across workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, UTCDateTime


class CatalogState(Base):
    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AppLock(Base):
    """One row per named lock; held with a row lock (or a lease for long jobs)."""

    __tablename__ = "app_locks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
