"""Goods (models of clothing) and their materials."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at_column, updated_at_column

goods_materials = Table(
    "goods_materials",
    Base.metadata,
    Column("good_id", ForeignKey("goods.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "material_id", ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Good(Base):
    __tablename__ = "goods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    article: Mapped[str] = mapped_column(String(255), unique=True)
    good_1c_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    one_c_guid: Mapped[str | None] = mapped_column(String(255), unique=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    structure_id: Mapped[int] = mapped_column(
        ForeignKey("structures.id", ondelete="RESTRICT"), index=True
    )
    products_care_id: Mapped[int | None] = mapped_column(
        ForeignKey("products_care.id", ondelete="RESTRICT"), index=True
    )
    barcode: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_visible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_delete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    default_variation: Mapped[int | None] = mapped_column(
        ForeignKey("variations.id", ondelete="SET NULL", use_alter=True), index=True
    )
    weight: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    # VAT type of its receipt lines; null takes the category's, then SBER_TAX_TYPE.
    tax_type: Mapped[int | None] = mapped_column(Integer)
    # Subject to mandatory labelling ("Честный знак"): its units carry marking codes.
    is_marked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
