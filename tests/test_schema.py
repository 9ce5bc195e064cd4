"""The migrations build exactly the schema the models describe, on the backend under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.models import Base


async def test_models_and_migrations_agree(db):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
