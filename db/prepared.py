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

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable, Select

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
            return await session.fetch(*self.statement_values(session.dialect, params))
        driver = await _asyncpg_connection(session)
        if driver is None:
            connection = await session.connection()
            return (await connection.execute(self.statement, params)).mappings().all()
        sql, values = self.statement_values(session.bind.dialect, params)
        try:
            return await driver.fetch(sql, *values)
        except BROKEN as exc:
            # Told apart like SQLAlchemy's own errors: the connection is gone (503), not a bug.
            await (await session.connection()).invalidate()
            raise OperationalError(sql, values, exc, connection_invalidated=True) from exc

    def statement_values(self, dialect, params: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SQL for `dialect` and its positional values for `params`."""
        sql, names, defaults = self._compiled(dialect)
        return sql, [params[name] if name in params else defaults[name] for name in names]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.key for column in self.statement.selected_columns)

    async def first(
        self, session: AsyncSession | DirectReads, **params: Any
    ) -> Mapping[str, Any] | None:
        rows = await self.rows(session, **params)
        return rows[0] if rows else None


class PreparedWrite:
    """An insert, update or locking select built once, run on the session's transaction.

    On PostgreSQL, once the transaction has begun (a statement through the session sends its
    BEGIN), each call goes straight to asyncpg like a PreparedRead; otherwise, and elsewhere,
    it runs through SQLAlchemy. The statement is compiled once per set of parameter names,
    with the columns' Python-side defaults and the types' bind processing applied here as
    SQLAlchemy would. Returns the rows of a RETURNING clause (by column name), else [].
    """

    def __init__(self, statement: Executable):
        self.statement = statement
        self._by_keys: dict[frozenset[str], tuple] = {}

    def _compiled(self, dialect, keys: frozenset[str]) -> tuple:
        found = self._by_keys.get(keys)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=sorted(keys))
            names = tuple(compiled.positiontup)
            processors = {}
            for name in names:
                kind = compiled.binds[name].type.dialect_impl(dialect)
                processors[name] = kind.bind_processor(dialect)
            defaults = {
                column.key: column.default
                for column in (*compiled.insert_prefetch, *compiled.update_prefetch)
            }
            found = (str(compiled), names, processors, defaults, compiled.params)
            self._by_keys[keys] = found
        return found

    def _values(self, compiled: tuple, params: Mapping[str, Any]) -> list[Any]:
        _, names, processors, defaults, literals = compiled
        values = []
        for name in names:
            if name in params:
                value = params[name]
            elif name in defaults:
                default = defaults[name]
                value = default.arg(None) if default.is_callable else default.arg
            else:
                value = literals[name]
            processor = processors[name]
            values.append(value if processor is None else processor(value))
        return values

    async def rows(self, session: AsyncSession, **params: Any) -> Sequence[Mapping[str, Any]]:
        return await self.many(session, [params])

    async def many(
        self, session: AsyncSession, params: Sequence[Mapping[str, Any]]
    ) -> Sequence[Mapping[str, Any]]:
        """One statement for each of `params` (one round trip; no rows back with several)."""
        driver = await _asyncpg_connection(session)
        if driver is None or not driver.is_in_transaction():
            connection = await session.connection()
            result = await connection.execute(self.statement, list(params))
            return result.mappings().all() if result.returns_rows else []
        compiled = self._compiled(session.bind.dialect, frozenset(params[0]))
        rows = [self._values(compiled, each) for each in params]
        try:
            if len(rows) > 1:
                await driver.executemany(compiled[0], rows)
                return []
            return await driver.fetch(compiled[0], *rows[0])
        except BROKEN as exc:
            await (await session.connection()).invalidate()
            raise OperationalError(compiled[0], rows, exc, connection_invalidated=True) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            # As SQLAlchemy raises them, so transport/errors.py maps them alike (409).
            raise IntegrityError(compiled[0], rows, exc) from exc
        except asyncpg.PostgresError as exc:
            raise DBAPIError(compiled[0], rows, exc) from exc


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


class RowObject(Mapping):
    """A row read by column name either way: `row["id"]` or `row.id`."""

    __slots__ = ("row",)

    def __init__(self, row: Mapping[str, Any]):
        self.row = row

    def __getitem__(self, key: str) -> Any:
        return self.row[key]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self.row.keys())

    def __len__(self) -> int:
        return len(self.row)
