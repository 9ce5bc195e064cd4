"""What the auth check reads of a token's subject: one prepared read per kind of caller."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from db.models import ApiClient, Customer, StaffUser
from db.prepared import PreparedRead

_staff = StaffUser.__table__
_customers = Customer.__table__
_clients = ApiClient.__table__

STAFF_SUBJECT = PreparedRead(
    select(_staff.c.id, _staff.c.token_version, _staff.c.created_at).where(
        _staff.c.id == bindparam("id")
    )
)
CUSTOMER_SUBJECT = PreparedRead(
    select(
        _customers.c.id, _customers.c.token_version, _customers.c.status, _customers.c.created_at
    ).where(_customers.c.id == bindparam("id"))
)
CLIENT_SUBJECT = PreparedRead(
    select(_clients.c.id, _clients.c.is_active, _clients.c.is_admin, _clients.c.created_at).where(
        _clients.c.id == bindparam("id")
    )
)
