"""Stock movements: one row per change of a variation's stock or reservation, with its cause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, created_at_column

ACTOR_KINDS = ("staff", "api_client", "customer", "system")


class StockMovement(Base):
    """The deltas of a change and the levels it left; the deltas of a variation add up to
    its current `stock` and `reserved`."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(
            "actor_kind IN ('staff', 'api_client', 'customer', 'system')", name="actor_kind"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    variation_id: Mapped[int] = mapped_column(ForeignKey("variations.id", ondelete="RESTRICT"))
    delta_stock: Mapped[int] = mapped_column(Integer)
    delta_reserved: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    # Not a database enum: a new source of stock must not need a rewrite of the history table.
    reason: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    upload_id: Mapped[str | None] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(10))
    # A staff user, API client or customer id; no foreign key, so the history outlives them.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()


# The history of one variation, newest first.
Index(
    "ix_stock_movements_variation_id_id",
    StockMovement.variation_id,
    StockMovement.id.desc(),
)
