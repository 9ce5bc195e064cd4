"""Where a request's CPU goes: the server process, the load generator, the rest of the machine.

Read from /proc (Linux): the server's own user and system time, the load generator's (a child
of the bench, reaped after each run), and the whole machine's busy time, whose remainder is
PostgreSQL's on a machine kept quiet for the run. Their sum per request bounds the requests per
second the machine's cores can give, whatever the code waits on.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    server_s: float
    load_s: float
    machine_s: float


@dataclass(frozen=True)
class CpuCost:
    """Milliseconds of CPU per request."""

    server_ms: float
    load_ms: float
    rest_ms: float

    @property
    def total_ms(self) -> float:
        return self.server_ms + self.load_ms + self.rest_ms

    def bound_rps(self, cores: int) -> float:
        """The requests per second at which the machine's cores would all be busy."""
        return cores * 1000 / self.total_ms if self.total_ms else 0.0


def available() -> bool:
    return Path("/proc/stat").exists()


def sample(server_pid: int) -> CpuSample:
    fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are the 14th and 15th fields of the line, the 12th and 13th after ")".
    server = (int(fields[11]) + int(fields[12])) * TICK_S
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    # user, nice, system, irq, softirq, steal: time the cores were busy.
    busy = sum(int(cpu[index]) for index in (1, 2, 3, 6, 7, 8)) * TICK_S
    return CpuSample(server, children.ru_utime + children.ru_stime, busy)


def cost(before: CpuSample, after: CpuSample, requests: int) -> CpuCost:
    if not requests:
        return CpuCost(0.0, 0.0, 0.0)
    server = after.server_s - before.server_s
    load = after.load_s - before.load_s
    rest = max(after.machine_s - before.machine_s - server - load, 0.0)
    return CpuCost(*(1000 * value / requests for value in (server, load, rest)))
