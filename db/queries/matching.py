"""Text matching shared by the searches: LIKE patterns that take `%` and `_` literally."""

from __future__ import annotations

from sqlalchemy import func


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_text(columns, text: str) -> list:
    """One case-insensitive substring condition per column."""
    pattern = f"%{escape_like(text.lower())}%"
    return [func.lower(column).like(pattern, escape="\\") for column in columns]
