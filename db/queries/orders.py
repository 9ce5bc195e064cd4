"""Order conditions: the staff search over order numbers and the buyer's contacts."""

from __future__ import annotations

import re

from sqlalchemy import false, or_

from db.models import Order
from db.queries.matching import contains_text, escape_like

PHONE_PUNCTUATION = re.compile(r"[\s()+\-]")
LARGEST_ID = 2**31 - 1
# Fewer digits than this are an order number, not a part of a phone number.
PHONE_PART_DIGITS = 5


def order_search(text: str):
    """An order number or phone digits, else a part of the buyer's name or email."""
    digits = PHONE_PUNCTUATION.sub("", text)
    if digits.isascii() and digits.isdigit():
        matches = []
        if len(digits) >= PHONE_PART_DIGITS:
            matches.append(Order.contact_phone_number.like(f"%{escape_like(digits)}%", escape="\\"))
        if int(digits) <= LARGEST_ID:
            matches.append(Order.id == int(digits))
        return or_(*matches) if matches else false()
    columns = (
        Order.contact_first_name,
        Order.contact_second_name,
        Order.contact_last_name,
        Order.contact_email,
    )
    return or_(*contains_text(columns, text))
