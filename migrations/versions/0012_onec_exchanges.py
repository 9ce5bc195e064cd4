"""1C exchange sessions and the log of exchange calls and imports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "onec_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("folder", sa.String(64), nullable=False),
        sa.Column("last_query", JSON_DATA, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onec_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_onec_sessions_token_hash")),
        sa.UniqueConstraint("folder", name=op.f("uq_onec_sessions_folder")),
    )
    op.create_index(
        op.f("ix_onec_sessions_expires_at"), "onec_sessions", ["expires_at"], unique=False
    )
    op.create_table(
        "onec_exchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("message", sa.String(1000), nullable=True),
        sa.Column("counts", JSON_DATA, nullable=True),
        sa.Column("runner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure', 'progress')", name=op.f("ck_onec_exchanges_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["onec_sessions.id"],
            name=op.f("fk_onec_exchanges_session_id_onec_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onec_exchanges")),
    )
    op.create_index(
        "ix_onec_exchanges_mode_outcome", "onec_exchanges", ["mode", "outcome"], unique=False
    )
    op.create_index(
        "ix_onec_exchanges_session_id_mode_filename",
        "onec_exchanges",
        ["session_id", "mode", "filename"],
        unique=False,
    )
    op.create_index(
        "ix_onec_exchanges_started_at", "onec_exchanges", ["started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("onec_exchanges")
    op.drop_table("onec_sessions")
