"""Legacy ids of erased customers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_legacy_customers",
        sa.Column("legacy_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "erased_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("legacy_id", name=op.f("pk_erased_legacy_customers")),
    )


def downgrade() -> None:
    op.drop_table("erased_legacy_customers")
