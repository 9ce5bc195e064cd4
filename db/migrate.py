"""Apply Alembic migrations (CLI `migrate`, auto-migrate, tests) and list the pending ones."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Run in a thread or outside an event loop: Alembic drives its own loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def _pending_on(connection) -> list[str]:
    script = _script()
    current = MigrationContext.configure(connection).get_current_heads()
    pending = script.iterate_revisions(script.get_heads(), current or "base")
    return sorted(revision.revision for revision in pending)


async def pending_revisions(engine: AsyncEngine) -> list[str]:
    """The revisions not yet applied to the database, oldest first; [] when up to date."""
    await asyncio.to_thread(_script)
    async with engine.connect() as connection:
        return await connection.run_sync(_pending_on)
