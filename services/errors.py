"""Domain errors raised by services; transport/errors.py alone maps them to HTTP."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import IntegrityError

_UNIQUE_NAME = re.compile(r'unique constraint "([^"]+)"|UNIQUE constraint failed: ([\w., ]+)')


class DomainError(Exception):
    """Base class: a message from the contract and optional extra keys for the error body."""

    status = 400

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra


class ValidationFailed(DomainError):
    """Input that passed the schema but broke a rule tied to a field (400 with `fields`)."""

    def __init__(self, fields: dict[str, list[str]], message: str = "Validation error"):
        super().__init__(message)
        self.fields = fields


class RuleViolation(DomainError):
    """A business rule refused the request (400 without `fields`)."""

    status = 400


class NulCharacter(RuleViolation):
    """Text with a NUL character, which no text column can store."""

    def __init__(self):
        super().__init__("Text must not contain NUL characters")


class ExchangeFileInvalid(RuleViolation):
    """A 1C exchange file that cannot be imported: not XML, hostile, truncated, malformed."""


class ExchangeSettingMissing(RuleViolation):
    """A 1C exchange file needs an ONEC_* setting that is unset or names nothing."""


class ImportFailed(ExchangeFileInvalid):
    """A background import of a 1C file ended in failure (its log row says so already)."""


class Unauthorized(DomainError):
    status = 401

    def __init__(self, message: str = "Unauthorized", **extra: Any):
        super().__init__(message, **extra)


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str = "Forbidden", **extra: Any):
        super().__init__(message, **extra)


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """Unique value taken, state conflict, price changed, already paid, still in use."""

    status = 409


class AlreadyExists(Conflict):
    pass


class TooLarge(DomainError):
    status = 413


class Unprocessable(DomainError):
    """The two social-link rules of the contract (422 with `fields`)."""

    status = 422

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.fields = {field: [message]}


class TooManyRequests(DomainError):
    status = 429

    def __init__(self, retry_after: int):
        super().__init__("Too many requests", retry_after=retry_after)
        self.retry_after = retry_after


class BadGateway(DomainError):
    """The payment gateway or the legacy database is unreachable or answered nonsense."""

    status = 502


class ServiceUnavailable(DomainError):
    """A dependency or a piece of configuration is missing."""

    status = 503


def violated_unique(error: IntegrityError) -> str:
    """The index (PostgreSQL) or columns (SQLite) a unique violation names; "" for other errors."""
    match = _UNIQUE_NAME.search(str(error.orig))
    return next(filter(None, match.groups()), "") if match else ""
