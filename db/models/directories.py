"""Directories: materials, categories, structures, care items, sizes, colors, statuses, delivery."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class NamedItem:
    """A directory row: an id and a unique name."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Material(NamedItem, Base):
    __tablename__ = "materials"


class Category(NamedItem, Base):
    __tablename__ = "categories"

    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    one_c_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # VAT type of its goods' receipt lines unless a good has its own; null asks the parent.
    tax_type: Mapped[int | None] = mapped_column(Integer)


class Structure(NamedItem, Base):
    __tablename__ = "structures"


class ProductsCare(NamedItem, Base):
    __tablename__ = "products_care"


class Size(NamedItem, Base):
    __tablename__ = "sizes"


class Color(NamedItem, Base):
    __tablename__ = "colors"

    code: Mapped[str] = mapped_column(String(50))


class Status(NamedItem, Base):
    __tablename__ = "statuses"


class DeliveryType(NamedItem, Base):
    __tablename__ = "delivery_types"

    cost: Mapped[int | None] = mapped_column(Integer)
