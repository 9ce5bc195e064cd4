"""Direct reads: a read-only request's statements on a connection of a small asyncpg pool.

A route whose reads are all PreparedReads (db/prepared.py) needs neither a SQLAlchemy session
nor a transaction on PostgreSQL: its auth check and its reads run one after another on one
asyncpg connection in autocommit, which costs a fraction of a session's checkout, autobegin,
rollback and close. The connections only ever run those selects, so nothing of a session's
state (settings, listeners, locks, transactions) needs resetting when one goes back to the
pool: the pool's reset round trip is skipped. SQLite keeps the session path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# Errors after which the connection's protocol state is unknown: it leaves the pool. A
# connection cut mid-operation can be left half-way through its protocol (InternalClientError
# "another operation is in progress"), as db/engine.py also treats it.
BROKEN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
ACQUIRE_TIMEOUT_S = 30


async def _keep_state(_connection: asyncpg.Connection) -> None:
    """The pool's reset: the connections run autocommit selects only, so there is none."""


class DirectPool:
    """The asyncpg pool of one process's direct reads, opened on first use."""

    def __init__(self, url: str, dialect, size: int):
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.dialect = dialect
        self.size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.dsn, min_size=0, max_size=self.size, reset=_keep_state
                )
        return self._pool

    async def acquire(self) -> asyncpg.Connection:
        try:
            pool = self._pool or await self._open()
            return await pool.acquire(timeout=ACQUIRE_TIMEOUT_S)
        except (*BROKEN, TimeoutError, asyncpg.PostgresError) as exc:
            raise OperationalError("connect", (), exc, connection_invalidated=True) from exc

    async def release(self, connection: asyncpg.Connection, broken: bool) -> None:
        if broken:
            connection.terminate()
        await self._pool.release(connection)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


class DirectReads:
    """One request's reads: a pooled connection taken at the first statement, given back by
    `close()` at the end of the request."""

    def __init__(self, pool: DirectPool):
        self.pool = pool
        self.dialect = pool.dialect
        self._connection: asyncpg.Connection | None = None
        self._broken = False

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[asyncpg.Record]:
        if self._connection is None:
            self._connection = await self.pool.acquire()
        try:
            return await self._connection.fetch(sql, *values)
        except asyncio.CancelledError:
            # The client hung up mid-statement: the connection is not reused half-way.
            self._broken = True
            raise
        except BROKEN as exc:
            # Told apart like SQLAlchemy's own errors: the connection is gone (503), not a bug.
            self._broken = True
            raise OperationalError(sql, values, exc, connection_invalidated=True) from exc

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self.pool.release(connection, self._broken)
