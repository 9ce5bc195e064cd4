"""Links of a customer to social networks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at_column


class SocialAccount(Base):
    __tablename__ = "social_accounts"
    __table_args__ = (UniqueConstraint("customer_id", "network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(512))
    reason: Mapped[str | None] = mapped_column(String(255))
    connected_at: Mapped[datetime] = created_at_column()
