"""Full-text search index of goods (PostgreSQL, Russian stemming)

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04 19:05:00
"""

from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

# The same expression as db.queries.catalog.search_document, so the planner uses the index.
DOCUMENT = (
    "to_tsvector('russian', coalesce(name, '') || ' ' || coalesce(article, '') || ' ' "
    "|| coalesce(description, ''))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_goods_search ON goods USING gin ({DOCUMENT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_goods_search")
