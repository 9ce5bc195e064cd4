"""JSON log configuration; every line of a request carries its request id."""

from __future__ import annotations

import asyncio
import contextvars
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


# Access log lines not written yet (AccessLog); any other line writes them first, in order.
_pending_lines: list[str] = []
BATCH_LINES = 256


def write_pending_lines() -> None:
    if _pending_lines:
        batch = "".join(_pending_lines)
        _pending_lines.clear()
        sys.stdout.write(batch)


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
    unbuffered stdout (PYTHONUNBUFFERED, as in containers) costs a system call a line. The
    line is built here directly and kept with others: they are written together, every
    BATCH_LINES lines or within a second (and at exit); a line logged otherwise writes them
    first, so the order holds.
    """

    def __init__(self, logger_name: str = "shop.access"):
        self.logger = logging.getLogger(logger_name)
        self.name = json.dumps(logger_name)
        self._second = -1
        self._stamp = ""
        self._flush_due = False

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def _time(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{int((now - second) * 1000):03d}"

    def write(
        self,
        request_id: str,
        method: str,
        route: str,
        status: int,
        seconds: float,
        message: str = "request",
    ) -> None:
        _pending_lines.append(
            f'{{"time":"{self._time(time.time())}","level":"INFO","logger":{self.name},'
            f'"message":{json.dumps(message)},"method":{json.dumps(method)},'
            f'"route":{json.dumps(route)},'
            f'"status":{status},"duration_ms":{seconds * 1000:.2f},'
            f'"request_id":{json.dumps(request_id)}}}\n'
        )
        if len(_pending_lines) >= BATCH_LINES:
            write_pending_lines()
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_later(1.0, self.flush)

    def flush(self) -> None:
        self._flush_due = False
        write_pending_lines()
        sys.stdout.flush()
