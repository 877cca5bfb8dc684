"""Where the service's time per phone webhook goes: the server under cProfile, a surge of
webhooks that all queue, the profile's own time (``tottime``) summed by area of code.

``python -m benchmarks.service_floor_profile [--calls N] [--lifecycle]``. No agent logs
in, so every call queues (the request path and one routing attempt, as in the webhook
rounds of ``benchmarks.service_floor``); with ``--lifecycle``, ``LIFECYCLE_AGENTS``
agents on websockets accept and complete every call, as in its lifecycle rounds. The
profile runs from the server's start to its stop, on its CPU clock (``ProfiledServer``);
what only starting does (imports: compile, exec, unmarshal, the TLS defaults) is an area
of its own, and the rest is the surge's; µs/call divides each area's time by the calls.
cProfile slows pure-Python code more than C code, so the shares lean towards Python; they
say where to look, the interleaved CPU figures of ``service_floor`` say how much it
costs.
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

from benchmarks.load_region import LoadRegion, write_region
from benchmarks.service_floor_instructions import LIFECYCLE_AGENTS, SLOWED_DRAIN_S
from benchmarks.service_load import _loop_factory
from benchmarks.service_load_agents import Agents
from benchmarks.service_load_calls import surge_lean
from benchmarks.service_load_processes import HOST, ROOT, ServerProcess, free_port, log

STARTUP = ("compile", "exec", "marshal.", "_imp.", "set_default_verify_paths", "__build_class__")

# (area, substrings of a function's file name), first match wins.
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("channels (phone webhook: fields, admission, answer)", ("/channels/",)),
    ("router/core (the engine)", ("/router/core/", "/skills/")),
    ("router/config (field readers)", ("/router/config/",)),
    ("router/service (runtime, auth, middleware, metrics, audit)", ("/router/service/",)),
    ("router (other: store, audit, estimate, calendar)", ("/router/",)),
    ("prometheus_client", ("prometheus_client",)),
    ("aiohttp, multidict, yarl (HTTP)", ("aiohttp", "multidict", "yarl")),
    ("json", ("/json/", "_json")),
    ("logging", ("/logging/",)),
    ("asyncio, uvloop", ("asyncio", "uvloop")),
)


# cProfile's default clock is the wall clock: on a shared machine the time the process
# waits for a CPU would be charged to whatever function was running. This one is CPU time.
PROFILED_SERVE = """
import cProfile, runpy, sys, time
out = sys.argv.pop(1)
sys.argv[0] = "router.cli"
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    runpy.run_module("router.cli", run_name="__main__", alter_sys=True)
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""


class ProfiledServer(ServerProcess):
    """``yhteys serve`` under cProfile on the process's CPU clock."""

    def start(self) -> None:
        serve = ["serve", "--config", str(self.config), "--host", HOST]
        serve += ["--port", str(self.port), "--log-format", "json"]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", PROFILED_SERVE, str(self.profile), *serve],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        log(f"server pid {self.proc.pid} on http://{HOST}:{self.port}, under cProfile")


def area_of(filename: str, name: str) -> str:
    if filename.startswith("<frozen") or (filename == "~" and any(s in name for s in STARTUP)):
        return "startup (imports; once, not per request)"
    for area, parts in AREAS:
        if any(p in filename for p in parts):
            return area
    if filename == "~":  # built-ins: C functions, attributed by name
        for area, parts in AREAS:
            if any(p.strip("/_") in name for p in parts):
                return area
        return "built-ins (C: dict, str, re, time, ...)"
    return "other Python (stdlib, dataclasses, enum, ...)"


def breakdown(profile: Path) -> tuple[float, dict[str, float], list[tuple[float, str]]]:
    """Total own time, own time by area, and every function's (own time, name)."""
    stats = pstats.Stats(str(profile))
    by_area: dict[str, float] = {}
    functions: list[tuple[float, str]] = []
    total = 0.0
    for (filename, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = float(row[2])
        total += tottime
        area = area_of(filename, name)
        by_area[area] = by_area.get(area, 0.0) + tottime
        where = filename.split("site-packages/")[-1].removeprefix(str(ROOT) + "/")
        functions.append((tottime, f"{where}:{line} {name}"))
    functions.sort(reverse=True)
    return total, by_area, functions


async def _surge(server: ServerProcess, region: LoadRegion, calls: int, lifecycle: bool) -> None:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as ws_session,
        aiohttp.ClientSession() as http,
    ):
        await server.wait_ready(http, timeout_s=60)
        agents = Agents(ws_session, server.port, region.agent_tokens) if lifecycle else None
        try:
            if agents is not None:
                await agents.log_in()
            figures, actions = await surge_lean(server.port, region.phone_token, "pf", calls, 64)
            log(f"{figures['answered']} answered {dict(actions)} in {figures['elapsed_s']:.1f} s")
            if agents is not None:  # every call, queued ones too, offered and completed
                await agents.wait_idle(figures["answered"], SLOWED_DRAIN_S)
                log(f"{agents.closed} completed by the agents")
        finally:
            if agents is not None:
                await agents.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.service_floor_profile")
    p.add_argument("--calls", type=int, default=20_000, help="webhooks (20000)")
    p.add_argument("--top", type=int, default=25, help="functions to list (25)")
    p.add_argument(
        "--lifecycle",
        action="store_true",
        help=f"{LIFECYCLE_AGENTS} agents accept and complete every call",
    )
    args = p.parse_args(argv)
    if not 1 <= args.calls <= 100_000:
        raise SystemExit("--calls must be 1..100000")
    with tempfile.TemporaryDirectory(prefix="yhteys-profile-") as tmp:
        region = write_region(Path(tmp), LIFECYCLE_AGENTS if args.lifecycle else 1)
        profile = Path(tmp) / "server.prof"
        server = ProfiledServer(
            region.path, free_port(), Path(tmp) / "server.log", None, str(profile)
        )
        server.start()
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(
                    asyncio.wait_for(_surge(server, region, args.calls, args.lifecycle), 170)
                )
        except BaseException:
            log(f"server log (last lines):\n{server.log_tail()}")
            raise
        finally:
            server.stop()
        total, by_area, functions = breakdown(profile)
    what = "lifecycles" if args.lifecycle else "queued webhooks"
    print(f"server under cProfile, {args.calls} {what}: {total:.2f} s own time")
    for area, seconds in sorted(by_area.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / total:6.1%}  {seconds / args.calls * 1e6:7.1f} µs/call  {area}")
    print(f"the {args.top} functions with the most own time:")
    for seconds, name in functions[: args.top]:
        print(f"  {seconds / total:6.1%}  {seconds / args.calls * 1e6:7.1f} µs/call  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
