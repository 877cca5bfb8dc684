"""Instructions per phone webhook, the service against the bare aiohttp handler, counted
by valgrind: a figure a shared host does not move, for before/after work on the request
path (``benchmarks.service_floor`` gives the CPU time, which it does move).

``python -m benchmarks.service_floor_instructions [--calls N]``. Each server in turn
(``yhteys serve`` in memory mode on the generated region with no agent logged in, so
every call queues; then ``benchmarks.bare_aiohttp``) runs under ``valgrind
--tool=callgrind --instr-atstart=no``: start-up and a warm-up of ``WARMUP_CALLS``
webhooks are not counted; ``callgrind_control -i on`` before the ``N`` counted webhooks
(the lean client, 64 in flight, the same bytes to both) and ``-i off`` after. The
server's user-space instructions in between (its event loop's idle turns included, the
kernel's socket work not) over the answers are its instructions per webhook. Both run
with ``PYTHONHASHSEED=0``. Without valgrind on the PATH the module says so and exits 0.
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
from benchmarks.service_load_calls import surge_lean
from benchmarks.service_load_processes import HOST, ROOT, ServerProcess, free_port, log

WARMUP_CALLS = 300
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


async def _count(port: int, pid: int, token: str, calls: int, wait_ready: Any) -> int:
    async with aiohttp.ClientSession() as http:
        await wait_ready(http)
    await surge_lean(port, token, "iw", WARMUP_CALLS, 64)
    await asyncio.to_thread(_control, "--instr=on", pid)
    figures, actions = await surge_lean(port, token, "ic", calls, 64)
    await asyncio.to_thread(_control, "--instr=off", pid)
    log(f"  {figures['answered']} answered {dict(actions)} in {figures['elapsed_s']:.1f} s")
    answered: int = figures["answered"]
    return answered


def _totals(out: Path) -> int:
    return sum(
        int(m.group(1))
        for path in out.parent.glob(out.name + "*")
        for m in [_TOTALS.search(path.read_text(errors="replace"))]
        if m is not None
    )


def side(name: str, calls: int, tmp: Path) -> dict[str, Any]:
    tmp.mkdir()
    region = write_region(tmp, 1)
    out = tmp / f"{name}.callgrind"
    grind = _Grinding()
    port = free_port()
    log(f"{name} under callgrind on port {port}")
    if name == "service":
        server: Any = ServerProcess(region.path, port, tmp / f"{name}.log")
        args = ["-m", "router.cli", "serve", "--config", str(region.path), "--host", HOST]
        args += ["--port", str(port), "--log-format", "json"]

        async def ready(http: aiohttp.ClientSession) -> float:
            waited: float = await server.wait_ready(http, READY_TIMEOUT_S)
            return waited
    else:
        server = BareServer(port)
        args = ["-m", "benchmarks.bare_aiohttp", "--port", str(port)]

        async def ready(http: aiohttp.ClientSession) -> float:
            waited: float = await server.wait_ready(http, READY_TIMEOUT_S)
            return waited

    server.proc = grind.popen(args, out, tmp / f"{name}.log")
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            answered = runner.run(
                asyncio.wait_for(
                    _count(port, server.proc.pid, region.phone_token, calls, ready), 170
                )
            )
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
    args = p.parse_args(argv)
    if not 1 <= args.calls <= 20_000:
        raise SystemExit("--calls must be 1..20000")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("service_floor_instructions: valgrind is not on the PATH; skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="yhteys-grind-") as tmp:
        service = side("service", args.calls, Path(tmp) / "service")
        if args.service_only:
            print(f"service {service['per_call']:,} instructions per webhook")
            return 0
        bare = side("bare", args.calls, Path(tmp) / "bare")
    ratio = service["per_call"] / bare["per_call"] if bare["per_call"] else 0.0
    print(
        f"== Instructions per webhook (callgrind, {args.calls} counted after {WARMUP_CALLS}, "
        "every call queued, no agent logged in)\n"
        f"  service {service['per_call']:,} ({service['instructions']:,} over "
        f"{service['answered']:,})   bare {bare['per_call']:,} ({bare['instructions']:,} over "
        f"{bare['answered']:,})   ratio {ratio:.2f} (target ≤ 1.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
