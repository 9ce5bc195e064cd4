"""Index of goods' articles for the storefront search's article prefix (PostgreSQL)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_goods_article_prefix ON goods (lower(article) text_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_goods_article_prefix")
