"""JSON log configuration; every line of a request carries its request id."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import random
import sys
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


ACCESS_LOGGER = "shop.access"
# Access log entries not written yet (AccessLog); any other line writes them first, in order.
_pending_entries: list[tuple[float, str, str, str, int, float, str]] = []
BATCH_LINES = 256


def write_pending_lines() -> None:
    if _pending_entries:
        lines = [_access_line(*entry) for entry in _pending_entries]
        _pending_entries.clear()
        sys.stdout.write("".join(lines))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        write_pending_lines()
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


def log_config(level: str = "INFO") -> dict[str, Any]:
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stdout",
    }
    logger = {"level": level.upper(), "handlers": ["console"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {
                "()": JsonFormatter,
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {"console": handler},
        "loggers": {
            "sanic.root": logger,
            "sanic.error": logger,
            "sanic.server": logger,
            "sanic.access": {**logger, "level": "WARNING"},
            "shop": logger,
        },
        "root": {"level": "WARNING", "handlers": ["console"]},
    }


def new_request_id() -> str:
    """A random (version 4) UUID; request ids need no cryptographic randomness."""
    value = random.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)
    text = f"{value | (0x4000 << 64) | (0x8000 << 48):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class AccessLog:
    """One JSON line per request, like every other log line, at a small part of its cost.

    The logging module spends more on a record (a record object, filters, the JSON formatter,
    a flush of stdout for every line) than the framework spends on a short request, and an
    unbuffered stdout (PYTHONUNBUFFERED, as in containers) costs a system call a line. A
    request only leaves its entry here; the entries become lines together, written every
    BATCH_LINES entries or within a second (and at exit), and a line logged otherwise writes
    them first, so the order holds.
    """

    def __init__(self, logger_name: str = ACCESS_LOGGER):
        self.logger = logging.getLogger(logger_name)
        self._flush_due = False

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(
        self,
        request_id: str,
        method: str,
        route: str,
        status: int,
        seconds: float,
        message: str = "request",
    ) -> None:
        """`request_id` holds only the safe characters start_request lets through."""
        _pending_entries.append((time.time(), request_id, method, route, status, seconds, message))
        if len(_pending_entries) >= BATCH_LINES:
            write_pending_lines()
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_later(1.0, self.flush)

    def flush(self) -> None:
        self._flush_due = False
        write_pending_lines()
        sys.stdout.flush()


# Methods, route templates and messages repeat: each is written as JSON once.
_json_text = functools.lru_cache(maxsize=1024)(json.dumps)
_stamp_second = -1
_stamp = ""


def _access_line(
    now: float, request_id: str, method: str, route: str, status: int, seconds: float, message: str
) -> str:
    global _stamp_second, _stamp
    second = int(now)
    if second != _stamp_second:
        _stamp_second = second
        _stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
    return (
        f'{{"time":"{_stamp},{int((now - second) * 1000):03d}","level":"INFO",'
        f'"logger":"{ACCESS_LOGGER}","message":{_json_text(message)},'
        f'"method":{_json_text(method)},"route":{_json_text(route)},'
        f'"status":{status},"duration_ms":{seconds * 1000:.2f},"request_id":"{request_id}"}}\n'
    )
