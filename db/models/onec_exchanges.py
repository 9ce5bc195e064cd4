"""1C exchange sessions (CommerceML 2 protocol) and the log of their calls, imports included."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, JsonData, UTCDateTime, created_at_column

EXCHANGE_OUTCOMES = ("success", "failure", "progress")


class OnecSession(Base):
    """Opened by `checkauth`; 1C sends its cookie back on every later call."""

    __tablename__ = "onec_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The session's own folder under ONEC_EXCHANGE_DIR.
    folder: Mapped[str] = mapped_column(String(64), unique=True)
    # Orders sent by the session's last `query`: {"<order id>": "<updated_at as sent>"}.
    last_query: Mapped[dict | None] = mapped_column(JsonData)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OnecExchange(Base):
    """One call of an exchange, or one file: an upload, an import, a query.

    An import is also a job: `runner` and `lease_until` name the process running it while
    `outcome` is `progress`; a lease that ran out means the process died.
    """

    __tablename__ = "onec_exchanges"
    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'failure', 'progress')", name="outcome"),
        Index("ix_onec_exchanges_mode_outcome", "mode", "outcome"),
        Index("ix_onec_exchanges_session_id_mode_filename", "session_id", "mode", "filename"),
        Index("ix_onec_exchanges_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("onec_sessions.id", ondelete="SET NULL")
    )
    type: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(10))
    message: Mapped[str | None] = mapped_column(String(1000))
    counts: Mapped[dict | None] = mapped_column(JsonData)
    runner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
