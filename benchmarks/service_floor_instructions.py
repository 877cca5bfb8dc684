"""Instructions per phone webhook, or per call's whole lifecycle, the service against the
bare aiohttp server, counted by valgrind: a figure a shared host does not move, for
before/after work on the request path (``benchmarks.service_floor`` gives the CPU time,
which it does move).

``python -m benchmarks.service_floor_instructions [--calls N] [--lifecycle]``. Each server in turn
(``yhteys serve`` in memory mode on the generated region with no agent logged in, so
every call queues; then ``benchmarks.bare_aiohttp``) runs under ``valgrind
--tool=callgrind --instr-atstart=no``: start-up and a warm-up of ``WARMUP_CALLS``
webhooks are not counted; ``callgrind_control -i on`` before the ``N`` counted webhooks
(the lean client, 64 in flight, the same bytes to both) and ``-i off`` after. The
server's user-space instructions in between (its event loop's idle turns included, the
kernel's socket work not) over the answers are its instructions per webhook. Both run
with ``PYTHONHASHSEED=0``. Without valgrind on the PATH the module says so and exits 0.

With ``--lifecycle``, ``LIFECYCLE_AGENTS`` agents log in over websockets first and accept
and complete every call (``benchmarks/service_load_agents.py``); the count runs from
before the ``N`` webhooks until the agents have completed every call offered, and is
divided by the calls completed: instructions per call's lifecycle (a webhook, the offer,
the accept, the completion and the frames each sends).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bare_aiohttp import BareServer
from benchmarks.load_region import write_region
from benchmarks.service_load import _loop_factory
from benchmarks.service_load_agents import Agents
from benchmarks.service_load_calls import surge_lean
from benchmarks.service_load_processes import (
    HOST,
    ROOT,
    HttpProcess,
    ServerProcess,
    free_port,
    log,
)

WARMUP_CALLS = 300
LIFECYCLE_AGENTS = 100
# How long the agents may take to complete what they were offered, under valgrind or
# cProfile (several times slower than when measured by time).
SLOWED_DRAIN_S = 120.0
READY_TIMEOUT_S = 120.0  # start-up under valgrind is several times slower
_TOTALS = re.compile(r"^totals:\s*(\d+)", re.MULTILINE)


def _callgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


class _Grinding:
    """Starts a server's command under callgrind, with ``PYTHONHASHSEED=0``."""

    def popen(self, args: list[str], out: Path, log_path: Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        with log_path.open("wb") as sink:
            return subprocess.Popen(
                [*_callgrind(out), sys.executable, *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )


def _control(flag: str, pid: int) -> None:
    subprocess.run(
        ["callgrind_control", flag, str(pid)], capture_output=True, timeout=60, check=True
    )


async def _count(server: HttpProcess, region: Any, calls: int, lifecycle: bool) -> int:
    """Counts ``calls`` webhooks (or lifecycles); returns how many were answered (or
    completed)."""
    port, pid, token = server.port, server.pid, region.phone_token
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as ws_session,
        aiohttp.ClientSession() as http,
    ):
        await server.wait_ready(http, READY_TIMEOUT_S)
        agents = Agents(ws_session, port, region.agent_tokens) if lifecycle else None
        try:
            if agents is not None:
                await agents.log_in()
            await surge_lean(port, token, "iw", WARMUP_CALLS, 64)
            if agents is not None and not await agents.wait_idle(WARMUP_CALLS, SLOWED_DRAIN_S):
                raise RuntimeError("the warm-up's calls were not all completed")
            closed0 = agents.closed if agents is not None else 0
            await asyncio.to_thread(_control, "--instr=on", pid)
            figures, actions = await surge_lean(port, token, "ic", calls, 64)
            if agents is not None:  # every call, queued ones too, offered and completed
                await agents.wait_idle(closed0 + figures["answered"], SLOWED_DRAIN_S)
            await asyncio.to_thread(_control, "--instr=off", pid)
        finally:
            if agents is not None:
                await agents.close()
    log(f"  {figures['answered']} answered {dict(actions)} in {figures['elapsed_s']:.1f} s")
    if agents is None:
        answered: int = figures["answered"]
        return answered
    log(f"  {agents.closed - closed0} completed by the agents")
    return agents.closed - closed0


def _totals(out: Path) -> int:
    return sum(
        int(m.group(1))
        for path in out.parent.glob(out.name + "*")
        for m in [_TOTALS.search(path.read_text(errors="replace"))]
        if m is not None
    )


def side(name: str, calls: int, tmp: Path, lifecycle: bool = False) -> dict[str, Any]:
    tmp.mkdir()
    region = write_region(tmp, LIFECYCLE_AGENTS if lifecycle else 1)
    out = tmp / f"{name}.callgrind"
    port = free_port()
    log(f"{name} under callgrind on port {port}")
    if name == "service":
        server: ServerProcess | BareServer = ServerProcess(region.path, port, tmp / "log")
        args = ["-m", "router.cli", "serve", "--config", str(region.path), "--host", HOST]
        args += ["--port", str(port), "--log-format", "json"]
    else:
        server = BareServer(port)
        args = ["-m", "benchmarks.bare_aiohttp", "--port", str(port)]
    server.proc = _Grinding().popen(args, out, tmp / f"{name}.log")
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            answered = runner.run(asyncio.wait_for(_count(server, region, calls, lifecycle), 300))
    finally:
        server.stop()
    total = _totals(out)
    return {
        "answered": answered,
        "instructions": total,
        "per_call": round(total / answered) if answered else 0,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.service_floor_instructions")
    p.add_argument("--calls", type=int, default=1_000, help="counted webhooks a side (1000)")
    p.add_argument(
        "--service-only", action="store_true", help="count the service alone (before/after)"
    )
    p.add_argument(
        "--lifecycle",
        action="store_true",
        help=f"count whole lifecycles, {LIFECYCLE_AGENTS} agents accepting and completing",
    )
    args = p.parse_args(argv)
    if not 1 <= args.calls <= 20_000:
        raise SystemExit("--calls must be 1..20000")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("service_floor_instructions: valgrind is not on the PATH; skipped")
        return 0
    what = "call's lifecycle" if args.lifecycle else "webhook"
    with tempfile.TemporaryDirectory(prefix="yhteys-grind-") as tmp:
        service = side("service", args.calls, Path(tmp) / "service", args.lifecycle)
        if args.service_only:
            print(f"service {service['per_call']:,} instructions per {what}")
            return 0
        bare = side("bare", args.calls, Path(tmp) / "bare", args.lifecycle)
    ratio = service["per_call"] / bare["per_call"] if bare["per_call"] else 0.0
    how = (
        f"{LIFECYCLE_AGENTS} agents accept and complete every call"
        if args.lifecycle
        else "every call queued, no agent logged in"
    )
    print(
        f"== Instructions per {what} (callgrind, {args.calls} counted after "
        f"{WARMUP_CALLS}, {how})\n"
        f"  service {service['per_call']:,} ({service['instructions']:,} over "
        f"{service['answered']:,})   bare {bare['per_call']:,} ({bare['instructions']:,} over "
        f"{bare['answered']:,})   ratio {ratio:.2f} (target ≤ 1.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
