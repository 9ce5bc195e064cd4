"""Images of variations; files live under MEDIA_ROOT."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at_column


class Image(Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    variation_id: Mapped[int] = mapped_column(
        ForeignKey("variations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(512), unique=True)
    model_info: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()
