"""Work tied to a session's transaction: run after it commits, or after it ends without committing.

Outside effects (files, alerts) must follow the data: a file published or an alert sent for a
transaction that then rolls back would describe something that never happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("shop.after_commit")

_ON_COMMIT = "after_commit_callbacks"
_ON_ROLLBACK = "after_rollback_callbacks"


def on_commit(session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's outermost transaction has committed."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def on_rollback(session, callback: Callable[[], None]) -> None:
    """Run `callback` when the outermost transaction ends without a commit."""
    session.info.setdefault(_ON_ROLLBACK, []).append(callback)


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-transaction work failed")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_ON_COMMIT, []))


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    session.info.pop(_ON_COMMIT, None)
    _run(session.info.pop(_ON_ROLLBACK, []))
