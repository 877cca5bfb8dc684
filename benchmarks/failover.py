"""Failover in Redis mode: the lease holder killed with SIGKILL under load.

``python -m benchmarks.failover [--quick] [--rounds N] [--quiet-rounds Q] [--instances I]
[--rate R] [--agents A] [--silent S] [--held-offer-timeout T] [--json]``, or
``run(quick)`` (a dict of figures; ``report(figures)`` is the text) from ``make bench``.

This process starts its own ``redis-server`` on a free loopback port (no persistence)
and ``I`` instances of ``yhteys serve --redis redis://127.0.0.1:P/0`` on the region of
``benchmarks/load_region.py``, with ``A`` working agents and ``S`` silent ones. The
silent agents are the only ones who can take calls of the ``held`` service, whose offers
expire after ``T`` seconds without a cool-down, so each silent agent is offered its held
call again every ``T`` seconds and an offer expiry, a timer-driven decision, is always
about to fall due.

Every agent is on a websocket to one instance that does not hold the lease (they move to
a fresh one before a round when needed; the calls pause while they do). Working agents
accept every offer at once and complete every call as soon as it is assigned. Calls of
the ``general`` service are posted at ``R`` a second through the phone webhook,
round-robin over the live instances; a post that fails (connection refused or reset, a
timeout, 503) is retried on the next live instance with the same ``call_id``, as the
telephony platform retries its webhooks. Every call has its own caller number.

Each round finds the leader (``GET /readyz`` says ``"leader": true``) and kills it with
SIGKILL: ``N`` rounds while the calls keep coming (one webhook is sent to the leader 2 ms
before the kill, so that one is on its way as it dies), then ``Q`` quiet rounds in which
no input arrives from ``QUIET_S`` before the kill until the first timer decision after
it. Under load every input carries its instance's time and the engine fires the timers
due by then, so offer expiries need no leader; with no input only the lease holder's
``TimerDue`` moves time. From the kill, each round measures:

- **leader** — until a surviving instance says ``"leader": true`` on ``/readyz`` (polled
  every 20 ms), and when the successor logged that it took the lease;
- **TimerDue** — until the first ``TimerDue`` another instance appended (its Redis stream
  id is the append time; the log is read back with the service's own codec);
- **decision** — until a silent agent's websocket had the offer expiry it caused;
- **late** — the worst delay, after the offer's ``expires_at``, of an offer expiry a
  silent agent saw from the kill to that decision;
- the webhooks meanwhile: how many were posted, retried and failed, the slowest answer
  and the slowest ingest → offer (the survivor keeps taking calls and offering them
  while nobody holds the lease).

A replacement instance is started after each round, so each round kills a different
process. At the end the calls stop and every call is checked as the agents saw it: a
call answered 200/201 must have been offered, assigned and closed exactly once (no call
lost, none handled twice). Everything is bounded; every process this benchmark started
is stopped (SIGTERM, SIGKILL after a few seconds) whatever happens.

Figures go to stdout, progress to stderr.

The parts: the settings and the instances (``failover_setup``), what the agents saw and
what the log says (``failover_watch``), the calls (``failover_load``), the figures and the
report (``failover_report``); this module runs the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.failover_load import Load, settle
from benchmarks.failover_report import check_calls, max_known, report, rounded, spread, webhooks_in
from benchmarks.failover_setup import (
    AFTER_S,
    LEADER_TIMEOUT_S,
    QUIET_S,
    SETTLE_S,
    STEADY_S,
    TARGET_FAILOVER_S,
    TIMER_TIMEOUT_S,
    Cluster,
    Settings,
)
from benchmarks.failover_watch import Agent, Seen, lease_taken_at, timer_entries
from benchmarks.load_region import HELD_SERVICE, write_region
from benchmarks.service_load import (
    RedisProcess,
    ServerProcess,
    log,
    machine,
    redis_available,
)
from router.config import load_region
from router.service.replica_state import ReplicaSettings

# ---------------------------------------------------------------- a round


async def move_agents(
    session: aiohttp.ClientSession,
    agents: list[Agent],
    load: Load,
    seen: Seen,
    target: ServerProcess,
) -> float:
    """Pauses the load, lets the calls in hand finish, moves every agent to ``target``."""
    started = time.perf_counter()
    load.paused = True
    try:
        if not await settle(load, seen):
            log("moving the agents with calls still open (they did not settle in time)")
        for agent in agents:
            await agent.disconnect()
        await asyncio.gather(*(agent.connect(session, target.port) for agent in agents))
    finally:
        load.paused = False
    return time.perf_counter() - started


async def one_round(
    n: int,
    quiet: bool,
    settings: Settings,
    session: aiohttp.ClientSession,
    cluster: Cluster,
    agents: list[Agent],
    load: Load,
    seen: Seen,
    region_name: str,
) -> dict[str, Any]:
    """Kills the leader once and measures what follows (see the module docstring).
    ``quiet``: the load pauses ``QUIET_S`` before the kill until the first timer decision
    after it, so only the lease holder's ``TimerDue`` can move time."""
    while len(cluster.live()) < settings.instances:
        replacement = await cluster.start(session)
        log(f"round {n}: started instance pid {replacement.pid} on port {replacement.port}")
    leader = await cluster.leader(session)
    if leader is None:
        raise RuntimeError(f"round {n}: no instance says it leads")
    moved_s = 0.0
    if any(a.port == leader.port for a in agents):
        target = next(s for s in cluster.live() if s is not leader)
        moved_s = await move_agents(session, agents, load, seen, target)
        log(f"round {n}: agents moved to pid {target.pid} in {moved_s:.2f} s")
    await asyncio.sleep(STEADY_S)
    if quiet:
        load.paused = True
        await settle(load, seen)
        await asyncio.sleep(QUIET_S)
    try:
        figures, window = await _kill_and_watch(
            n, quiet, session, cluster, leader, load, seen, region_name
        )
    finally:
        load.paused = False
    await asyncio.sleep(AFTER_S)  # the calls posted meanwhile have their answers by now
    figures["webhooks"] = webhooks_in(load, seen, *window)
    doomed = load.calls.get(f"f-k{n:06d}")
    figures["in_flight_at_kill"] = (
        {
            "attempts": doomed.attempts,
            "failures": doomed.failures[:3],
            "status": doomed.status,
            "answer_ms": round((doomed.answered_at - doomed.first_sent) * 1e3, 1)
            if doomed.answered_at is not None
            else None,
        }
        if doomed is not None
        else None
    )
    log(
        f"round {n}{' (quiet)' if quiet else ''}: leader after {figures['leader_s']} s, first "
        f"TimerDue of the new leader {figures['first_timer_log_s']} s, timer decisions at "
        f"most {figures['timers_late_max_s']} s late"
    )
    return figures


async def _kill_and_watch(
    n: int,
    quiet: bool,
    session: aiohttp.ClientSession,
    cluster: Cluster,
    leader: ServerProcess,
    load: Load,
    seen: Seen,
    region_name: str,
) -> tuple[dict[str, Any], tuple[float, float]]:
    timers_before = len(seen.timers)
    log(f"round {n}: killing the leader, pid {leader.pid}")
    if not quiet:  # a webhook on its way to the leader as it dies: retried elsewhere
        load.post_now(f"f-k{n:06d}", leader)
        await asyncio.sleep(0.002)
    kill_wall, kill_perf = time.time(), time.perf_counter()
    cluster.kill(leader)
    successor = await cluster.leader(session)
    leader_s = time.perf_counter() - kill_perf if successor is not None else None
    # Until the first TimerDue another instance appended, and a silent agent saw its
    # decision (an expiry at or after that append).
    agent_s: float | None = None
    first_new: tuple[float, int, float] | None = None
    entries: list[tuple[float, int, float]] = []
    for _ in range(int(TIMER_TIMEOUT_S / 0.05)):
        entries = await timer_entries(cluster.redis.url, region_name, kill_wall - 0.5)
        first_new = next((e for e in entries if e[1] != leader.pid and e[0] >= kill_wall), None)
        if first_new is not None:
            after = [
                t
                for t in seen.timers[timers_before:]
                if t.kind == "expired" and t.wall >= first_new[0]
            ]
            if after:
                agent_s = after[0].perf - kill_perf
                break
        await asyncio.sleep(0.05)
    log_s = first_new[0] - kill_wall if first_new is not None else None
    lease_s = None
    if successor is not None:
        taken = lease_taken_at(successor, kill_wall)
        lease_s = taken - kill_wall if taken is not None else None
    # Every offer expiry the silent agents saw from the kill to that first decision.
    end_perf = kill_perf + (agent_s if agent_s is not None else TIMER_TIMEOUT_S)
    expiries = [
        t for t in seen.timers[timers_before:] if t.kind == "expired" and t.perf <= end_perf
    ]
    before_new = [t for t in expiries if first_new is None or t.wall < first_new[0]]
    late = [t.late_s for t in expiries if t.late_s is not None]
    return {
        "round": n,
        "quiet": quiet,
        "killed_pid": leader.pid,
        "successor_pid": successor.pid if successor is not None else None,
        "leader_s": rounded(leader_s),
        "lease_taken_log_s": rounded(lease_s),
        "first_timer_log_s": rounded(log_s),
        "first_timer_agent_s": rounded(agent_s),
        "expiries_before_new_leader_timer": len(before_new),
        "timers_late_max_s": rounded(max(late) if late else None),
        "timer_due_by_killed_after_kill": sum(
            1 for e in entries if e[1] == leader.pid and e[0] >= kill_wall
        ),
        "timer_entries_after_kill": [
            {"at_s": round(at - kill_wall, 3), "pid": pid, "stamped_s": round(st - kill_wall, 3)}
            for at, pid, st in entries
            if at >= kill_wall
        ][:4],
    }, (kill_perf, end_perf)


async def drive(settings: Settings, directory: Path, redis_server: RedisProcess) -> dict[str, Any]:
    region = write_region(
        directory, settings.agents, settings.silent, settings.held_offer_timeout_s
    )
    region_name = load_region(region.path).name
    cluster = Cluster(directory, region, redis_server)
    seen = Seen()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        load = Load(session, cluster, region.phone_token)
        agents = [Agent(a, t, False, seen) for a, t in region.agent_tokens.items()]
        agents += [Agent(a, t, True, seen) for a, t in region.silent_tokens.items()]
        load_task: asyncio.Task[None] | None = None
        try:
            first = await cluster.start(session)
            log(f"instance pid {first.pid} ready; starting {settings.instances - 1} more")
            for _ in range(settings.instances - 1):
                await cluster.start(session)
            leader = await cluster.leader(session)
            follower = next(s for s in cluster.live() if s is not leader)
            await asyncio.gather(*(a.connect(session, follower.port) for a in agents))
            log(f"{len(agents)} agents on pid {follower.pid}; posting the held calls")
            for i in range(settings.silent):
                held = await load.post(f"h-{i:03d}", HELD_SERVICE)
                if held.status not in (200, 201):
                    raise RuntimeError(f"the held call was refused: {held.status} {held.body}")
            for _ in range(int(TIMER_TIMEOUT_S / 0.05)):  # the held offers expire by now
                if sum(1 for t in seen.timers if t.kind == "expired") >= 2:
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the held offers never expired: no timer fires")
            load_task = asyncio.create_task(load.run(settings.rate))
            rounds = []
            plan = [False] * settings.rounds + [True] * settings.quiet_rounds
            for n, quiet in enumerate(plan, 1):
                rounds.append(
                    await one_round(
                        n, quiet, settings, session, cluster, agents, load, seen, region_name
                    )
                )
            load.stopping = True
            await load_task
            settled = await settle(load, seen)
            calls = check_calls(load, seen)
            calls["settled"] = settled
        finally:
            load.stopping = True
            if load_task is not None and not load_task.done():
                load_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await load_task
            await asyncio.gather(*(a.disconnect() for a in agents), return_exceptions=True)
            log("stopping the instances")
            stop_started = time.perf_counter()
            exits = cluster.stop_all()
            stop_s = time.perf_counter() - stop_started
    killed = [s.pid for s in cluster.killed]
    levels: Counter[str] = Counter()
    for server in cluster.instances:
        levels.update(server.log_levels())
    warnings = [
        m for s in cluster.instances for m in s.log_messages("") if "lead" in m or "lease" in m
    ]
    unclean = {
        str(s.pid): s.log_tail(6)
        for s in cluster.instances
        if s.pid not in killed and exits.get(s.pid) != 0
    }
    return {
        "rounds": rounds,
        "calls": calls,
        "agents": {
            "working": settings.agents,
            "silent": settings.silent,
            "resumed_after_move": seen.resumed,  # contacts in hand in a state message
            "withdrawn_from_working": seen.withdrawn_working,
            "errors": len(seen.errors),
            "first_errors": seen.errors[:3],
        },
        "timer_decisions_seen": len(seen.timers),
        "instances": {
            "started": len(cluster.instances),
            "killed": killed,
            "exit_codes": {str(k): v for k, v in exits.items() if k not in killed},
            "stop_s": round(stop_s, 2),
            "unclean_exit_logs": unclean,
            "log_levels": dict(levels),
            "lease_messages": warnings[-12:],
        },
    }


def run_settings(settings: Settings) -> dict[str, Any]:
    if not redis_available():
        raise RuntimeError("the failover benchmark needs redis-server on the PATH")
    started = time.perf_counter()
    limit_s = 60.0 + (settings.rounds + settings.quiet_rounds) * (
        LEADER_TIMEOUT_S + TIMER_TIMEOUT_S + 3 * SETTLE_S + STEADY_S + QUIET_S + AFTER_S + 20.0
    )
    lease = ReplicaSettings()
    with tempfile.TemporaryDirectory(prefix="yhteys-failover-") as tmp:
        redis_server = RedisProcess(Path(tmp))
        version = redis_server.version()
        try:
            redis_server.start()
            figures = _run_bounded(drive(settings, Path(tmp), redis_server), limit_s)
        finally:
            redis_server.stop()
    rounds: list[dict[str, Any]] = figures["rounds"]
    keys = (
        "leader_s",
        "lease_taken_log_s",
        "first_timer_log_s",
        "first_timer_agent_s",
        "timers_late_max_s",
    )
    summary = {
        kind: {
            key: spread([r[key] for r in rounds if r["quiet"] is quiet and r[key] is not None])
            for key in keys
        }
        for kind, quiet in (("under_load", False), ("quiet", True))
    }
    # Failover, as a caller sees it: a leader again, and no timer-driven decision (an
    # offer expiry) later than this after it was due; in quiet rounds, also the first
    # timer decision after the kill.
    worst = [r["leader_s"] for r in rounds] + [r["timers_late_max_s"] for r in rounds]
    worst += [r["first_timer_agent_s"] for r in rounds if r["quiet"]]
    calls = figures["calls"]
    return {
        "benchmark": "failover",
        "quick": settings.quick,
        "settings": asdict(settings),
        "machine": machine(),
        "redis_server": version,
        "lease": {
            "ttl_s": lease.lease_ttl_s,
            "renew_every_s": lease.renew_every_s,
            "acquire_every_s": lease.acquire_every_s,
        },
        **figures,
        "summary": summary,
        "targets": {
            "failover_s": {
                "target": TARGET_FAILOVER_S,
                "leader_max": max_known([r["leader_s"] for r in rounds]),
                "timers_late_max": max_known([r["timers_late_max_s"] for r in rounds]),
                "quiet_first_timer_max": max_known(
                    [r["first_timer_agent_s"] for r in rounds if r["quiet"]]
                ),
                "pass": bool(worst) and all(x is not None and x < TARGET_FAILOVER_S for x in worst),
            },
            "no_call_lost_or_doubled": {
                "pass": calls["lost"] == 0
                and calls["not_exactly_once"] == 0
                and calls["unanswered_or_refused"] == 0
                and calls["settled"],
            },
        },
        "total_s": round(time.perf_counter() - started, 1),
    }


def _run_bounded(coro: Any, limit_s: float) -> dict[str, Any]:
    async def bounded() -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.wait_for(coro, limit_s)
        return result

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(bounded())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop  # noqa: PLC0415 - optional, as in the server
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(quick: bool) -> dict[str, Any]:
    """Entry point for ``make bench``: the default workload, quick or full."""
    return run_settings(Settings.of(quick))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.failover",
        description="Failover in Redis mode under load (see the module docstring).",
    )
    p.add_argument("--quick", action="store_true", help="1 round of each kind instead of 5 + 3")
    p.add_argument("--rounds", type=int, metavar="N", help="leaders to kill under load (5)")
    p.add_argument(
        "--quiet-rounds", type=int, metavar="Q", help="leaders to kill with no input (3)"
    )
    p.add_argument("--instances", type=int, metavar="I", help="instances running (2)")
    p.add_argument("--rate", type=float, metavar="R", help="calls a second (200)")
    p.add_argument("--agents", type=int, metavar="A", help="working agents (20)")
    p.add_argument("--silent", type=int, metavar="S", help="silent agents (2)")
    p.add_argument(
        "--held-offer-timeout", type=float, metavar="T", help="held offers expire after (0.5 s)"
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.of(
        args.quick,
        rounds=args.rounds,
        quiet_rounds=args.quiet_rounds,
        instances=args.instances,
        rate=args.rate,
        agents=args.agents,
        silent=args.silent,
        held_offer_timeout_s=args.held_offer_timeout,
    )
    if (
        min(settings.rounds, settings.quiet_rounds) < 0
        or not 1 <= settings.rounds + settings.quiet_rounds <= 20
        or not 2 <= settings.instances <= 5
    ):
        raise SystemExit("--rounds + --quiet-rounds must be 1..20 and --instances 2..5")
    if not 1 <= settings.rate <= 2_000 or not 1 <= settings.agents <= 500:
        raise SystemExit("--rate must be 1..2000 and --agents 1..500")
    if not 1 <= settings.silent <= 20 or not 0.05 <= settings.held_offer_timeout_s <= 10:
        raise SystemExit("--silent must be 1..20 and --held-offer-timeout 0.05..10")
    if not redis_available():
        print("failover in Redis mode: skipped, redis-server is not on the PATH")
        return 0
    result = run_settings(settings)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
