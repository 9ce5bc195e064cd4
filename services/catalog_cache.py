"""The storefront pages and the goods' details one worker has built, kept per catalogue version.

Each request reads the catalogue's version (db/catalog_version.py) before it is answered from
the cache, so no worker or host serves a page older than a committed change. The reads are
shared: requests arriving while one is in flight wait for the next, which starts after they
arrived, so a busy worker pays one round trip per round trip's worth of requests.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

CACHE_ENTRIES = 256
# Goods' details a worker keeps: a few kilobytes each, so thousands of goods.
GOOD_DETAILS_BYTES = 16 * 1024 * 1024


@dataclass
class CachedPage:
    version: int
    body: bytes
    etag: str
    total: int
    # The body gzipped, for clients that accept it (None for a body too small to gain).
    gzip_body: bytes | None = None

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gzip"'


class SharedRead:
    """`await read()` on behalf of every caller waiting at the time, each given a value read
    after it called."""

    def __init__(self, read: Callable[[], Awaitable[Any]]):
        self._read = read
        self._waiting: list[asyncio.Future] = []
        self._running = False
        self._task: asyncio.Task | None = None

    async def __call__(self) -> Any:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiting.append(waiter)
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._run())
        return await waiter

    async def _run(self) -> None:
        waiting: list[asyncio.Future] = []
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                try:
                    value = await self._read()
                except Exception as exc:
                    _settle(waiting, exc)
                else:
                    for waiter in waiting:
                        if not waiter.done():
                            waiter.set_result(value)
        except BaseException:
            _settle(waiting + self._waiting, RuntimeError("shared read stopped"))
            self._waiting = []
            raise
        finally:
            self._running = False


def _settle(waiting: list[asyncio.Future], exc: Exception) -> None:
    for waiter in waiting:
        if not waiter.done():
            waiter.set_exception(exc)


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


class VersionedBodies:
    """Response bodies, each kept with the catalogue version it was built at and given out only
    at that version; the least recently used leave first once they hold `max_bytes` in all."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._held = 0
        self._bodies: OrderedDict[Any, tuple[int, bytes]] = OrderedDict()

    def get(self, key: Any, version: int) -> bytes | None:
        entry = self._bodies.get(key)
        if entry is None or entry[0] != version:
            return None
        self._bodies.move_to_end(key)
        return entry[1]

    def put(self, key: Any, version: int, body: bytes) -> None:
        replaced = self._bodies.pop(key, None)
        if replaced is not None:
            self._held -= len(replaced[1])
        self._bodies[key] = (version, body)
        self._held += len(body)
        while self._held > self.max_bytes and self._bodies:
            _, (_, dropped) = self._bodies.popitem(last=False)
            self._held -= len(dropped)

    def clear(self) -> None:
        self._bodies.clear()
        self._held = 0


class CatalogCache:
    def __init__(self) -> None:
        self._pages: OrderedDict[tuple, CachedPage] = OrderedDict()
        self._filters: dict[str, dict] = {}
        self._building: dict[tuple, asyncio.Future] = {}
        self._version_read: SharedRead | None = None
        self.good_details = VersionedBodies(GOOD_DETAILS_BYTES)

    def clear(self) -> None:
        """Forget every page and body (the tests empty the tables, which takes the version
        back)."""
        self._pages.clear()
        self.good_details.clear()

    async def version(self, read: Callable[[], Awaitable[int]]) -> int:
        if self._version_read is None:
            self._version_read = SharedRead(read)
        return await self._version_read()

    def filters_of(self, query_string: str, parse: Callable[[], dict]) -> dict:
        """The filters of a query string, parsed once per distinct string."""
        filters = self._filters.get(query_string)
        if filters is None:
            filters = parse()
            if len(self._filters) >= CACHE_ENTRIES * 4:
                self._filters.clear()
            self._filters[query_string] = filters
        return filters

    async def page(
        self, key: tuple, version: int, build: Callable[[], Awaitable[CachedPage]]
    ) -> CachedPage:
        """The page built at `version`; one build at a time for each key.

        Only an equal version counts: a database restored from a backup goes back in versions.
        """
        while True:
            page = self._pages.get(key)
            if page is not None and page.version == version:
                self._pages.move_to_end(key)
                return page
            building = self._building.get(key)
            if building is None:
                break
            await asyncio.shield(building)
        building = self._building[key] = asyncio.get_running_loop().create_future()
        building.add_done_callback(_retrieve)
        try:
            page = await build()
            self._put(key, page)
            building.set_result(None)
        except BaseException as exc:
            building.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            raise
        finally:
            del self._building[key]
        return page

    def _put(self, key: tuple, page: CachedPage) -> None:
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > CACHE_ENTRIES:
            self._pages.popitem(last=False)
