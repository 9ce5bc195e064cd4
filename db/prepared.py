"""Prepared reads: a select built once that PostgreSQL runs as asyncpg's own prepared statement.

SQLAlchemy compiles the statement for the session's dialect once; on PostgreSQL each call then
goes straight to asyncpg (its statement cache, rows as asyncpg records), skipping the per-call
work of SQLAlchemy's execution and result layers, which costs more than the round trip itself
for a one-row read. Elsewhere (SQLite) it runs through SQLAlchemy as usual. Rows are read by
column name either way. The columns must need no conversion beyond the driver's: integers,
text, booleans, numerics, dates and timestamps with time zone (see db/models/base.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from db.direct import BROKEN, DirectReads


class PreparedRead:
    def __init__(self, statement: Select):
        self.statement = statement
        self._postgresql: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def _compiled(self, dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        if self._postgresql is None:
            compiled = self.statement.compile(dialect=dialect)
            self._postgresql = (str(compiled), tuple(compiled.positiontup), compiled.params)
        return self._postgresql

    async def rows(
        self, session: AsyncSession | DirectReads, **params: Any
    ) -> Sequence[Mapping[str, Any]]:
        """The rows for `params`, read through the session or straight on `DirectReads`."""
        if isinstance(session, DirectReads):
            return await session.fetch(*self._values(session.dialect, params))
        driver = await _asyncpg_connection(session)
        if driver is None:
            connection = await session.connection()
            return (await connection.execute(self.statement, params)).mappings().all()
        sql, values = self._values(session.bind.dialect, params)
        try:
            return await driver.fetch(sql, *values)
        except BROKEN as exc:
            # Told apart like SQLAlchemy's own errors: the connection is gone (503), not a bug.
            await (await session.connection()).invalidate()
            raise OperationalError(sql, values, exc, connection_invalidated=True) from exc

    def _values(self, dialect, params: dict[str, Any]) -> tuple[str, list[Any]]:
        sql, names, defaults = self._compiled(dialect)
        return sql, [params[name] if name in params else defaults[name] for name in names]

    async def first(
        self, session: AsyncSession | DirectReads, **params: Any
    ) -> Mapping[str, Any] | None:
        rows = await self.rows(session, **params)
        return rows[0] if rows else None


async def _asyncpg_connection(session: AsyncSession):
    """The asyncpg connection under the session's current transaction (None off PostgreSQL),
    remembered for the transaction's further reads."""
    if session.bind.dialect.driver != "asyncpg":
        return None
    transaction = session.sync_session.get_transaction()
    remembered = session.info.get("asyncpg")
    if transaction is not None and remembered is not None and remembered[0] is transaction:
        return remembered[1]
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    session.info["asyncpg"] = (session.sync_session.get_transaction(), driver)
    return driver


class RowPart(Mapping):
    """The columns of a joined row named with `prefix`, read under their own names:
    `RowPart(row, "color_")["name"]` is `row["color_name"]`."""

    __slots__ = ("prefix", "row")

    def __init__(self, row: Mapping[str, Any], prefix: str):
        self.row = row
        self.prefix = prefix

    def __getitem__(self, key: str) -> Any:
        name = self.prefix + key
        try:
            return self.row[name]
        except TypeError:  # an object rather than a row
            return getattr(self.row, name)

    def __iter__(self):
        size = len(self.prefix)
        # asyncpg records iterate over their values: their keys() are the column names.
        return (key[size:] for key in self.row.keys() if key.startswith(self.prefix))  # noqa: SIM118

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Extended(Mapping):
    """A row or an object with more values beside its own columns or attributes:
    `Extended(order, customer=customer, variations=lines)`."""

    __slots__ = ("base", "extra", "keyed")

    def __init__(self, base: Any, **extra: Any):
        self.base = base
        self.extra = extra
        self.keyed = hasattr(base, "keys")

    def __getitem__(self, key: str) -> Any:
        if key in self.extra:
            return self.extra[key]
        if self.keyed:
            return self.base[key]
        try:
            return getattr(self.base, key)
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self):
        names = self.base.keys() if self.keyed else getattr(self.base, "_fields", ())
        return iter([*self.extra, *(name for name in names if name not in self.extra)])

    def __len__(self) -> int:
        return sum(1 for _ in self)
