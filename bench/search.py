"""Storefront search benchmark: `GET /goods/all` with `q` over a catalogue of 10,000 goods."""

from __future__ import annotations

import random
import statistics
import time

import httpx

from bench.context import Context
from bench.generate import KINDS, analyze, fill_shop

GOODS = 10_000
QUERIES_PER_KIND = 60
# Each kind in the plural or another case than the goods' names use.
OTHER_FORMS = ["платья", "блузки", "юбки", "жакеты", "брюк", "кардиганы", "пальто", "сарафаны"]


def _queries(rng: random.Random) -> dict[str, list[str]]:
    """Distinct queries only: each one misses the catalogue cache, so the search itself runs."""
    models = rng.sample(range(1, GOODS + 1), QUERIES_PER_KIND)
    return {
        "one good by name (`модель 1234`)": [f"модель {n}&page=1" for n in models],
        "one good by article (`VN-01234`)": [
            f"VN-{n:05d}&page=1" for n in rng.sample(range(1, GOODS + 1), QUERIES_PER_KIND)
        ],
        # Stemming finds the name's word; page N among the ~1,250 goods of a kind.
        "a kind in another word form (`платья`), page N": [
            f"{OTHER_FORMS[i % len(KINDS)]}&page={1 + i // len(KINDS)}"
            for i in range(QUERIES_PER_KIND)
        ],
        "nothing found": [f"шуба{n}&page=1" for n in range(QUERIES_PER_KIND)],
    }


async def search(ctx: Context) -> str:
    data = await fill_shop(ctx.db, goods=GOODS, variations_per_good=2, images_per_variation=1)
    await analyze(ctx.db)
    await ctx.start_server()
    rows = []
    async with httpx.AsyncClient(base_url=ctx.base_url, timeout=30) as client:
        await client.get("/goods/all?page=1&count=20")
        for kind, queries in _queries(random.Random(11)).items():
            timings, found = [], []
            for query in queries:
                started = time.perf_counter()
                response = await client.get(f"/goods/all?count=20&q={query}")
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
                found.append(int(response.headers["x-total-count"]))
            timings.sort()
            rows.append(
                f"| {kind} | {len(queries)} | {statistics.median(found):.0f} | "
                f"{statistics.median(timings):.1f} | {timings[int(len(timings) * 0.95) - 1]:.1f} |"
            )
    return (
        f"Data: {data}. One worker; each query sent once, one at a time, over HTTP (so every "
        "request misses the page cache and runs the search), 20 goods a page.\n\n"
        "| queries | count | median matches | p50 ms | p95 ms |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nTarget: p50 under 30 ms for each kind of query (PostgreSQL full-text search with "
        "Russian stemming over a GIN index)."
    )
