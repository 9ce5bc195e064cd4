"""The one timestamp format of the API: ISO 8601 in UTC with a Z suffix and microseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
