"""Goods' search document stored beside the row, so a search never recomputes it (PostgreSQL)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 12:15:00
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

DOCUMENT = (
    "to_tsvector('russian', coalesce(name, '') || ' ' || coalesce(article, '') || ' ' "
    "|| coalesce(description, ''))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Matching rows are filtered again after the index scan; a stored document makes that
        # a read instead of stemming every matching good's text once more.
        op.execute(
            f"ALTER TABLE goods ADD COLUMN search_document tsvector "
            f"GENERATED ALWAYS AS ({DOCUMENT}) STORED"
        )
        # The planner estimates a word's matches from the column's most common words; the
        # default sample is too small for a catalogue's many rare words (articles, model
        # names), and a rare word then looks common enough to walk the goods by id instead.
        op.execute("ALTER TABLE goods ALTER COLUMN search_document SET STATISTICS 1000")
        op.execute("DROP INDEX ix_goods_search")
        op.execute("CREATE INDEX ix_goods_search ON goods USING gin (search_document)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_goods_search")
        op.execute("ALTER TABLE goods DROP COLUMN search_document")
        op.execute(f"CREATE INDEX ix_goods_search ON goods USING gin ({DOCUMENT})")
