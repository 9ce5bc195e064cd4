"""Direct reads: a read-only request's statements on a connection of a small asyncpg pool.

A route whose reads are all PreparedReads (db/prepared.py) needs neither a SQLAlchemy session
nor a transaction on PostgreSQL: its auth check and its reads run one after another on one
asyncpg connection in autocommit, which costs a fraction of a session's checkout, autobegin,
rollback and close. SQLite keeps the session path.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
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


class DirectPool:
    """The asyncpg connections of one process's direct reads, opened on demand up to `size`.

    Smaller than asyncpg's own pool: no proxies, timers or reset query per checkout. The
    connections only ever run autocommit selects, so nothing of a session's state (settings,
    listeners, locks, transactions) needs resetting when one comes back.
    """

    def __init__(self, url: str, dialect, size: int):
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.dialect = dialect
        self.size = size
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[asyncio.Future] = deque()
        self._opened = 0
        self._closed = False

    async def acquire(self) -> asyncpg.Connection:
        self._closed = False
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._opened -= 1
            if self._opened < self.size:
                return await self._connect()
            connection = await self._wait()
            if connection is not None:
                return connection

    async def _connect(self) -> asyncpg.Connection:
        self._opened += 1
        try:
            return await asyncpg.connect(self.dsn, timeout=ACQUIRE_TIMEOUT_S)
        except BaseException as exc:
            self._opened -= 1
            self._wake(None)
            if isinstance(exc, (*BROKEN, TimeoutError, asyncpg.PostgresError)):
                raise OperationalError("connect", (), exc, connection_invalidated=True) from exc
            raise

    async def _wait(self) -> asyncpg.Connection | None:
        """A released connection, or None when a place to open one came free."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(ACQUIRE_TIMEOUT_S):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result(), broken=False)
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise OperationalError("acquire", (), exc) from exc
            raise

    def _wake(self, connection: asyncpg.Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    def release(self, connection: asyncpg.Connection | None, broken: bool) -> None:
        if connection is None:
            self._wake(None)
        elif broken or self._closed or connection.is_closed():
            connection.terminate()
            self._opened -= 1
            self._wake(None)
        elif not self._wake(connection):
            self._idle.append(connection)

    async def close(self) -> None:
        """Closes the idle connections; those in use close as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            self._opened -= 1
            await connection.close(timeout=5)


# The request's first read with the caller's check (DirectReads.check_with_first_read): the
# read's rows numbered in their order, beside the subject's row (NULL when there is none), on
# one row of NULL read columns when the read finds nothing.
_CHECKED_READ = (
    "WITH checked_subject AS ({subject}), checked_read AS ("
    "SELECT *, row_number() OVER () AS checked_read_order FROM ({read}) AS read) "
    "SELECT checked_read.*, (SELECT ROW(checked_subject.*) FROM checked_subject) "
    "AS checked_subject_row FROM (SELECT 1) AS one LEFT JOIN checked_read ON true "
    "ORDER BY checked_read.checked_read_order"
)
_PARAMETER = re.compile(r"\$(\d+)")


class DirectReads:
    """One request's reads: a pooled connection taken at the first statement, given back by
    `close()` at the end of the request."""

    def __init__(self, pool: DirectPool):
        self.pool = pool
        self.dialect = pool.dialect
        self._connection: asyncpg.Connection | None = None
        self._broken = False
        self._check: tuple[Any, dict[str, Any], Callable[[Mapping | None], None]] | None = None

    def check_with_first_read(
        self, lookup, params: dict[str, Any], verify: Callable[[Mapping | None], None]
    ) -> None:
        """Run the PreparedRead `lookup` (one row at most) in the same statement as the next
        read, then `verify(its row or None)`, which raises to refuse the request."""
        self._check = (lookup, params, verify)

    async def settle(self) -> None:
        """Run a check still waiting for a read on its own."""
        if self._check is not None:
            lookup, params, verify = self._check
            self._check = None
            verify(await lookup.first(self, **params))

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[asyncpg.Record]:
        if self._check is not None:
            return await self._checked_fetch(sql, values)
        return await self._fetch(sql, values)

    async def _checked_fetch(self, sql: str, values: Sequence[Any]) -> list[asyncpg.Record]:
        lookup, params, verify = self._check
        self._check = None
        subject_sql, subject_values = lookup.statement_values(self.dialect, params)
        shift = len(values)
        subject_sql = _PARAMETER.sub(lambda found: f"${int(found[1]) + shift}", subject_sql)
        rows = await self._fetch(
            _CHECKED_READ.format(subject=subject_sql, read=sql), [*values, *subject_values]
        )
        subject = rows[0]["checked_subject_row"]
        verify(None if subject is None else dict(zip(lookup.column_names, subject, strict=True)))
        return [] if rows[0]["checked_read_order"] is None else rows

    async def _fetch(self, sql: str, values: Sequence[Any]) -> list[asyncpg.Record]:
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
            self.pool.release(connection, self._broken)
