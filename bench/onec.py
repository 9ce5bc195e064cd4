"""1C orders exchange benchmark: `query` of 1,000 pending orders and their `success`."""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import httpx
from sqlalchemy import func, insert, select, update

from bench.context import Context
from bench.generate import analyze, fill_shop
from db.models import Order, OrderLine, Variation

ORDERS = 1000
EXTRA_LINES = 2
RUNS = 5
LOGIN, PASSWORD = "bench-1c", "bench-1c-password"


async def _orders_in_progress(db) -> int:
    """Two more lines per generated order and their units reserved, as checkout leaves them."""
    async with db.begin() as session:
        variations = await session.scalar(select(func.count()).select_from(Variation))
        rows = [
            {
                "order_id": order_id,
                "variation_id": 1 + (order_id * 7 + extra * 13) % variations,
                "amount": 1 + extra,
                "current_price": 1990,
            }
            for order_id in range(1, ORDERS + 1)
            for extra in range(EXTRA_LINES)
        ]
        await session.execute(insert(OrderLine), rows)
        await session.execute(update(Order).values(reservation="active"))
        reserved = (
            select(func.sum(OrderLine.amount))
            .where(OrderLine.variation_id == Variation.id)
            .scalar_subquery()
        )
        await session.execute(update(Variation).values(reserved=func.coalesce(reserved, 0)))
    await analyze(db)
    return len(rows) + ORDERS


async def onec_orders(ctx: Context) -> str:
    data = await fill_shop(ctx.db, goods=500, customers=1000, orders=ORDERS)
    lines = await _orders_in_progress(ctx.db)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        await ctx.start_server(ONEC_LOGIN=LOGIN, ONEC_PASSWORD=PASSWORD, ONEC_EXCHANGE_DIR=folder)
        async with httpx.AsyncClient(base_url=ctx.base_url, timeout=120) as client:
            params = {"type": "sale", "mode": "checkauth"}
            answer = await client.get("/1c_exchange", params=params, auth=(LOGIN, PASSWORD))
            _status, name, value = answer.text.split("\n")
            cookies = {name: value}
            timings, size = [], 0
            for _ in range(RUNS):
                started = time.perf_counter()
                document = await client.get(
                    "/1c_exchange", params={"type": "sale", "mode": "query"}, cookies=cookies
                )
                timings.append(time.perf_counter() - started)
                size = len(document.content)
            assert document.content.count("<Документ>".encode()) == ORDERS
            started = time.perf_counter()
            success = await client.get(
                "/1c_exchange", params={"type": "sale", "mode": "success"}, cookies=cookies
            )
            success_s = time.perf_counter() - started
            assert success.text == "success"
    return (
        f"Data: {data}; {ORDERS} pending orders with {lines} lines in all (3 goods and the "
        f"delivery each), their units reserved. One worker; the server is its own process; "
        f"load average {load:.1f} when the run began (2 cores shared with other work).\n\n"
        "| call | result |\n|---|---|\n"
        f"| `mode=query`, {ORDERS} orders ({size / 1024:.0f} KiB of XML) | "
        f"p50 {statistics.median(timings):.2f} s, max {max(timings):.2f} s over {RUNS} runs "
        f"(target < 2 s) |\n"
        f"| `mode=success` (exported_at and reservations consumed) | {success_s:.2f} s |"
    )
