"""Staff alerts to the errors chat: 5xx responses and other cases staff must see; rate-limited.

Sent from an in-process queue, not the database outbox, so a database outage can be reported.
An alert about data a transaction writes is queued by that transaction's after-commit work
(db/after_commit.py); a 5xx alert is raised after its request's transaction has rolled back.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time

log = logging.getLogger("shop.alerts")

# A quoted value is masked to its closing quote; a bare one with its scheme (Bearer ...).
SECRET_KEYS = re.compile(
    r"(password|passwd|token|secret|authorization|api_key|checksum)(['\"]?\s*[:=]\s*)"
    r"(?:(['\"])(?:\\.|(?!\3).)*\3?|(?:(?:bearer|token|basic)\s+)?[^\s'\",;&]+)",
    re.IGNORECASE,
)
SAME_ALERT_EVERY_S = 300
HOURLY_LIMIT = 20


def redact(text: str) -> str:
    def mask(match: re.Match) -> str:
        quote = match.group(3) or ""
        return f"{match.group(1)}{match.group(2)}{quote}***{quote}"

    return SECRET_KEYS.sub(mask, text)


class AlertQueue:
    def __init__(self, send=None, clock=time.monotonic):
        self._send = send
        self._clock = clock
        self._last_by_key: dict = {}
        self._sent_times: list[float] = []
        self._suppressed = 0
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
        self._task: asyncio.Task | None = None

    def server_error(self, status, method, route, request_id, exc) -> None:
        message = redact(str(exc))[:300]
        self.alert(
            f"<b>Ошибка {status}</b> {html.escape(method)} {html.escape(route)}\n"
            f"request_id: {html.escape(str(request_id))}\n"
            f"{type(exc).__name__}: {html.escape(message)}",
            key=(route, type(exc).__name__),
        )

    def alert(self, text: str, key) -> None:
        now = self._clock()
        self._sent_times = [t for t in self._sent_times if now - t < 3600]
        last = self._last_by_key.get(key)
        if (last is not None and now - last < SAME_ALERT_EVERY_S) or len(
            self._sent_times
        ) >= HOURLY_LIMIT:
            self._suppressed += 1
            return
        self._last_by_key[key] = now
        self._sent_times.append(now)
        if self._suppressed:
            text += f"\n(пропущено оповещений: {self._suppressed})"
            self._suppressed = 0
        log.warning("alert: %s", redact(text))
        if self._send is None:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self._suppressed += 1

    def start(self) -> None:
        if self._send is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while True:
            text = await self._queue.get()
            for attempt in range(3):
                try:
                    await self._send(text)
                    break
                except Exception as exc:
                    log.warning("alert not sent (%s), attempt %s", type(exc).__name__, attempt)
                    await asyncio.sleep(getattr(exc, "retry_after", 5 * 2**attempt))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
