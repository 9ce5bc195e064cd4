"""Receipts: VAT types of goods and categories, labelled goods and their units' marking codes,
the receipt sent with each payment attempt

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 18:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("goods", sa.Column("tax_type", sa.Integer(), nullable=True))
    op.add_column(
        "goods",
        sa.Column("is_marked", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("categories", sa.Column("tax_type", sa.Integer(), nullable=True))
    op.add_column("payment_attempts", sa.Column("receipt", JSON_DATA, nullable=True))
    op.create_table(
        "marking_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(150), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_marking_codes_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["order_lines.id"],
            name=op.f("fk_marking_codes_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marking_codes")),
        sa.UniqueConstraint("order_id", "code", name=op.f("uq_marking_codes_order_id_code")),
    )
    op.create_index(
        op.f("ix_marking_codes_line_id"), "marking_codes", ["line_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("marking_codes")
    with op.batch_alter_table("payment_attempts") as batch:
        batch.drop_column("receipt")
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("tax_type")
    with op.batch_alter_table("goods") as batch:
        batch.drop_column("is_marked")
        batch.drop_column("tax_type")
