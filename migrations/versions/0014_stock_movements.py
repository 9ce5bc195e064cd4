"""Stock movements: the history of every variation's stock and reservation, opened with the
levels each variation has today

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stock_movements",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("variation_id", sa.Integer(), nullable=False),
        sa.Column("delta_stock", sa.Integer(), nullable=False),
        sa.Column("delta_reserved", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("upload_id", sa.String(64), nullable=True),
        sa.Column("actor_kind", sa.String(10), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "actor_kind IN ('staff', 'api_client', 'customer', 'system')",
            name=op.f("ck_stock_movements_actor_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["variation_id"],
            ["variations.id"],
            name=op.f("fk_stock_movements_variation_id_variations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_stock_movements_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index(
        "ix_stock_movements_variation_id_id",
        "stock_movements",
        ["variation_id", sa.text("id DESC")],
        unique=False,
    )
    op.create_index(
        op.f("ix_stock_movements_order_id"), "stock_movements", ["order_id"], unique=False
    )
    # One opening movement per variation, so the movements add up to the levels of today.
    op.execute(
        "INSERT INTO stock_movements "
        "(variation_id, delta_stock, delta_reserved, stock, reserved, reason, actor_kind) "
        "SELECT id, stock, reserved, stock, reserved, 'opening', 'system' "
        "FROM variations ORDER BY id"
    )


def downgrade() -> None:
    op.drop_table("stock_movements")
