"""What a phase of the service benchmark cost: the server's CPU (user and kernel),
redis-server's, this process's and the whole machine's over the phase (``measured``), as
shares of a core and per contact (``phase_cpu``); and latency percentiles."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.service_load_processes import HttpProcess


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(samples: list[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in milliseconds of samples in seconds."""
    ordered = sorted(samples)
    out = {f"p{p:g}": percentile(ordered, p) * 1e3 for p in (50, 90, 99, 99.9)}
    out["max"] = (ordered[-1] if ordered else 0.0) * 1e3
    return {k: round(v, 3) for k, v in out.items()}


@dataclass(slots=True)
class Phase:
    server_cpu: float
    server_sys: float  # the part of server_cpu spent in the kernel (sockets, mostly)
    client_cpu: float
    machine_cpu: float  # every process on the machine, the two above included
    wall: float
    redis_cpu: float = 0.0  # redis-server (Redis mode), also in machine_cpu
    started_at: float = 0.0  # wall clock (time.time()), to place the server's log lines


def machine_busy_s() -> float:
    """CPU seconds all CPUs have been busy since boot (``/proc/stat``), to tell whether
    something besides the server and this client was running."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    return 0.0


@contextlib.contextmanager
def measured(server: HttpProcess, into: dict[str, Phase], name: str) -> Iterator[None]:
    (user0, sys0), own0, all0 = server.cpu_s(), time.process_time(), machine_busy_s()
    redis0 = server.redis_cpu_s()
    wall0, started_at = time.perf_counter(), time.time()
    try:
        yield
    finally:
        user1, sys1 = server.cpu_s()
        into[name] = Phase(
            user1 - user0 + sys1 - sys0,
            sys1 - sys0,
            time.process_time() - own0,
            machine_busy_s() - all0,
            time.perf_counter() - wall0,
            server.redis_cpu_s() - redis0,
            started_at,
        )


def phase_cpu(phase: Phase, contacts: int) -> dict[str, float]:
    return {
        "started_at": phase.started_at,
        "wall_s": round(phase.wall, 3),
        "server_cpu_s": round(phase.server_cpu, 3),
        "server_sys_share": round(phase.server_sys / phase.server_cpu, 3)
        if phase.server_cpu
        else 0.0,
        "server_core_share": round(phase.server_cpu / phase.wall, 3) if phase.wall else 0.0,
        "server_cpu_us_per_contact": round(phase.server_cpu / contacts * 1e6, 1)
        if contacts
        else 0.0,
        "client_cpu_s": round(phase.client_cpu, 3),
        "client_core_share": round(phase.client_cpu / phase.wall, 3) if phase.wall else 0.0,
        "redis_cpu_s": round(phase.redis_cpu, 3),
        "redis_core_share": round(phase.redis_cpu / phase.wall, 3) if phase.wall else 0.0,
        # CPU used by none of them (other processes, kernel work not charged to any): a
        # figure above a few percent of a core means the run shared the machine.
        "other_core_share": round(
            max(0.0, phase.machine_cpu - phase.server_cpu - phase.client_cpu - phase.redis_cpu)
            / phase.wall,
            3,
        )
        if phase.wall
        else 0.0,
    }
