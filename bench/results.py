"""One load run's figures: requests, requests per second, latency percentiles, statuses."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


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
