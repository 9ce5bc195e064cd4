"""Rate-limit counters (moving windows of the `limits` library) in Redis, shared by every worker
and host, or in this process; while Redis is unreachable requests pass unlimited (fail open)."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from helpers import metrics

log = logging.getLogger("shop.rate_limits")

# After a failed call Redis is left alone this long: a dead server costs one timeout per pause
# and worker, not one per request.
PAUSE_AFTER_ERROR_S = 1.0
# While Redis stays unreachable, one log line per this many seconds (with the count of errors).
LOG_EVERY_S = 60.0
FAILURES = (RedisError, StorageError, OSError, TimeoutError)


class RateLimits:
    """Named limits of `amount` hits per `seconds`, each counted per key (a tuple of strings)."""

    def __init__(
        self,
        rules: dict[str, tuple[int, int]],
        redis_url: str = "",
        key_prefix: str = "vinterr:limits",
        timeout_s: float = 0.5,
    ):
        self.rules: dict[str, RateLimitItem] = {
            name: RateLimitItemPerSecond(amount, seconds, namespace=name)
            for name, (amount, seconds) in rules.items()
        }
        self.backend = "redis" if redis_url else "memory"
        self._pool: ConnectionPool | None = None
        if redis_url:
            # One immediate retry replaces a connection a Redis restart has closed; no more,
            # so a dead server answers within about two timeouts.
            self._pool = ConnectionPool.from_url(
                redis_url,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 1),
            )
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                connection_pool=self._pool,
            )
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._window = MovingWindowRateLimiter(storage)
        self._paused_until = 0.0
        self._failing = False
        self._logged_at = -math.inf
        self._errors_not_logged = 0

    async def hit(self, name: str, *key: str) -> int | None:
        """Counts one hit; when the key is already at its limit, counts nothing and returns the
        seconds until a hit is allowed again."""
        return await self._ask(self._window.hit, name, key)

    async def retry_after(self, name: str, *key: str) -> int | None:
        """The seconds to wait when the key is at its limit, else None; counts nothing."""
        return await self._ask(self._window.test, name, key)

    async def _ask(self, allowed, name: str, key: tuple[str, ...]) -> int | None:
        """None when `allowed` lets the key through, or while the backend is out (fail open)."""
        if time.monotonic() < self._paused_until:
            return None
        limit = self.rules[name]
        try:
            if await allowed(limit, *key):
                self._answered()
                return None
            return await self._retry_after(limit, key)
        except FAILURES as exc:
            self._failed(exc)
            return None

    async def _retry_after(self, limit: RateLimitItem, key: tuple[str, ...]) -> int:
        reset_at, _remaining = await self._window.get_window_stats(limit, *key)
        self._answered()
        return max(1, math.ceil(reset_at - time.time()))

    def _answered(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("rate limits enforced again: Redis answers")

    def _failed(self, exc: Exception) -> None:
        metrics.rate_limit_backend_errors_total.inc()
        now = time.monotonic()
        self._paused_until = now + PAUSE_AFTER_ERROR_S
        self._failing = True
        self._errors_not_logged += 1
        if now - self._logged_at >= LOG_EVERY_S:
            log.warning(
                "rate limits not enforced: Redis unreachable (%s), %d failed calls since the "
                "last report",
                type(exc).__name__,
                self._errors_not_logged,
            )
            self._logged_at = now
            self._errors_not_logged = 0

    async def state(self) -> str:
        """`disabled` without Redis, else whether it answers now (`ok` or `error`)."""
        if self._pool is None:
            return "disabled"
        if time.monotonic() < self._paused_until:
            return "error"
        return "ok" if await self._storage.check() else "error"

    async def reset(self) -> None:
        """Forgets every count of the in-process storage (tests)."""
        if self._pool is None:
            await self._storage.reset()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
