"""The service under load: the real server on loopback, driven from this process.

``python -m benchmarks.service_load [--quick] [--modes memory,redis] [--calls N]
[--rate R] [--seconds S] [--agents A] [--json]``, or ``run(quick)`` (a dict of figures;
``report(figures)`` is the text) from ``make bench``.

The same workload runs once per mode, each against a fresh server: ``memory`` (the
embedded default: one instance, the in-memory store) and ``redis`` (Redis mode: this
process starts its own ``redis-server`` on a free loopback port, without persistence,
and the server with ``--redis redis://127.0.0.1:P/0``; every input goes through the
region's log in Redis and back before it is applied, and the one instance holds the
lease). The report puts the modes side by side; redis-server's CPU is counted apart.
Without ``redis-server`` on the PATH the Redis mode is skipped with a note, unless it was
asked for explicitly (``--modes redis``).

A region is generated in a temporary directory (one service reaching the whole region, no
wrap-up, ``A`` agents taking one call each, tokens made up for the run: see
``benchmarks/load_region.py``) and ``yhteys serve`` is started on it as a subprocess on a
free loopback port. This process is the load generator and every agent. All ``A`` agents
log in over real websockets (``/api/agent/ws``). Calls come in through the telephony
platform's webhook (``POST /api/channels/phone/calls``); its answer is the routing
decision (``connect`` an agent or ``queue``).

1. **Latency at a fixed rate.** Each agent accepts every offer at once and completes the
   call as soon as it is assigned. Calls are posted on a fixed schedule, ``R`` a second
   for ``S`` seconds (after a one-second warm-up at the same rate), each send scheduled
   on the event loop's clock without waiting for earlier answers (one aiohttp session).
   Per call: from just before the request is handed to the client to the moment the
   agent's websocket reader has the ``offer`` for ``phone-<call_id>`` (one
   ``time.perf_counter``, one process). Answers ``connect`` and ``queue`` are counted.
2. **The whole lifecycle as fast as it goes.** The same agents, calls posted with a fixed
   number in flight: ingest, route, offer, accept, complete per second — what the
   service can push through agents who take no time at all.
3. **Surge: ingest and route.** Every agent accepts one call and keeps it; the other
   calls queue, as they do when a surge meets a busy pool. ``N`` calls with a fixed
   number in flight; answers per second are contacts ingested and routed per second.

Phases 2 and 3 use the lean keep-alive client in ``benchmarks/load_client.py``: the
aiohttp client costs this process several times its CPU per request, and on a small
machine the client shares the CPUs with the server (``--surge-client aiohttp`` to compare).
Server CPU (``utime``, ``stime`` from ``/proc/<pid>/stat``), redis-server's CPU in Redis mode,
this process's CPU and all other CPU use on the machine (``/proc/stat``) are recorded per
phase, so the reader can tell which side was saturated and whether something else was
running. Everything is bounded: connection counts, calls, and a deadline on every wait;
the server and redis-server are always stopped (SIGTERM, then SIGKILL after a few
seconds).

Set ``YHTEYS_BENCH_PROFILE=/path/server.prof`` to run the server under cProfile (the
profile is written when it stops; figures are then not comparable). The server's pid is
printed on stderr, for ``py-spy record --pid``.

Figures go to stdout, progress to stderr.

The parts: ``service_load_processes`` (the server and redis-server processes, the
machine), ``service_load_agents`` (the agents on websockets), ``service_load_calls`` (the
webhook calls and the ways of posting them), ``service_load_measure`` (CPU per phase,
percentiles) and ``service_load_report`` (the text); this module runs the phases in
order, against one fresh server per mode, and is the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.load_region import LANGUAGE, SERVICE, LoadRegion, write_region
from benchmarks.service_load_agents import CLIENT_TIMEOUT_S, Agents
from benchmarks.service_load_calls import (
    CALLS_PATH,
    DRAIN_TIMEOUT_S,
    SURGE_DEADLINE_S,
    WARMUP_S,
    caller_of,
    fixed_rate,
    surge_aiohttp,
    surge_lean,
)
from benchmarks.service_load_measure import Phase, measured, phase_cpu, summary_ms
from benchmarks.service_load_processes import (
    HOST,
    HttpProcess,
    RedisProcess,
    ServerProcess,
    free_port,
    log,
    machine,
    redis_available,
)
from benchmarks.service_load_report import report

# What the failover benchmark (``benchmarks/failover*.py``) takes from here, besides this
# module's own names: the processes, the calls' shape and the figures.
__all__ = [
    "CALLS_PATH",
    "HOST",
    "MODES",
    "RedisProcess",
    "ServerProcess",
    "Settings",
    "caller_of",
    "free_port",
    "log",
    "machine",
    "main",
    "redis_available",
    "report",
    "run",
    "run_mode",
    "run_settings",
    "summary_ms",
]
MODES = ("memory", "redis")
TARGET_RATE = 5_000.0  # contacts/s ingested and routed, sustained (either mode)
TARGET_P99_MS = 10.0  # ingest -> offer at 1,000 contacts/s


@dataclass(frozen=True, slots=True)
class Settings:
    quick: bool = False
    agents: int = 200
    rate: float = 1_000.0
    seconds: float = 20.0
    calls: int = 20_000
    lifecycle_calls: int = 10_000
    concurrency: int = 64
    surge_client: str = "lean"  # lean | aiohttp
    modes: tuple[str, ...] = MODES

    @classmethod
    def of(cls, quick: bool, **given: Any) -> Settings:
        base = cls(quick=True, seconds=3.0, calls=3_000, lifecycle_calls=2_000) if quick else cls()
        chosen = {k: v for k, v in given.items() if v is not None}
        return cls(**{**asdict(base), **chosen})


async def closed_loop(
    settings: Settings,
    server: HttpProcess,
    region: LoadRegion,
    agents: Agents,
    phases: dict[str, Phase],
    name: str,
    calls: int,
) -> dict[str, Any]:
    """``calls`` calls as fast as the server answers, ``concurrency`` in flight; with the
    agents working, waits (bounded) until they have completed what they were offered."""
    log(
        f"{name}: {calls} calls, {settings.concurrency} in flight ({settings.surge_client} "
        f"client), agents {'holding their first call' if agents.hold else 'working'}"
    )
    offers0, closed0 = agents.offers, agents.closed
    surge_fn = surge_lean if settings.surge_client == "lean" else surge_aiohttp
    with measured(server, phases, name):
        figures, actions = await surge_fn(
            server.port, region.phone_token, name[:2], calls, settings.concurrency
        )
        handled_s = figures["elapsed_s"]
        if not agents.hold:
            started = time.perf_counter() - handled_s
            idle = await agents.wait_idle(agents.offers, DRAIN_TIMEOUT_S)
            handled_s = time.perf_counter() - started
            figures["agents_idle_after"] = idle
    routed = actions["connect"] + actions["queue"]
    elapsed = figures["elapsed_s"]
    completed = agents.closed - closed0
    figures.update(
        {
            "calls": calls,
            "concurrency": settings.concurrency,
            "client": settings.surge_client,
            "actions": dict(actions),
            "routed": routed,
            "routed_per_s": round(routed / elapsed, 1) if elapsed else 0.0,
            "agents_offered": agents.offers - offers0,
            "agents_completed": completed,
            "completed_per_s": round(completed / handled_s, 1) if handled_s else 0.0,
            "server_rss_mib_after": round(server.rss_mib(), 1),
            **phase_cpu(phases[name], routed),
        }
    )
    return figures


async def drive(settings: Settings, server: ServerProcess, region: LoadRegion) -> dict[str, Any]:
    phases: dict[str, Phase] = {}
    ws_connector = aiohttp.TCPConnector(limit=0)
    http_connector = aiohttp.TCPConnector(limit=64)
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    async with (
        aiohttp.ClientSession(connector=ws_connector) as ws_session,
        aiohttp.ClientSession(connector=http_connector, timeout=timeout) as http,
    ):
        ready_s = await server.wait_ready(http)
        log(f"server ready after {ready_s:.2f} s; logging in {settings.agents} agents")
        agents = Agents(ws_session, server.port, region.agent_tokens)
        try:
            login_s = await agents.log_in()
            log(f"agents logged in in {login_s:.2f} s")
            # Long-lived client state out of the collector's way, as the server does.
            gc.collect()
            gc.freeze()
            log(f"warm-up: {settings.rate:.0f} calls/s for {WARMUP_S:.0f} s")
            await fixed_rate(
                http, server.port, region.phone_token, agents, "w", settings.rate, WARMUP_S
            )
            log(f"latency: {settings.rate:.0f} calls/s for {settings.seconds:g} s")
            with measured(server, phases, "latency"):
                latency = await fixed_rate(
                    http,
                    server.port,
                    region.phone_token,
                    agents,
                    "p1",
                    settings.rate,
                    settings.seconds,
                )
            latency.update(phase_cpu(phases["latency"], latency["sent"]))
            lifecycle = await closed_loop(
                settings, server, region, agents, phases, "lifecycle", settings.lifecycle_calls
            )
            # A surge: every agent is on a call (accepts one and keeps it), the rest queue.
            agents.hold = True
            surge = await closed_loop(
                settings, server, region, agents, phases, "surge", settings.calls
            )
            agent_figures = {
                "login_s": round(login_s, 3),
                "offers": agents.offers,
                "completed": agents.closed,
                "held": agents.held,
                "errors": agents.errors,
                "last_error": agents.last_error or None,
                "disconnected": agents.disconnected,
            }
        finally:
            gc.unfreeze()
            await agents.close()
    return {
        "latency": latency,
        "lifecycle": lifecycle,
        "surge": surge,
        "agents": agent_figures,
        "ready_s": ready_s,
    }


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop  # noqa: PLC0415 - optional, as in the server
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _run_bounded(coro: Coroutine[Any, Any, dict[str, Any]], limit_s: float) -> dict[str, Any]:
    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(coro, limit_s)

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(bounded())


def run_mode(settings: Settings, mode: str) -> dict[str, Any]:
    """Runs the three phases against a fresh server in ``mode`` (memory or redis)."""
    if settings.surge_client not in ("lean", "aiohttp"):
        raise ValueError(f"unknown surge client {settings.surge_client!r}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    log(f"--- {mode} mode")
    started = time.perf_counter()
    limit_s = 60.0 + settings.seconds * 2 + WARMUP_S + 2 * SURGE_DEADLINE_S
    with tempfile.TemporaryDirectory(prefix="yhteys-bench-") as tmp:
        region = write_region(Path(tmp), settings.agents)
        redis_server = RedisProcess(Path(tmp)) if mode == "redis" else None
        redis_stats: dict[str, Any] = {}
        redis_version = ""
        exit_code: int | None = None
        try:
            if redis_server is not None:
                redis_version = redis_server.version()
                redis_server.start()
            server = ServerProcess(region.path, free_port(), Path(tmp) / "server.log", redis_server)
            server.start()
            try:
                figures = _run_bounded(drive(settings, server, region), limit_s)
            except BaseException:
                log(f"server log (last lines):\n{server.log_tail()}")
                raise
            finally:
                exit_code = server.stop()
            levels = server.log_levels()
            snapshots = server.timed_log_messages("snapshot saved")
        finally:
            if redis_server is not None:
                if redis_server.proc is not None and redis_server.proc.poll() is None:
                    redis_stats = redis_server.stats()
                redis_server.stop()
    latency, surge = figures["latency"], figures["surge"]
    for phase in (latency, figures["lifecycle"], surge):
        start, end = phase["started_at"], phase["started_at"] + phase["wall_s"]
        phase["snapshots"] = [
            {"at_s": round(at - start, 2), "bytes": _snapshot_bytes(message)}
            for at, message in snapshots
            if start <= at <= end
        ]
    p99 = latency["ingest_to_offer_ms"]["p99"]
    store = (
        f"Redis store (redis-server {redis_version} on loopback, no persistence; "
        "one instance, which holds the lease)"
        if mode == "redis"
        else "memory store"
    )
    return {
        "benchmark": "service_load",
        "mode": mode,
        "quick": settings.quick,
        "settings": asdict(settings),
        "machine": machine(),
        "workload": {
            "region": f"1 service ({SERVICE}: region step, wrap-up 0 s, offer timeout 600 s), "
            f"{settings.agents} agents (voice 1, {LANGUAGE}) on websockets",
            "channel": f"phone webhook POST {CALLS_PATH}",
            "server": f"yhteys serve, JSON logs, no access log, {store}",
        },
        "server": {
            "ready_s": round(figures["ready_s"], 3),
            "exit_code": exit_code,
            "log_levels": levels,
            "snapshots": len(snapshots),
            "last_snapshot": snapshots[-1][1] if snapshots else None,
        },
        "redis": redis_stats or None,
        "agents": figures["agents"],
        "latency": latency,
        "lifecycle": figures["lifecycle"],
        "surge": surge,
        "targets": {
            "sustained_rate": {
                "target": TARGET_RATE,
                "measured": surge["routed_per_s"],
                "pass": surge["routed_per_s"] >= TARGET_RATE and not surge["timed_out"],
            },
            "p99_ingest_to_offer_ms": {
                "target": TARGET_P99_MS,
                "at_rate": settings.rate,
                "measured": p99,
                "pass": p99 < TARGET_P99_MS
                and latency["not_offered"] == 0
                and settings.rate >= 1_000,
            },
        },
        "total_s": round(time.perf_counter() - started, 1),
    }


def _snapshot_bytes(message: str) -> int:
    """The size in ``snapshot saved up to <id> (<n> bytes)`` (0 when it has none)."""
    with contextlib.suppress(ValueError, IndexError):
        return int(message.rsplit("(", 1)[1].split(maxsplit=1)[0])
    return 0


def run_settings(settings: Settings, explicit_modes: bool = False) -> dict[str, Any]:
    """Runs every mode of ``settings`` in turn; Redis mode is skipped (with a note) when
    redis-server is not installed, unless the modes were asked for explicitly."""
    runs: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for mode in settings.modes:
        if mode == "redis" and not redis_available():
            if explicit_modes:
                raise SystemExit("--modes redis: redis-server is not on the PATH")
            skipped[mode] = "redis-server is not on the PATH"
            log("redis-server is not on the PATH: Redis mode skipped")
            continue
        runs.append(run_mode(settings, mode))
    return {"benchmark": "service_load", "quick": settings.quick, "runs": runs, "skipped": skipped}


def run(quick: bool) -> dict[str, Any]:
    """Entry point for ``make bench``: the default workload, quick or full, every mode."""
    return run_settings(Settings.of(quick))


def parse_modes(text: str) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes or len(set(modes)) != len(modes):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(MODES)} (each once), got {text!r}"
        )
    return modes


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.service_load",
        description="The routing service under load on loopback (see the module docstring).",
    )
    p.add_argument("--quick", action="store_true", help="small smoke run (< 20 s a mode)")
    p.add_argument(
        "--modes",
        type=parse_modes,
        metavar="M[,M]",
        help="store modes to run, in order: memory, redis (default memory,redis)",
    )
    p.add_argument("--calls", type=int, metavar="N", help="surge calls (default 20000; 3000)")
    p.add_argument("--lifecycle-calls", type=int, metavar="N", help="lifecycle calls (10000; 2000)")
    p.add_argument("--rate", type=float, metavar="R", help="fixed rate, calls/s (default 1000)")
    p.add_argument("--seconds", type=float, metavar="S", help="fixed-rate seconds (20; 3)")
    p.add_argument("--agents", type=int, metavar="A", help="agents on websockets (200)")
    p.add_argument("--concurrency", type=int, metavar="K", help="surge calls in flight (64)")
    p.add_argument("--surge-client", choices=("lean", "aiohttp"), help="surge HTTP client (lean)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def _check(settings: Settings) -> None:
    if not 1 <= settings.agents <= 5_000:
        raise SystemExit("--agents must be 1..5000")
    if not 1 <= settings.rate <= 20_000 or not 0 < settings.seconds <= 120:
        raise SystemExit("--rate must be 1..20000 and --seconds 0..120")
    if (
        not 1
        <= min(settings.calls, settings.lifecycle_calls)
        <= max(settings.calls, settings.lifecycle_calls)
        <= 1_000_000
        or not 1 <= settings.concurrency <= 512
    ):
        raise SystemExit("--calls must be 1..1000000 and --concurrency 1..512")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.of(
        args.quick,
        calls=args.calls,
        lifecycle_calls=args.lifecycle_calls,
        rate=args.rate,
        seconds=args.seconds,
        agents=args.agents,
        concurrency=args.concurrency,
        surge_client=args.surge_client,
        modes=args.modes,
    )
    _check(settings)
    result = run_settings(settings, explicit_modes=args.modes is not None)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
