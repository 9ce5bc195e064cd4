"""Refunds and reversals of online payments; refunded units and sums on orders

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-04 22:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_AMOUNT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column(
        "orders", sa.Column("refunded_kopecks", BIG_AMOUNT, server_default="0", nullable=False)
    )
    op.add_column("orders", sa.Column("payment_state", sa.String(20), nullable=True))
    op.add_column(
        "order_lines",
        sa.Column("refunded_quantity", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("gateway_order_id", sa.String(64), nullable=True),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("lines", JSON_DATA, nullable=False),
        sa.Column("delivery", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("amount_kopecks", BIG_AMOUNT, nullable=False),
        sa.Column("restocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("gateway_code", sa.String(16), nullable=True),
        sa.Column("gateway_message", sa.String(512), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refunds_state")
        ),
        sa.CheckConstraint("kind IN ('refund', 'reversal')", name=op.f("ck_refunds_kind")),
        sa.CheckConstraint(
            "source IN ('staff', 'auto', 'gateway')", name=op.f("ck_refunds_source")
        ),
        sa.CheckConstraint("amount_kopecks > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_refunds_attempt_id_payment_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_refunds_staff_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    for column in ("order_id", "attempt_id", "staff_user_id", "state"):
        op.create_index(op.f(f"ix_refunds_{column}"), "refunds", [column], unique=False)


def downgrade() -> None:
    op.drop_table("refunds")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("refunded_quantity")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("payment_state")
        batch.drop_column("refunded_kopecks")
