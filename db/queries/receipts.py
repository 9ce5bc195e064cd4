"""Receipt statements: an order's lines with what their receipt positions need."""

from __future__ import annotations

from sqlalchemy import Select, select

from db.models import Category, Good, MarkingCode, OrderLine, Variation


def receipt_rows(order_id: int) -> Select:
    """(line, variation name, good's VAT type, its category, labelled) of an order, by line."""
    return (
        select(OrderLine, Variation.name, Good.tax_type, Good.category_id, Good.is_marked)
        .join(Variation, Variation.id == OrderLine.variation_id)
        .join(Good, Good.id == Variation.good_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.id)
    )


def category_tax_types() -> Select:
    return select(Category.id, Category.parent_id, Category.tax_type)


def order_marking_codes(order_id: int) -> Select:
    """(line id, code) of an order, in the order they were given."""
    return (
        select(MarkingCode.line_id, MarkingCode.code)
        .where(MarkingCode.order_id == order_id)
        .order_by(MarkingCode.id)
    )
