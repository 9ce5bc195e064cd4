"""Phone and email normalisation shared by customers, orders, registration and the import."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_NON_DIGITS = re.compile(r"[^0-9]")


def normalize_phone(raw: str) -> str | None:
    """Digits only, a leading 8 of an 11-digit number becomes 7; None when not 11-15 digits."""
    digits = _NON_DIGITS.sub("", raw)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    if not 11 <= len(digits) <= 15:
        return None
    return digits


def normalize_email(raw: str) -> str | None:
    """Trimmed and lower-cased address, or None when it is not a valid address."""
    value = raw.strip().lower()
    if not value or len(value) > 254:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return value
