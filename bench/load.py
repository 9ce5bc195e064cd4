"""A small async load runner: N concurrent connections, requests/s and latency percentiles."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadResult:
    name: str
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    statuses: Counter
    fixed_percentiles: dict | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if self.fixed_percentiles is not None:
            return self.fixed_percentiles[share]
        if self.fixed_percentiles is not None:
            return self.fixed_percentiles[share]
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def row(self) -> str:
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        return (
            f"| {self.name} | {self.requests} | {self.rps:,.0f} | {self.percentile(0.5):.1f}"
            f" | {self.percentile(0.99):.1f} | {codes} |"
        )


HEADER = "| route | requests | requests/s | p50 ms | p99 ms | statuses |\n|---|---|---|---|---|---|"


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
    from bench import wrk

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
