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

# Distinct query strings whose parsed filters a worker keeps.
FILTER_ENTRIES = 1024
# Storefront pages a worker keeps: the whole catalogue of 500 goods is about 1.3 MB with its
# gzipped copy, a page of 20 about 50 KB.
PAGE_BYTES = 64 * 1024 * 1024
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
    """Values (response bodies, pages), each kept with the catalogue version it was built at
    and given out only at that version; the least recently used leave first once their
    `size`s add up to more than `max_bytes`."""

    def __init__(self, max_bytes: int, size: Callable[[Any], int] = len) -> None:
        self.max_bytes = max_bytes
        self._size = size
        self._held = 0
        self._values: OrderedDict[Any, tuple[int, Any, int]] = OrderedDict()

    def get(self, key: Any, version: int) -> Any:
        entry = self._values.get(key)
        if entry is None or entry[0] != version:
            return None
        self._values.move_to_end(key)
        return entry[1]

    def put(self, key: Any, version: int, value: Any) -> None:
        replaced = self._values.pop(key, None)
        if replaced is not None:
            self._held -= replaced[2]
        size = self._size(value)
        self._values[key] = (version, value, size)
        self._held += size
        while self._held > self.max_bytes and self._values:
            _, (_, _, dropped) = self._values.popitem(last=False)
            self._held -= dropped

    def clear(self) -> None:
        self._values.clear()
        self._held = 0


def _page_size(page: CachedPage) -> int:
    return len(page.body) + len(page.gzip_body or b"")


class CatalogCache:
    def __init__(self) -> None:
        self.pages = VersionedBodies(PAGE_BYTES, _page_size)
        self._filters: dict[str, dict] = {}
        self._building: dict[tuple, asyncio.Future] = {}
        self._version_read: SharedRead | None = None
        self.good_details = VersionedBodies(GOOD_DETAILS_BYTES)

    def clear(self) -> None:
        """Forget every page and body (the tests empty the tables, which takes the version
        back)."""
        self.pages.clear()
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
            if len(self._filters) >= FILTER_ENTRIES:
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
            page = self.pages.get(key, version)
            if page is not None:
                return page
            building = self._building.get(key)
            if building is None:
                break
            await asyncio.shield(building)
        building = self._building[key] = asyncio.get_running_loop().create_future()
        building.add_done_callback(_retrieve)
        try:
            page = await build()
            self.pages.put(key, version, page)
            building.set_result(None)
        except BaseException as exc:
            building.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            raise
        finally:
            del self._building[key]
        return page
