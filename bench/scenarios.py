"""Benchmark scenarios: each fills its own database, starts the server and returns Markdown."""

from __future__ import annotations

import io
import statistics
import time

import httpx
from openpyxl import Workbook
from sqlalchemy import func, select

from api.goods import StorefrontGoodSchema
from bench.commerceml import commerceml
from bench.context import SECRET, Context
from bench.generate import fill_events, fill_shop
from bench.hotpaths import hotpaths, median_run
from bench.load import run_load
from bench.onec import onec_orders
from bench.search import search
from bench.traffic import (
    NOTIFICATIONS,
    check_reservations,
    get,
    guest_order,
    load_client,
    table,
)
from db.models import Order, Variation
from helpers.tokens import issue_token
from services.catalog import build_storefront
from services.staff_users import create_or_reset_admin
from transport.http import renderer

CONCURRENCY = 16
DURATION_S = 8.0


async def foundation(ctx: Context) -> str:
    data = await fill_shop(ctx.db, goods=50, customers=1000, orders=100)
    async with ctx.db.begin() as session:
        user, _ = await create_or_reset_admin(session, 12, "bench", "bench-password", "B", "B")
    token = issue_token(SECRET, "admin", user.id, 60, user.token_version)
    await ctx.start_server()
    login = {"login": "bench", "password": "bench-password"}
    results = [
        await run_load(ctx.base_url, "GET /", get("/"), CONCURRENCY, DURATION_S),
        await run_load(
            ctx.base_url, "GET /categories/all", get("/categories/all"), CONCURRENCY, DURATION_S
        ),
        await run_load(
            ctx.base_url,
            "GET /customers/<id> (staff token)",
            lambda i: {
                "method": "GET",
                "url": f"/customers/{1 + i % 1000}",
                "headers": {"Authorization": token},
            },
            CONCURRENCY,
            DURATION_S,
        ),
        await run_load(
            ctx.base_url,
            "POST /users/auth (bcrypt cost 12)",
            lambda _i: {"method": "POST", "url": "/users/auth", "json": login},
            CONCURRENCY,
            DURATION_S,
        ),
    ]
    return (
        f"Data: {data}. One worker, {CONCURRENCY} connections, {DURATION_S:.0f} s per "
        f"route, {load_client()} on the same machine.\n\n{table(results)}"
    )


async def catalog(ctx: Context) -> str:
    data = await fill_shop(ctx.db, goods=500, variations_per_good=4, images_per_variation=2)
    timings = []
    render = renderer(StorefrontGoodSchema, many=True)
    async with ctx.db.session() as session:
        for _ in range(21):
            started = time.perf_counter()
            items, _ = await build_storefront(session, {})
            render(items)
            timings.append((time.perf_counter() - started) * 1000)
    await ctx.start_server()
    async with httpx.AsyncClient(base_url=ctx.base_url) as client:
        etag = (await client.get("/goods/all")).headers["etag"]
    results = [
        await run_load(ctx.base_url, "GET /", get("/"), CONCURRENCY, DURATION_S),
        await run_load(
            ctx.base_url, "GET /goods/all (full)", get("/goods/all"), CONCURRENCY, DURATION_S
        ),
        await run_load(
            ctx.base_url,
            "GET /goods/all?page=1&count=20",
            get("/goods/all?page=1&count=20"),
            CONCURRENCY,
            DURATION_S,
        ),
        await run_load(
            ctx.base_url,
            "GET /goods/all If-None-Match (304)",
            get("/goods/all", {"If-None-Match": etag}),
            CONCURRENCY,
            DURATION_S,
        ),
        await run_load(
            ctx.base_url,
            "GET /variations/<id>",
            lambda i: {"method": "GET", "url": f"/variations/{1 + i % 2000}"},
            CONCURRENCY,
            DURATION_S,
        ),
    ]
    hello, _, page = results[0], results[1], results[2]
    return (
        f"Data: {data}. One worker, {CONCURRENCY} connections, {DURATION_S:.0f} s per route.\n\n"
        f"{table(results)}\n\n"
        f"- Full catalogue ({len(items)} goods) built from the database and dumped, no cache: "
        f"p50 {statistics.median(timings):.1f} ms over 21 builds (target < 50 ms).\n"
        f"- Page of 20 vs `GET /`: {page.rps / hello.rps * 100:.0f}% (target >= 50%)."
    )


def remains_workbook(codes: list[str]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Остатки на складах"])
    sheet.append(["Номенклатура", "Характеристика.Код", "Итого по всем складам"])
    sheet.append([None, None, "шт."])
    for index, code in enumerate(codes):
        sheet.append([f"Товар {index}", code, index % 17])
    sheet.append(["Итого", None, 0])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


async def uploads(ctx: Context) -> str:
    data = await fill_shop(
        ctx.db, goods=12_500, variations_per_good=4, images_per_variation=0, customers=10, orders=10
    )
    async with ctx.db.begin() as session:
        user, _ = await create_or_reset_admin(session, 4, "bench", "x", "B", "B")
        codes = list(await session.scalars(select(Variation.variation_1c_id)))
    token = issue_token(SECRET, "admin", user.id, 60, user.token_version)
    content = remains_workbook(codes)
    await ctx.start_server()
    timings = []
    async with httpx.AsyncClient(base_url=ctx.base_url, timeout=300) as client:
        for _ in range(3):
            started = time.perf_counter()
            response = await client.post(
                "/variations/update_remains",
                files={"file": ("remains.xlsx", content)},
                headers={"Authorization": token},
            )
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    body = response.json()
    return (
        f"Data: {data}; report of {len(codes):,} rows ({len(content) / 1024:.0f} KiB).\n\n"
        f"| run | seconds |\n|---|---|\n"
        + "\n".join(f"| {i + 1} | {t:.2f} |" for i, t in enumerate(timings))
        + f"\n\nLast answer: updated {body['updated']}, zeroed {body['zeroed']}, unknown "
        f"{body['unknown_codes']}. Target: under 10 s."
    )


async def orders(ctx: Context) -> str:
    stock = 1000
    data = await fill_shop(
        ctx.db,
        goods=5,
        variations_per_good=4,
        images_per_variation=1,
        customers=10,
        orders=0,
        stock=stock,
    )
    async with ctx.db.session() as session:
        prices = dict((await session.execute(select(Variation.id, Variation.price))).all())
    await ctx.start_server()
    ids = sorted(prices)

    def order(index: int) -> dict:
        vid = ids[index % len(ids)]
        return guest_order(index, "7912", [(vid, prices[vid])])

    result = await run_load(ctx.base_url, "POST /orders", order, CONCURRENCY, 15.0, variants=400)
    ctx.stop_server()
    async with ctx.db.session() as session:
        created_plain = await session.scalar(select(func.count()).select_from(Order))
    await ctx.start_server(**NOTIFICATIONS)
    notified = await run_load(
        ctx.base_url,
        "POST /orders, notifications on",
        order,
        CONCURRENCY,
        15.0,
        variants=400,
    )
    ctx.stop_server()
    check = await check_reservations(ctx.db, stock)
    return (
        f"Data: {data}; {len(ids)} variations x {stock} units; each order buys one unit, "
        f"400 distinct guest buyers. One worker, {CONCURRENCY} concurrent clients "
        f"({load_client()}), 15 s per run. The second run queues the Telegram message and two "
        f"emails of every order in the outbox (the dispatcher runs elsewhere, as in production)."
        f"\n\n{table([result, notified])}\n\n"
        f"- Orders created: {created_plain} = {created_plain / result.seconds:,.0f} orders/s "
        f"(target >= 200); with notifications {check.orders - created_plain} = "
        f"{(check.orders - created_plain) / notified.seconds:,.0f} orders/s.\n"
        f"- For every variation, reserved units = units in its order lines, and reserved + "
        f"remaining = initial stock ({stock}), never above it: "
        f"{check.verdict() if check.reserved == check.orders else 'FAILED'} "
        f"({check.reserved} units reserved by {check.orders} one-unit orders)."
    )


async def events(ctx: Context) -> str:
    await fill_shop(ctx.db, goods=5, customers=5000, orders=0)
    started = time.perf_counter()
    await fill_events(ctx.db, 1_000_000, 5000)
    filled = time.perf_counter() - started
    async with ctx.db.begin() as session:
        user, _ = await create_or_reset_admin(session, 4, "bench", "x", "B", "B")
    token = issue_token(SECRET, "admin", user.id, 60, user.token_version)
    headers = {"Authorization": token}
    batch = [
        {"type": "page.view", "customer_id": 1 + i % 5000, "data": {"path": "/catalog"}}
        for i in range(500)
    ]

    def post_batch(_index: int) -> dict:
        return {
            "method": "POST",
            "url": "/events/batch",
            "json": {"events": batch},
            "headers": headers,
        }

    await ctx.start_server()
    stats = [
        await run_load(ctx.base_url, f"GET {path}", get(path, headers), 1, DURATION_S)
        for path in (
            "/events/stats/page.view/daily",
            "/events/stats/page.view/per_customer",
            "/events/stats/daily",
        )
    ]
    one_worker = await run_load(
        ctx.base_url, "POST /events/batch (500 events)", post_batch, 8, DURATION_S
    )
    return (
        f"Data: 1,000,000 events over 90 days, 5,000 customers (filled in {filled:.1f} s, then "
        f"VACUUM ANALYZE). Statistics: one worker, one connection (latency); ingestion: 8 "
        f"connections.\n\n{table([*stats, one_worker])}\n\n"
        f"- Ingestion: {one_worker.rps * 500:,.0f} events/s with one worker "
        f"(target >= 20,000).\n"
        f"- Statistics p50: "
        + ", ".join(f"{s.name} {s.percentile(0.5):.0f} ms" for s in stats)
        + " (target < 200 ms each)."
    )


async def scale(ctx: Context) -> str:
    stock = 100_000
    data = await fill_shop(
        ctx.db, goods=500, variations_per_good=4, images_per_variation=1, customers=10, stock=stock
    )
    async with ctx.db.session() as session:
        prices = dict((await session.execute(select(Variation.id, Variation.price))).all())
    ids = sorted(prices)

    def order(index: int) -> dict:
        first, second = ids[index % len(ids)], ids[(index * 7 + 3) % len(ids)]
        return guest_order(index, "7913", [(vid, prices[vid]) for vid in {first, second}])

    # Both servers run side by side on the one database; each round measures each route on
    # one worker, then on two, so every ratio is taken within minutes on the shared machine.
    await ctx.start_server(workers=1, **NOTIFICATIONS)
    servers = {1: ctx.base_url, 2: await ctx.start_other_server(workers=2, **NOTIFICATIONS)}
    plan = (
        ("GET /goods/all?page=1&count=20", get("/goods/all?page=1&count=20"), 1),
        ("POST /orders", order, 400),
    )
    runs: dict[tuple[str, int], list] = {(name, w): [] for name, _, _ in plan for w in servers}
    for _ in range(ctx.rounds):
        for name, make_request, variants in plan:
            for workers, base_url in servers.items():
                runs[name, workers].append(
                    await run_load(
                        base_url,
                        f"{name}, WORKERS={workers}",
                        make_request,
                        CONCURRENCY,
                        ctx.seconds,
                        variants=variants,
                    )
                )
    ctx.stop_server()
    lines = []
    for name, _, _ in plan:
        pairs = list(zip(runs[name, 2], runs[name, 1], strict=True))
        ratio = statistics.median(two.rps / one.rps for two, one in pairs if one.rps)
        rounds = ", ".join(f"{two.rps:,.0f} / {one.rps:,.0f}" for two, one in pairs)
        lines.append(f"- {name}: WORKERS=2 / WORKERS=1 = {ratio:.2f}x (each round: {rounds}).")
    medians = [median_run(runs[key]) for key in runs]
    return (
        f"Data: {data}; each order buys one unit of two variations (or one), 400 distinct guest "
        f"buyers, notifications queued in the outbox. {CONCURRENCY} connections "
        f"({load_client()}), {ctx.seconds:.0f} s per route and worker count, {ctx.rounds} "
        f"interleaved rounds with both servers up; the median round of each in the table, the "
        f"median of the rounds' ratios below.\n\n{table(medians)}\n\n" + "\n".join(lines)
    )


SCENARIOS = {
    "foundation": foundation,
    "catalog": catalog,
    "uploads": uploads,
    "orders": orders,
    "events": events,
    "scale": scale,
    "hotpaths": hotpaths,
    "commerceml": commerceml,
    "onec_orders": onec_orders,
    "search": search,
}
