"""The migrations build exactly the schema the models describe, on the backend under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.models import Base

# Indexes and columns of one backend that the models leave out; the migrations create them
# with raw SQL: an expression index, and the generated search document with its GIN index.
RAW_INDEXES = {"postgresql": {"ix_goods_search", "ix_goods_article_prefix"}}
RAW_COLUMNS = {"postgresql": {"search_document"}}


def _compared(db):
    skipped = {
        "index": RAW_INDEXES.get(db.dialect, set()),
        "column": RAW_COLUMNS.get(db.dialect, set()),
    }

    def include(_object, name, type_, reflected, _compare_to):
        return not (reflected and name in skipped.get(type_, ()))

    return include


async def test_models_and_migrations_agree(db):
    def diff(connection):
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _compared(db)}
        )
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_every_foreign_key_is_indexed():
    for table in Base.metadata.sorted_tables:
        leading = [index.columns.keys() for index in table.indexes]
        leading += [c.columns.keys() for c in table.constraints if c.columns.keys()]
        indexed = {columns[0] for columns in leading}
        for fk in table.foreign_keys:
            assert fk.parent.name in indexed, f"{table.name}.{fk.parent.name}"


async def test_raw_indexes_exist(db):
    def index_names(connection):
        return {index["name"] for index in inspect(connection).get_indexes("goods")}

    async with db.engine.connect() as connection:
        names = await connection.run_sync(index_names)
    assert RAW_INDEXES.get(db.dialect, set()) <= names
