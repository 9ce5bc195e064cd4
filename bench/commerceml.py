"""Benchmark of the 1C CommerceML import: a generated catalogue imported from the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.context import ROOT, Context
from bench.generate import ONEC_RETAIL, ONEC_SALE, write_commerceml
from db.models import Structure, Variation


def import_commerceml(env: dict, *files: Path) -> tuple[float, int, str]:
    """`main.py import-commerceml FILE...` as support would run it: seconds, peak RSS (KiB)
    of that process alone, and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "main.py", "import-commerceml", *map(str, files)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    assert process.returncode == 0, output
    return seconds, usage.ru_maxrss, output


async def commerceml(ctx: Context) -> str:
    async with ctx.db.begin() as session:
        session.add(Structure(id=1, name="Хлопок 95%, эластан 5%"))
    env = {
        "DATABASE_URL": ctx.database_url,
        "AUTO_MIGRATE": "false",
        "ONEC_PRICE_TYPE_ID": ONEC_RETAIL,
        "ONEC_SALE_PRICE_TYPE_ID": ONEC_SALE,
        "ONEC_DEFAULT_STRUCTURE_ID": "1",
    }
    with tempfile.TemporaryDirectory() as folder:
        sizes = write_commerceml(folder, goods=10_000, offers_per_good=5, changes=1_000)
        tiny = Path(folder, "tiny")
        tiny.mkdir()
        write_commerceml(tiny, goods=1, offers_per_good=1, changes=1)
        _, baseline, _ = await asyncio.to_thread(import_commerceml, env, tiny / "changes.xml")
        files = (Path(folder, "import.xml"), Path(folder, "offers.xml"))
        full, peak, output = await asyncio.to_thread(import_commerceml, env, *files)
        changes = [
            (await asyncio.to_thread(import_commerceml, env, Path(folder, "changes.xml")))[0]
            for _ in range(3)
        ]
    async with ctx.db.session() as session:
        variations = await session.scalar(select(func.count()).select_from(Variation))
    summary = [line for line in output.splitlines() if "imported" in line]
    megabytes = sum(sizes.values()) / 1e6
    return (
        f"Data: a generated 1C catalogue of 10,000 goods x 5 offers (two price types, two "
        f"warehouses): import.xml {sizes['import.xml'] / 1e6:.1f} MB + offers.xml "
        f"{sizes['offers.xml'] / 1e6:.1f} MB = {megabytes:.0f} MB, into an empty shop; "
        f"{variations:,} variations after it. Each import is `python main.py import-commerceml` "
        f"(a new process: start-up included), one transaction per file.\n\n"
        + "\n".join(f"    {line}" for line in summary)
        + f"\n\n| run | seconds |\n|---|---|\n| import.xml + offers.xml | {full:.1f} |\n"
        + "\n".join(
            f"| changes-only package of 1,000 offers, run {i + 1} | {t:.2f} |"
            for i, t in enumerate(changes)
        )
        + f"\n\n- Full import: {full:.1f} s (target < 60 s); peak RSS {peak / 1024:.0f} MiB, "
        f"{(peak - baseline) / 1024:.0f} MiB above the same command on a one-offer file "
        f"(target < 150 MB).\n"
        f"- Changes-only package of 1,000 offers (new prices and stock): {changes[0]:.2f} s "
        f"(target < 3 s); the same package again, when nothing changes: "
        f"{min(changes[1:]):.2f} s."
    )
