"""Run benchmark scenarios against a real server process and write bench/RESULTS.md.

python -m bench.run                 # every scenario
python -m bench.run --scenario catalog --scenario orders
python -m bench.run --list
python -m bench.run --scenario hotpaths --seconds 3 --rounds 1   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

from bench.context import ROOT, Context, create_database, database_version, drop_database, machine
from bench.scenarios import SCENARIOS
from db.engine import Database

RESULTS = ROOT / "bench" / "RESULTS.md"


def write_section(name: str, body: str) -> None:
    start, end = f"<!-- scenario:{name} -->", f"<!-- /scenario:{name} -->"
    current = (
        RESULTS.read_text()
        if RESULTS.exists()
        else (
            "# Benchmark results\n\nWritten by `make bench` (`python -m bench.run`). "
            "Each section is replaced when its scenario runs again.\n"
        )
    )
    section = f"{start}\n{body.strip()}\n{end}"
    if start in current:
        current = re.sub(
            re.escape(start) + r".*?" + re.escape(end), lambda _: section, current, flags=re.S
        )
    else:
        current = current.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(current)


async def run_scenario(name: str, seconds: float, rounds: int) -> None:
    scenario = SCENARIOS[name]
    url = await create_database()
    db = Database(url, pool_size=4)
    context = Context(url, db, seconds=seconds, rounds=rounds)
    try:
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        body = await scenario(context)
        header = (
            f"## {name}\n\nCommand: `python -m bench.run --scenario {name}` ({started})  \n"
            f"Machine: {machine()}; {await database_version(db)}\n\n"
        )
        write_section(name, header + body)
        print(header + body)
    finally:
        context.stop_server()
        await db.dispose()
        await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description="Vinterr backend benchmarks")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--seconds", type=float, default=3.0, help="per route (hotpaths, scale)")
    # Short interleaved rounds: on a shared machine the speed drifts within minutes, and a
    # ratio taken within each round, then the median of the rounds, follows it.
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (hotpaths)")
    args = parser.parse_args()
    if args.list:
        print("\n".join(sorted(SCENARIOS)))
        return
    for name in args.scenario or list(SCENARIOS):
        asyncio.run(run_scenario(name, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
