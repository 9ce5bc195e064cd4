"""Async engine and session factory for PostgreSQL (asyncpg) and the embedded SQLite default."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from db.direct import DirectPool, DirectReads


class ReadOnlySession(Session):
    """The session of a read-only request; a write through it is a bug, refused at once."""


class WriteInReadOnlySession(RuntimeError):
    pass


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_statement_writes(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise WriteInReadOnlySession("a read-only request tried to write")


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flushed_writes(session, _context, _instances) -> None:
    if session.new or session.dirty or session.deleted:
        raise WriteInReadOnlySession("a read-only request tried to write")


class Database:
    """The engine and the session factory of one process."""

    def __init__(
        self, url: str, pool_size: int = 20, echo: bool = False, busy_timeout_s: float = 30
    ):
        """`pool_size`: the most PostgreSQL connections this process opens (kept once open);
        `busy_timeout_s`: how long SQLite waits for another writer's lock."""
        self.url = url
        self.engine = create_engine(url, pool_size, echo, busy_timeout_s)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(
            _read_engine(self.engine), expire_on_commit=False, sync_session_class=ReadOnlySession
        )
        self.direct_pool = (
            DirectPool(url, self.engine.dialect, max(4, pool_size // 2))
            if self.dialect == "postgresql"
            else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    def read_session(self) -> AsyncSession:
        """A session for reads only: no BEGIN/COMMIT round trips on PostgreSQL."""
        return self.read_sessionmaker()

    def begin(self):
        """One transaction: committed when the block ends, rolled back on any error."""
        return self.sessionmaker.begin()

    def direct_reads(self) -> DirectReads | None:
        """Reads straight on asyncpg (db/direct.py); None off PostgreSQL."""
        return DirectReads(self.direct_pool) if self.direct_pool is not None else None

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession | DirectReads]:
        """Where PreparedReads run outside a request: direct reads, or a read-only session."""
        reads = self.direct_reads()
        if reads is None:
            async with self.read_session() as session:
                yield session
            return
        try:
            yield reads
        finally:
            await reads.close()

    async def dispose(self) -> None:
        if self.direct_pool is not None:
            await self.direct_pool.close()
        await self.engine.dispose()


def _read_engine(engine: AsyncEngine) -> AsyncEngine:
    """PostgreSQL: each statement on its own (autocommit); under READ COMMITTED a transaction
    gives a read's statements no common snapshot either, so only the BEGIN and COMMIT round
    trips go. SQLite: a deferred transaction, which takes no write lock."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(read_only=True)


def create_engine(
    url: str, pool_size: int = 20, echo: bool = False, busy_timeout_s: float = 30
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo, busy_timeout_s)
    # Every connection opened stays in the pool: an overflow connection would be closed on
    # return, and opening one (TLS attempt, a new server process) costs more than many queries.
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_recycle=1800, echo=echo
    )

    @event.listens_for(engine.sync_engine, "checkout")
    def _drop_closed_connection(_dbapi_connection, record, _proxy):
        # A server restart closes the pooled sockets; asyncpg notices that without a round
        # trip, while pool_pre_ping would spend three (BEGIN, ping, ROLLBACK) on every checkout.
        if record.driver_connection.is_closed():
            raise DisconnectionError("pooled connection was closed by the server")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _broken_protocol_is_a_disconnect(context):
        # A connection whose server went away mid-operation can be left half-way through its
        # protocol ("another operation is in progress"); it must leave the pool, not be reused.
        if type(context.original_exception).__name__ == "InternalClientError":
            context.is_disconnect = True

    return engine


class _SQLiteConnection(sqlite3.Connection):
    """Ends its transaction before closing.

    A request cancelled mid-statement (the client hung up) leaves a cursor behind; closing
    the connection then only marks it for closing, and its open transaction would keep the
    database's write lock until that cursor is garbage collected.
    """

    def close(self) -> None:
        if self.in_transaction:
            self.rollback()
        super().close()


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _sqlite_engine(url: str, echo: bool, busy_timeout_s: float) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": busy_timeout_s, "factory": _SQLiteConnection}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # The driver's implicit transactions are replaced by explicit ones below.
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only; names and emails here are often Cyrillic.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection):
        # Take the write lock up front: a deferred transaction that later writes can fail
        # with "database is locked" instead of waiting for the other writer.
        read_only = connection.get_execution_options().get("read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
