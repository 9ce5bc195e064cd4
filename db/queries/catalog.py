"""Storefront conditions and orderings: variation filters, text search and the sort keys."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, case, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import TSVECTOR

from db.models import Good, Order, OrderLine, Variation
from db.models.base import utcnow
from db.queries.matching import contains_text, escape_like

SORTS = ("price", "-price", "new", "popular")
POPULAR_DAYS = 30
SEARCH_CONFIG = "russian"

effective_price = case(
    (
        and_(Variation.discounted_price.is_not(None), Variation.discounted_price > 0),
        Variation.discounted_price,
    ),
    else_=Variation.price,
)


# PostgreSQL only: a generated column the models leave out (migration 0016, GIN-indexed).
SEARCH_DOCUMENT = literal_column("goods.search_document", TSVECTOR)


def text_match(dialect: str, text: str):
    """PostgreSQL: full-text search with Russian stemming, or an article prefix.
    SQLite: a case-insensitive substring of the name, article or description."""
    if dialect == "postgresql":
        prefix = escape_like(text.lower()) + "%"
        # Both sides have an index (ix_goods_search, ix_goods_article_prefix), so the planner
        # can combine them; an ILIKE here would make it read every good.
        return or_(
            SEARCH_DOCUMENT.op("@@")(
                func.plainto_tsquery(literal_column(f"'{SEARCH_CONFIG}'"), text)
            ),
            func.lower(Good.article).like(prefix, escape="\\"),
        )
    return or_(*contains_text((Good.name, Good.article, Good.description), text))


def variation_conditions(filters: dict) -> list:
    """Which variations of a good are shown (and so whether the good is)."""
    conditions = [Variation.is_delete.is_(False)]
    if "color_id" in filters:
        conditions.append(Variation.color_id == filters["color_id"])
    if "size_id" in filters:
        conditions.append(Variation.size_id == filters["size_id"])
    if "price_min" in filters:
        conditions.append(effective_price >= filters["price_min"])
    if "price_max" in filters:
        conditions.append(effective_price <= filters["price_max"])
    if filters.get("in_stock"):
        conditions.append(Variation.stock > Variation.reserved)
    return conditions


def included_variations(filters: dict) -> list:
    return [Variation.good_id == Good.id, *variation_conditions(filters)]


def good_order(filters: dict) -> list:
    """The storefront order: by id unless `sort` names another; ties always by id."""
    sort = filters.get("sort")
    if sort in ("price", "-price"):
        lowest = (
            select(func.min(effective_price)).where(*included_variations(filters)).scalar_subquery()
        )
        return [lowest.asc() if sort == "price" else lowest.desc(), Good.id]
    if sort == "new":
        return [Good.created_at.desc(), Good.id.desc()]
    if sort == "popular":
        since = utcnow() - timedelta(days=POPULAR_DAYS)
        sold = (
            select(func.coalesce(func.sum(OrderLine.amount), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .join(Variation, Variation.id == OrderLine.variation_id)
            .where(Variation.good_id == Good.id, Order.created_at >= since)
            .scalar_subquery()
        )
        return [sold.desc(), Good.id]
    return [Good.id]
