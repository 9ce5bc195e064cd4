"""Variations (sellable SKUs) with 1C stock and reservations by open orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, false, inspect
from sqlalchemy.orm import Mapped, mapped_column, validates

from db.models.base import Base, created_at_column, updated_at_column


class Variation(Base):
    __tablename__ = "variations"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    good_id: Mapped[int] = mapped_column(ForeignKey("goods.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    color_id: Mapped[int] = mapped_column(ForeignKey("colors.id", ondelete="RESTRICT"), index=True)
    size_id: Mapped[int] = mapped_column(ForeignKey("sizes.id", ondelete="RESTRICT"), index=True)
    price: Mapped[int] = mapped_column(Integer)
    discounted_price: Mapped[int | None] = mapped_column(Integer)
    variation_1c_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    one_c_guid: Mapped[str | None] = mapped_column(String(255), unique=True)
    stock: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # +1 with every reservation change: the catalogue cache sums it to notice each commit.
    stock_changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    barcode: Mapped[str | None] = mapped_column(String(255))
    is_sale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_new: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_delete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @validates("stock", "reserved")
    def _changed_only_by_the_stock_service(self, key: str, value: int) -> int:
        # services/stock.py writes the levels together with their movements; a new variation
        # starts at 0 and an ORM assignment would change the levels without a movement.
        if value != 0 or inspect(self).persistent:
            raise ValueError(f"Variation.{key} is changed only through services.stock")
        return value
