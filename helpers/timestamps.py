"""The one timestamp format of the API: ISO 8601 in UTC with a Z suffix and microseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def format_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.%fZ")


def within_days(column, first_day: date | None, last_day: date | None) -> list:
    """Conditions keeping `column` within inclusive UTC calendar days; None leaves a side open."""
    conditions = []
    if first_day is not None:
        conditions.append(column >= datetime.combine(first_day, time.min, tzinfo=UTC))
    if last_day is not None and last_day < date.max:
        next_day = last_day + timedelta(days=1)
        conditions.append(column < datetime.combine(next_day, time.min, tzinfo=UTC))
    return conditions
