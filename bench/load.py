"""A small async load runner: N concurrent connections, requests/s and latency percentiles."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import httpx

from bench import wrk
from bench.results import HEADER, LoadResult

__all__ = ["HEADER", "LoadResult", "run_load"]


async def run_load(
    base_url: str,
    name: str,
    make_request: Callable[[int], dict],
    concurrency: int = 16,
    duration_s: float = 10.0,
    max_requests: int | None = None,
    variants: int = 1,
) -> LoadResult:
    """`make_request(i)` returns httpx.request kwargs (method, url, headers, json...).

    With wrk installed (and no request cap) wrk generates the load, cycling through the
    first `variants` requests; otherwise this async Python client does, which on a small
    machine measures the client more than the server.
    """
    if wrk.available() and max_requests is None:
        requests = [make_request(index) for index in range(variants)]
        return await wrk.run_wrk(base_url, name, requests, concurrency, duration_s)
    latencies: list[float] = []
    statuses: Counter = Counter()
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def worker() -> None:
            while time.perf_counter() < deadline:
                index = next(counter)
                if max_requests is not None and index >= max_requests:
                    return
                begin = time.perf_counter()
                response = await client.request(**make_request(index))
                latencies.append(time.perf_counter() - begin)
                statuses[response.status_code] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(name, len(latencies), elapsed, latencies, statuses)
