"""The service against its floor (#15 part 2): server CPU per phone webhook of the real
service beside a bare aiohttp + uvloop handler (``benchmarks/bare_aiohttp.py``), side by
side in one run, interleaved over rounds; and the whole lifecycle's calls/s.

``python -m benchmarks.service_floor [--quick] [--rounds R] [--calls N] [--json]``.

Both servers run at once, each its own process on its own loopback port: ``yhteys
serve`` in memory mode on the generated region of ``benchmarks/load_region.py``, and the
bare server. This process logs ``A`` agents in over websockets, then:

1. **Lifecycle** (3 rounds, service only): agents accept every offer and complete
   every call; ``L`` calls posted with 64 in flight; calls offered, accepted and
   completed per second, against the 5,000/s target.
2. **Webhook CPU, service against bare** (``R`` rounds): every agent then takes one call
   and keeps it, so every further call queues (the surge workload of
   ``benchmarks.service_load``: the request path and one routing attempt that finds no
   free agent, no websocket traffic). Each round posts the same ``N`` webhooks (same
   lean keep-alive client, same bytes, 64 in flight) to the service and to the bare
   server, the order alternating by round; each server's CPU (``/proc/<pid>/stat``, user
   + kernel) over its surge, divided by the answers, is its µs per request. The round's
   calls are then abandoned on the service (not measured), so every round starts from an
   empty queue. The ratio service / bare is taken per round and reported as the median
   with the min–max over the rounds.

A warm-up round on each side comes first and is not counted. Everything is bounded (a
deadline on each surge and on the whole run); both servers are always stopped.

Two companions, run by hand: ``benchmarks.service_floor_instructions`` counts
instructions per webhook on both sides under callgrind (the figure to hold a change to
on a shared host), and ``benchmarks.service_floor_profile`` sums the service's cProfile
by area of code (where its time goes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bare_aiohttp import BareServer
from benchmarks.load_client import open_pool, request_bytes, run_closed_loop
from benchmarks.load_region import LoadRegion, write_region
from benchmarks.service_load import Settings as LoadSettings
from benchmarks.service_load import _loop_factory, closed_loop
from benchmarks.service_load_agents import Agents
from benchmarks.service_load_calls import CALLS_PATH, SURGE_DEADLINE_S, call_id, surge_lean
from benchmarks.service_load_measure import Phase, machine_busy_s
from benchmarks.service_load_processes import (
    HOST,
    ROOT,
    HttpProcess,
    ServerProcess,
    free_port,
    log,
    machine,
)

TARGET_RATIO = 1.5  # service CPU per webhook over the bare handler's
TARGET_LIFECYCLE = 5_000.0  # calls/s offered, accepted and completed, one core
CONCURRENCY = 64


@dataclass(frozen=True, slots=True)
class Settings:
    quick: bool = False
    rounds: int = 5
    calls: int = 4_000
    lifecycle_calls: int = 2_000
    lifecycle_rounds: int = 3
    agents: int = 200

    @classmethod
    def of(cls, quick: bool, **given: Any) -> Settings:
        base = cls(
            quick=True, rounds=2, calls=300, lifecycle_calls=300, lifecycle_rounds=2, agents=20
        )
        chosen = {k: v for k, v in given.items() if v is not None}
        return cls(**{**asdict(base if quick else cls()), **chosen})


async def _surge(port: int, token: str, tag: str, calls: int, pid_cpu: Any) -> dict[str, Any]:
    """``calls`` webhooks to ``port``; the server's CPU over them, per answer."""
    user0, sys0 = pid_cpu()
    wall0, own0, all0 = time.perf_counter(), time.process_time(), machine_busy_s()
    figures, actions = await surge_lean(port, token, tag, calls, CONCURRENCY)
    wall = time.perf_counter() - wall0
    user1, sys1 = pid_cpu()
    cpu = user1 - user0 + sys1 - sys0
    # CPU of neither server nor this client: a few percent of a core or more means the
    # round shared the machine with something else.
    other = machine_busy_s() - all0 - cpu - (time.process_time() - own0)
    answered = figures["answered"]
    return {
        "answered": answered,
        "actions": dict(actions),
        "timed_out": figures["timed_out"],
        "broken": figures["broken_connections"],
        "wall_s": round(wall, 3),
        "per_s": round(answered / wall, 1) if wall else 0.0,
        "cpu_s": round(cpu, 3),
        "sys_share": round((sys1 - sys0) / cpu, 3) if cpu else 0.0,
        "cpu_us": round(cpu / answered * 1e6, 1) if answered else 0.0,
        "other_core_share": round(max(0.0, other) / wall, 2) if wall else 0.0,
    }


async def _abandon(port: int, token: str, tag: str, calls: int) -> Counter[str]:
    """The caller hangs up on each queued call of round ``tag`` (not measured)."""
    host = f"{HOST}:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    statuses: Counter[str] = Counter()

    def make(i: int) -> bytes:
        return request_bytes("POST", f"{CALLS_PATH}/{call_id(tag, i)}/abandoned", host, headers)

    def on_answer(i: int, status: int, body: bytes) -> None:
        statuses[str(status)] += 1

    pool = await open_pool(HOST, port, CONCURRENCY)
    try:
        await run_closed_loop(pool, calls, make, on_answer, SURGE_DEADLINE_S)
    finally:
        await asyncio.gather(*(c.close() for c in pool), return_exceptions=True)
    return statuses


async def _pair(
    r: int, s: Settings, server: ServerProcess, bare: BareServer, token: str
) -> dict[str, Any]:
    tag = f"{'w' if r < 0 else chr(ord('a') + r)}{'f' if r < 0 else 'r'}"
    sides = [("service", server.port, server.cpu_s), ("bare", bare.port, bare.cpu_s)]
    out: dict[str, Any] = {}
    for name, port, cpu in sides if r % 2 == 0 else sides[::-1]:
        out[name] = await _surge(port, token, tag, s.calls, cpu)
    out["abandoned"] = dict(await _abandon(server.port, token, tag, s.calls))
    out["ratio"] = (
        round(out["service"]["cpu_us"] / out["bare"]["cpu_us"], 2) if out["bare"]["cpu_us"] else 0
    )
    return out


async def _lifecycle_pair(
    r: int,
    s: Settings,
    sides: list[tuple[str, HttpProcess, Agents]],
    region: LoadRegion,
    phases: dict[str, Phase],
) -> dict[str, Any]:
    """One lifecycle round on each side, the order alternating by round."""
    load = LoadSettings(concurrency=CONCURRENCY)
    letter = chr(ord("a") + r + 1)
    out: dict[str, Any] = {}
    for name, process, agents in sides if r % 2 == 0 else sides[::-1]:
        tag = f"{name[0]}{letter}"  # "sa", "ba", ...: the round's call ids and phase
        out[name] = await closed_loop(load, process, region, agents, phases, tag, s.lifecycle_calls)
    service, bare = (out[n]["server_cpu_us_per_contact"] for n in ("service", "bare"))
    out["ratio"] = round(service / bare, 2) if bare else 0.0
    return out


async def drive(s: Settings, server: ServerProcess, bare: BareServer, region: LoadRegion) -> Any:
    lifecycle: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as ws_session,
        aiohttp.ClientSession() as http,
    ):
        await server.wait_ready(http)
        await bare.wait_ready(http)
        agents = Agents(ws_session, server.port, region.agent_tokens)
        bare_agents = Agents(ws_session, bare.port, region.agent_tokens)
        try:
            await agents.log_in()
            await bare_agents.log_in()
            gc.collect()
            gc.freeze()
            phases: dict[str, Phase] = {}
            sides: list[tuple[str, HttpProcess, Agents]] = [
                ("service", server, agents),
                ("bare", bare, bare_agents),
            ]
            log(f"lifecycle: {s.lifecycle_rounds} rounds of {s.lifecycle_calls} calls a side")
            for r in range(-1, s.lifecycle_rounds):
                pair = await _lifecycle_pair(r, s, sides, region, phases)
                log(f"  lifecycle round {r}: ratio {pair['ratio']}")
                if r >= 0:
                    lifecycle.append(pair)
            # From now on every call queues behind busy agents, on both sides.
            agents.hold = bare_agents.hold = True
            log(f"webhooks: {s.rounds} rounds of {s.calls} calls, service and bare in turn")
            for r in range(-1, s.rounds):
                pair = await _pair(r, s, server, bare, region.phone_token)
                log(f"  round {r}: ratio {pair['ratio']}")
                if r >= 0:
                    rounds.append(pair)
        finally:
            gc.unfreeze()
            await agents.close()
            await bare_agents.close()
    return lifecycle, rounds


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "min": 0.0, "max": 0.0}
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            timeout=5,
            check=False,
        )
        return out.stdout.decode().strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run(s: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    limit_s = 60.0 + 2 * SURGE_DEADLINE_S * (s.rounds + 1) * 2
    with tempfile.TemporaryDirectory(prefix="yhteys-floor-") as tmp:
        region = write_region(Path(tmp), s.agents)
        server = ServerProcess(region.path, free_port(), Path(tmp) / "server.log")
        bare = BareServer(free_port())
        try:
            server.start()
            bare.start()

            async def bounded() -> Any:
                return await asyncio.wait_for(drive(s, server, bare, region), limit_s)

            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                lifecycle, rounds = runner.run(bounded())
        except BaseException:
            log(f"server log (last lines):\n{server.log_tail()}")
            raise
        finally:
            server.stop()
            bare.stop()

    def per_core(side: str) -> list[float]:
        return [1e6 / us for p in lifecycle if (us := p[side]["server_cpu_us_per_contact"])]

    return {
        "benchmark": "service_floor",
        "settings": asdict(s),
        "commit": _commit(),
        "machine": machine(),
        "workload": (
            f"memory mode, {s.agents} agents on websockets, each holding one call, so every "
            f"webhook queues; {s.calls} webhooks a round and side, {CONCURRENCY} in flight, "
            "lean keep-alive client, same bytes to both servers"
        ),
        "rounds": rounds,
        "service_us": _spread([p["service"]["cpu_us"] for p in rounds]),
        "bare_us": _spread([p["bare"]["cpu_us"] for p in rounds]),
        "ratio": _spread([p["ratio"] for p in rounds]),
        "lifecycle": lifecycle,
        "lifecycle_per_s": _spread([p["service"]["completed_per_s"] for p in lifecycle]),
        "lifecycle_us": _spread([p["service"]["server_cpu_us_per_contact"] for p in lifecycle]),
        "lifecycle_bare_us": _spread([p["bare"]["server_cpu_us_per_contact"] for p in lifecycle]),
        "lifecycle_per_core_s": _spread(per_core("service")),
        "lifecycle_bare_per_core_s": _spread(per_core("bare")),
        "lifecycle_ratio": _spread([p["ratio"] for p in lifecycle]),
        "total_s": round(time.perf_counter() - started, 1),
    }


def verdicts(f: dict[str, Any]) -> list[str]:
    """PASS or MISS for each target, and why the lifecycle's own target is read per
    core-second and beside the bare lifecycle."""
    ratio, life_ratio = f["ratio"]["median"], f["lifecycle_ratio"]["median"]
    per_core, bare_core = f["lifecycle_per_core_s"]["median"], f["lifecycle_bare_per_core_s"]
    lines = [
        f"{'PASS' if ratio <= TARGET_RATIO else 'MISS'}  webhook: service <= {TARGET_RATIO}x "
        f"the bare handler's server CPU: {ratio:.2f}x",
        f"{'PASS' if per_core >= TARGET_LIFECYCLE else 'MISS'}  lifecycle: >= "
        f"{TARGET_LIFECYCLE:,.0f} calls per core-second of server CPU: {per_core:,.0f}",
        f"{'PASS' if life_ratio <= TARGET_RATIO else 'MISS'}  lifecycle: service <= "
        f"{TARGET_RATIO}x the bare lifecycle's server CPU per call: {life_ratio:.2f}x",
    ]
    if bare_core["median"] < TARGET_LIFECYCLE:
        lines.append(
            f"      the bare server itself does {bare_core['median']:,.0f} "
            f"({bare_core['min']:,.0f}–{bare_core['max']:,.0f}) lifecycles per core-second "
            f"here: {TARGET_LIFECYCLE:,.0f} is beyond aiohttp on this host with no engine at "
            "all, so the ratio to the bare lifecycle is the figure that says what the "
            "service adds"
        )
    return lines


def report(f: dict[str, Any]) -> str:
    m, sv, bare, ratio = f["machine"], f["service_us"], f["bare_us"], f["ratio"]
    rng = "{median:,.1f} ({min:,.1f}–{max:,.1f})"
    lines = [
        "== The service against a bare aiohttp + uvloop server (#15 part 2)"
        + (" [quick]" if f["settings"]["quick"] else ""),
        f"machine: {m['cpus']} CPUs, {m['cpu_model']}, {m['implementation']} {m['python']}, "
        f"aiohttp {m['aiohttp']}, uvloop {m['uvloop']}; code {f['commit']}",
        f"workload: {f['workload']}; median (min–max) over {len(f['rounds'])} rounds",
        f"  server CPU per webhook  service {rng.format(**sv)} µs   bare {rng.format(**bare)} µs",
        f"  ratio service / bare    {rng.format(**ratio)}   (target ≤ {TARGET_RATIO})",
        f"lifecycle: offer, accept and complete over websockets (a webhook, 2 frames in and 7 "
        f"out per call), {f['settings']['lifecycle_calls']} calls a round and side, "
        f"{CONCURRENCY} in flight, sides interleaved; median (min–max) over "
        f"{len(f['lifecycle'])} rounds",
        f"  server CPU per call     service {rng.format(**f['lifecycle_us'])} µs   "
        f"bare {rng.format(**f['lifecycle_bare_us'])} µs",
        f"  ratio service / bare    {rng.format(**f['lifecycle_ratio'])}",
        f"  calls per core-second   service {rng.format(**f['lifecycle_per_core_s'])}   "
        f"bare {rng.format(**f['lifecycle_bare_per_core_s'])}   "
        f"(target ≥ {TARGET_LIFECYCLE:,.0f})",
        f"  calls/s end to end      service {rng.format(**f['lifecycle_per_s'])} (the client "
        "and other work share the host)",
        "  rounds (service µs, bare µs, ratio; answers/s service, bare):",
    ]
    for i, p in enumerate(f["rounds"]):
        a, b = p["service"], p["bare"]
        lines.append(
            f"    {i}: {a['cpu_us']:7.1f} {b['cpu_us']:7.1f} {p['ratio']:5.2f}; "
            f"{a['per_s']:,.0f}/s {b['per_s']:,.0f}/s; other load {a['other_core_share']:.0%} "
            f"{b['other_core_share']:.0%} of a core; answers {a['actions']} {b['actions']}"
            + (" DEADLINE HIT" if a["timed_out"] or b["timed_out"] else "")
        )
    for i, p in enumerate(f["lifecycle"]):
        a, b = p["service"], p["bare"]
        lines.append(
            f"    lifecycle {i}: server µs/call {a['server_cpu_us_per_contact']:.0f} "
            f"{b['server_cpu_us_per_contact']:.0f}, ratio {p['ratio']:.2f}; calls/s "
            f"{a['completed_per_s']:,.0f} {b['completed_per_s']:,.0f}; completed "
            f"{a['agents_completed']} {b['agents_completed']}; other load "
            f"{a['other_core_share']:.0%} {b['other_core_share']:.0%} of a core"
        )
    lines += verdicts(f)
    lines.append(f"total {f['total_s']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.service_floor",
        description="Server CPU per webhook: the service against a bare aiohttp handler.",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    p.add_argument("--rounds", type=int, metavar="R", help="interleaved rounds (5; 2)")
    p.add_argument("--calls", type=int, metavar="N", help="webhooks a round and side (4000)")
    p.add_argument("--lifecycle-calls", type=int, metavar="L", help="per round (2000)")
    p.add_argument("--agents", type=int, metavar="A", help="agents on websockets (200)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    s = Settings.of(
        args.quick,
        rounds=args.rounds,
        calls=args.calls,
        lifecycle_calls=args.lifecycle_calls,
        agents=args.agents,
    )
    if not (1 <= s.rounds <= 20 and 1 <= s.calls <= 50_000 and 1 <= s.lifecycle_calls <= 50_000):
        raise SystemExit("--rounds must be 1..20, --calls and --lifecycle-calls 1..50000")
    if not 1 <= s.agents <= 2_000:
        raise SystemExit("--agents must be 1..2000")
    f = run(s)
    print(json.dumps(f, indent=2) if args.json else report(f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
