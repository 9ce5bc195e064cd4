"""Customer reads: the profile of one customer in one prepared statement."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from db.models import Customer
from db.prepared import PreparedRead

_customers = Customer.__table__
# Everything but the secrets (password hash, token version) and the import bookkeeping.
PROFILE_COLUMNS = tuple(
    column
    for column in _customers.c
    if column.name not in {"password_hash", "token_version", "phone_raw", "legacy_id"}
)

CUSTOMER_PROFILE = PreparedRead(select(*PROFILE_COLUMNS).where(_customers.c.id == bindparam("id")))
