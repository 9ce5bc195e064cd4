"""The catalogue's version: moved on by every transaction that changed the catalogue, as it commits.

A service marks its session (`catalog_changed`); just before the commit one of a few version
rows is incremented in the same transaction, so the new version is visible exactly when the
change is. Readers compare the sum of the rows with the version their cached page was built at.
The version is split over rows so that concurrent checkouts, which all change stock, rarely
wait for each other's row lock; the bump is the transaction's last statement either way.
"""

from __future__ import annotations

import random

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import CatalogState
from db.prepared import PreparedRead

ROWS = 16
_CHANGED = "catalog_changed"
_state = CatalogState.__table__

CATALOG_VERSION = PreparedRead(
    select(func.coalesce(func.sum(_state.c.version), 0).label("version"))
)
_BUMP = update(_state).where(_state.c.id == bindparam("row")).values(version=_state.c.version + 1)


def catalog_changed(session) -> None:
    """The session's transaction changes what the storefront shows."""
    session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump_version(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.pop(_CHANGED, False):
        return
    row = random.randint(1, ROWS)
    if session.execute(_BUMP, {"row": row}).rowcount == 0:
        insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(_state)
            .values(id=row, version=1)
            .on_conflict_do_update(
                index_elements=[_state.c.id], set_={"version": _state.c.version + 1}
            )
        )


@event.listens_for(Session, "after_transaction_end")
def _forget_mark(session: Session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_CHANGED, None)
