"""The hot paths beside the ceiling: each product figure over a bare Sanic figure of one run."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bench import cpu
from bench.context import SECRET, Context
from bench.generate import fill_shop
from bench.load import run_load
from bench.results import LoadResult
from bench.traffic import NOTIFICATIONS, check_reservations, get, guest_order, load_client, table
from db.models import Variation
from helpers.tokens import issue_token
from services.staff_users import create_or_reset_admin

CONCURRENCY = 16
# Beside the targets: the full catalogue as browsers ask for it.
GZIPPED = "GET /goods/all (full, Accept-Encoding: gzip)"
ORDERS_ROUTE = "POST /orders (2 lines, guest, notified)"
PAGE_ROUTE = "GET /goods/all?page=1&count=20"
FULL_ROUTE = "GET /goods/all (full)"
GOODS, VARIATIONS_PER_GOOD, CUSTOMERS, ORDERS = 500, 4, 1000, 1000
STOCK = 100_000


@dataclass(frozen=True)
class Route:
    name: str
    on_ceiling: bool
    make_request: Callable[[int], dict]
    variants: int = 1
    read: bool = True


@dataclass(frozen=True)
class Target:
    figure: str
    reference: str
    share: float


TARGETS = (
    Target("GET /", "hello world (ceiling)", 0.70),
    Target("GET /variations/<id>", "select 1 (ceiling)", 0.50),
    Target("GET /goods/<id> (staff token)", "select 1 (ceiling)", 0.50),
    Target("GET /categories/all (30)", "select 1 (ceiling)", 0.50),
    Target("GET /customers/<id> (staff token)", "select 1 (ceiling)", 0.50),
    Target(PAGE_ROUTE, "GET /", 0.70),
    Target(FULL_ROUTE, "GET /", 0.30),
    Target(ORDERS_ROUTE, "select 1 (ceiling)", 0.25),
)


def routes(token: str, prices: dict[int, int]) -> list[Route]:
    staff = {"Authorization": token}
    ids = sorted(prices)

    def by_id(path: str, count: int, headers: dict | None = None):
        return lambda i: get(f"{path}/{1 + i % count}", headers)(i)

    def order(index: int) -> dict:
        first, second = ids[index % len(ids)], ids[(index * 7 + 3) % len(ids)]
        return guest_order(index, "7914", [(vid, prices[vid]) for vid in {first, second}])

    return [
        Route("hello world (ceiling)", True, get("/")),
        Route("select 1 (ceiling)", True, get("/select1")),
        Route("GET /", False, get("/")),
        Route("GET /variations/<id>", False, by_id("/variations", len(ids)), len(ids)),
        Route("GET /goods/<id> (staff token)", False, by_id("/goods", GOODS, staff), GOODS),
        Route("GET /categories/all (30)", False, get("/categories/all")),
        Route(
            "GET /customers/<id> (staff token)",
            False,
            by_id("/customers", CUSTOMERS, staff),
            CUSTOMERS,
        ),
        Route(PAGE_ROUTE, False, get("/goods/all?page=1&count=20")),
        Route(FULL_ROUTE, False, get("/goods/all")),
        Route(GZIPPED, False, get("/goods/all", {"Accept-Encoding": "gzip"})),
        Route(ORDERS_ROUTE, False, order, 400, read=False),
    ]


def median_run(runs: list[LoadResult]) -> LoadResult:
    return sorted(runs, key=lambda run: run.rps)[len(runs) // 2]


def figures(targets, runs: dict[str, list[LoadResult]], medians, reads: set[str]) -> list[str]:
    """Each ratio is taken within a round (product and reference measured minutes apart at
    most) and the median of the rounds' ratios is reported, so a slow spell of the shared
    machine in one round does not skew it."""
    lines = [
        "| figure | product / reference, each round | median ratio | target | met |",
        "|---|---|---|---|---|",
    ]
    for target in targets:
        pairs = list(zip(runs[target.figure], runs[target.reference], strict=True))
        ratios = sorted(p.rps / r.rps if r.rps else 0.0 for p, r in pairs)
        ratio = statistics.median(ratios)
        rounds = ", ".join(f"{p.rps:,.0f} / {r.rps:,.0f}" for p, r in pairs)
        lines.append(
            f"| {target.figure} | {rounds} ({target.reference}) | {ratio:.2f} | "
            f">= {target.share:.2f} | {'yes' if ratio >= target.share else 'NO'} |"
        )
    gzipped = statistics.median(
        p.rps / r.rps if r.rps else 0.0 for p, r in zip(runs[GZIPPED], runs["GET /"], strict=True)
    )
    lines += ["", f"Beside the targets: {GZIPPED} / GET / = {gzipped:.2f} (median of the rounds)."]
    lines += ["", "| read | p50 ms | p99 ms | p99 / p50 (target <= 4) |", "|---|---|---|---|"]
    for name in sorted(reads):
        run = medians[name]
        p50, p99 = run.percentile(0.5), run.percentile(0.99)
        lines.append(f"| {name} | {p50:.2f} | {p99:.2f} | {p99 / p50 if p50 else 0:.1f} |")
    return lines


async def measure(ctx: Context, route: Route) -> LoadResult:
    base_url = ctx.ceiling_url if route.on_ceiling else ctx.base_url
    return await run_load(
        base_url, route.name, route.make_request, CONCURRENCY, ctx.seconds, variants=route.variants
    )


async def cpu_costs(ctx: Context, plan: list[Route]) -> list[str]:
    """One more run of the ceiling's `select 1`, a page of 20, the full catalogue and checkout,
    with the CPU each request took on the server, in the load generator and in the rest of the
    machine (PostgreSQL, and the kernel's work for the load generator's sockets)."""
    if not cpu.available():
        return []
    lines = [
        "CPU per request, one more run of each (milliseconds; the machine's cores would all be "
        "busy at the last column's rate):",
        "",
        "| route | requests/s | server | load generator | rest (PostgreSQL) | all | cores full |",
        "|---|---|---|---|---|---|---|",
    ]
    cores = os.cpu_count() or 1
    measured = {}
    for route in plan:
        if route.name not in ("select 1 (ceiling)", PAGE_ROUTE, FULL_ROUTE, ORDERS_ROUTE):
            continue
        process = ctx.ceiling_process if route.on_ceiling else ctx.process
        before = cpu.sample(process.pid)
        run = await measure(ctx, route)
        cost = cpu.cost(before, cpu.sample(process.pid), run.requests)
        measured[route.name] = run.rps
        lines.append(
            f"| {route.name} | {run.rps:,.0f} | {cost.server_ms:.3f} | {cost.load_ms:.3f} | "
            f"{cost.rest_ms:.3f} | {cost.total_ms:.3f} | {cost.bound_rps(cores):,.0f}/s |"
        )
    ceiling = measured.get("select 1 (ceiling)")
    if ceiling:
        budget = cores * 1000 / (0.25 * ceiling)
        lines += [
            "",
            f"At 0.25 of the ceiling's rate the {cores} cores leave an order {budget:.2f} ms of "
            "CPU in all (server, PostgreSQL and load generator together).",
        ]
    return lines


async def hotpaths(ctx: Context) -> str:
    data = await fill_shop(
        ctx.db,
        goods=GOODS,
        variations_per_good=VARIATIONS_PER_GOOD,
        categories=30,
        customers=CUSTOMERS,
        orders=ORDERS,
        stock=STOCK,
    )
    async with ctx.db.begin() as session:
        user, _ = await create_or_reset_admin(session, 4, "bench", "x", "B", "B")
        prices = dict((await session.execute(select(Variation.id, Variation.price))).all())
    token = issue_token(SECRET, "admin", user.id, 60, user.token_version)
    await ctx.start_ceiling()
    # The production log level: every request writes its JSON access log line.
    await ctx.start_server(LOG_LEVEL="info", **NOTIFICATIONS)
    plan = routes(token, prices)
    runs: dict[str, list[LoadResult]] = {route.name: [] for route in plan}
    for _ in range(ctx.rounds):
        for route in plan:
            runs[route.name].append(await measure(ctx, route))
    costs = await cpu_costs(ctx, plan)
    ctx.stop_server()
    ctx.stop_ceiling()
    check = await check_reservations(ctx.db, STOCK, after_order_id=ORDERS)
    medians = {name: median_run(results) for name, results in runs.items()}
    reads = {route.name for route in plan if route.read and not route.on_ceiling}
    rps = {name: [f"{run.rps:,.0f}" for run in results] for name, results in runs.items()}
    return (
        f"Data: {data}, stock {STOCK:,} a variation. One worker each (the product and "
        f"`bench/ceiling.py`, a bare Sanic app of the same version with `select 1` over an "
        f"asyncpg pool), {CONCURRENCY} connections, {load_client()}, {ctx.seconds:.0f} s per "
        f"route, {ctx.rounds} interleaved rounds; the median round of each route in the "
        f"first table.\n\n"
        f"{table(medians.values())}\n\n"
        + "\n".join(figures(TARGETS, runs, medians, reads))
        + "\n\nRequests/s of every round: "
        + "; ".join(f"{name} {', '.join(values)}" for name, values in rps.items())
        + ".\n\n"
        + "\n".join(costs)
        + f"\n\nPOST /orders: {check.orders} orders, {check.reserved} units reserved; "
        f"reserved = ordered units and stock untouched for every variation: {check.verdict()}."
    )
