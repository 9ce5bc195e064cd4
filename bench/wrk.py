"""Load generation with wrk (Debian package `wrk`): a Lua script cycles through given requests."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from collections import Counter

from bench.results import LoadResult

LUA = """
local requests = {%s}
local index = 0
request = function()
  index = index %% #requests + 1
  local r = requests[index]
  return wrk.format(r[1], r[2], r[3], r[4])
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _lua_request(request: dict) -> str:
    headers = dict(request.get("headers") or {})
    body = request.get("json")
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body, ensure_ascii=False)
    header_pairs = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    body_text = _lua_string(body) if body is not None else "nil"
    return (
        f"{{{_lua_string(request['method'])}, {_lua_string(request['url'])}, "
        f"{{{header_pairs}}}, {body_text}}}"
    )


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(name: str, output: str, seconds: float) -> LoadResult:
    total = int(re.search(r"(\d+) requests in", output).group(1))
    latencies = {}
    for share, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        latencies[share] = _milliseconds(value, unit)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    statuses = Counter(
        {"2xx/3xx": total - errors, "other": errors} if errors else {"2xx/3xx": total}
    )
    result = LoadResult(name, total, seconds, [], statuses)
    result.fixed_percentiles = {0.5: latencies.get("50", 0.0), 0.99: latencies.get("99", 0.0)}
    return result


async def run_wrk(
    base_url: str, name: str, requests: list[dict], concurrency: int, duration_s: float
) -> LoadResult:
    script = LUA % ", ".join(_lua_request(request) for request in requests)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{int(duration_s)}s",
        "--latency",
        "-s",
        handle.name,
        base_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(stderr.decode())
    return parse_wrk(name, stdout.decode(), duration_s)
