"""Count of reservation changes per variation, for the catalogue cache

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 06:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "variations",
        sa.Column("stock_changes", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("variations") as batch:
        batch.drop_column("stock_changes")
