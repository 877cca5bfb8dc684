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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import ClientWebSocketResponse, WSMsgType

from benchmarks.load_region import HELD_SERVICE, LANGUAGE, SERVICE, SITE, LoadRegion, write_region
from benchmarks.service_load import (
    CALLS_PATH,
    HOST,
    RedisProcess,
    ServerProcess,
    caller_of,
    free_port,
    log,
    machine,
    redis_available,
    summary_ms,
)
from router.config import load_region
from router.core.events import TimerDue
from router.service.replica_state import ReplicaSettings
from router.store.codec import decode
from router.store.keys import Keys, region_key

TARGET_FAILOVER_S = 3.0
POLL_S = 0.02  # /readyz polling while waiting for a new leader
CLIENT_TIMEOUT_S = 2.0  # one webhook attempt
RETRY_PAUSE_S = 0.05
MAX_ATTEMPTS = 60  # per call: 60 attempts at least 50 ms apart, a few seconds at most
LEADER_TIMEOUT_S = 15.0
TIMER_TIMEOUT_S = 15.0
SETTLE_S = 10.0
LOGIN_TIMEOUT_S = 15.0
STEADY_S = 1.5  # load before each kill
QUIET_S = 1.0  # quiet rounds: nothing but timers for this long before the kill
AFTER_S = 1.0  # load after the first timer decision, before the next round


# ---------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Settings:
    quick: bool = False
    rounds: int = 5  # leaders killed while calls keep coming
    quiet_rounds: int = 3  # leaders killed while nothing but timers happen
    instances: int = 2
    rate: float = 200.0
    agents: int = 20
    silent: int = 2
    held_offer_timeout_s: float = 0.5

    @classmethod
    def of(cls, quick: bool, **given: Any) -> Settings:
        base = cls(quick=True, rounds=1, quiet_rounds=1) if quick else cls()
        chosen = {k: v for k, v in given.items() if v is not None}
        return cls(**{**asdict(base), **chosen})


# ---------------------------------------------------------------- what agents saw


@dataclass(frozen=True, slots=True)
class TimerSeen:
    """A timer-driven decision a silent agent saw: its held offer expired (``late_s``:
    how long after the offer's ``expires_at`` the agent had the withdrawal), or a new
    offer of the held call."""

    wall: float  # time.time()
    perf: float  # time.perf_counter()
    kind: str  # "expired", "withdrawn:<other reason>", "offer"
    late_s: float | None = None


@dataclass(slots=True)
class Seen:
    offers: Counter[str] = field(default_factory=Counter)  # contact id -> offers seen
    assigned: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)
    offered_at: dict[str, float] = field(default_factory=dict)  # first offer, perf_counter
    resumed: int = 0  # contacts in hand found in a ``state`` message after a reconnect
    withdrawn_working: int = 0  # offers withdrawn from working agents (none expected)
    timers: list[TimerSeen] = field(default_factory=list)  # what the silent agents saw
    errors: list[str] = field(default_factory=list)
    disconnects: int = 0


class Agent:
    """One agent on one websocket: a working one accepts and completes at once; a silent
    one never answers and notes the timer-driven decisions it sees."""

    def __init__(self, agent_id: str, token: str, silent: bool, seen: Seen) -> None:
        self.id = agent_id
        self.token = token
        self.silent = silent
        self.seen = seen
        self.port: int | None = None
        self._ws: ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._logged_in = asyncio.Event()
        self._expires: dict[str, float] = {}  # held call -> its offer's expires_at
        self._offered: set[str] = set()  # offers this agent has counted

    async def connect(self, session: aiohttp.ClientSession, port: int) -> None:
        """Opens the websocket to the instance on ``port`` and logs in (bounded)."""
        await self.disconnect()
        self._logged_in.clear()
        url = f"http://{HOST}:{port}/api/agent/ws"
        ws = await asyncio.wait_for(
            session.ws_connect(url, params={"access_token": self.token}, autoping=True),
            LOGIN_TIMEOUT_S,
        )
        self._ws, self.port = ws, port
        self._task = asyncio.create_task(self._read(ws))
        await ws.send_str('{"type":"login","id":"login"}')
        await asyncio.wait_for(self._logged_in.wait(), LOGIN_TIMEOUT_S)

    async def disconnect(self) -> None:
        ws, task = self._ws, self._task
        self._ws = self._task = None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2.0)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _read(self, ws: ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on(ws, json.loads(msg.data))
                elif msg.type is WSMsgType.ERROR:
                    break
        except (ConnectionError, aiohttp.ClientError, ValueError) as exc:
            self.seen.errors.append(f"agent {self.id}: {type(exc).__name__}: {exc}")
        self.seen.disconnects += 1

    async def _on(self, ws: ClientWebSocketResponse, m: dict[str, Any]) -> None:
        kind = m.get("type")
        seen = self.seen
        if kind == "offer":
            cid = str(m["contact"]["id"])
            if self.silent:
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    self._expires[cid] = float(m["expires_at"])
                seen.timers.append(TimerSeen(time.time(), time.perf_counter(), "offer"))
                return
            self._count_offer(cid)
            await ws.send_str(f'{{"type":"accept","contact_id":"{cid}"}}')
        elif kind == "assigned":
            cid = str(m["contact"]["id"])
            seen.assigned[cid] += 1
            await self._complete(ws, cid)
        elif kind == "closed":
            seen.closed[str(m["contact_id"])] += 1
        elif kind == "offer_withdrawn":
            if self.silent:
                now = time.time()
                expires = self._expires.pop(str(m.get("contact_id")), None)
                if m.get("reason") == "timeout" and expires is not None:
                    seen.timers.append(
                        TimerSeen(now, time.perf_counter(), "expired", now - expires)
                    )
                else:
                    what = f"withdrawn:{m.get('reason')}"
                    seen.timers.append(TimerSeen(now, time.perf_counter(), what))
            else:
                seen.withdrawn_working += 1
        elif kind == "state" and not self.silent:  # (re)connected: carry on with what's in hand
            for c in m.get("contacts", []):
                seen.resumed += 1
                if c.get("state") == "offered":  # an offer made while it was away
                    self._count_offer(str(c["id"]))
                    await ws.send_str(f'{{"type":"accept","contact_id":"{c["id"]}"}}')
                elif c.get("state") == "assigned":
                    await self._complete(ws, str(c["id"]))
        elif kind == "ack" and m.get("id") == "login":
            self._logged_in.set()
        elif kind == "error":
            seen.errors.append(f"agent {self.id}: {json.dumps(m)[:200]}")

    def _count_offer(self, cid: str) -> None:
        """Counts an offer once per agent, whether an ``offer`` message or a ``state``
        message after a reconnect brought it."""
        if cid in self._offered:
            return
        self._offered.add(cid)
        self.seen.offers[cid] += 1
        self.seen.offered_at.setdefault(cid, time.perf_counter())

    @staticmethod
    async def _complete(ws: ClientWebSocketResponse, cid: str) -> None:
        await ws.send_str(f'{{"type":"complete","contact_id":"{cid}","outcome":"resolved"}}')


# ---------------------------------------------------------------- the instances


class Cluster:
    """The region's instances: ``yhteys serve --redis`` subprocesses on one redis-server."""

    def __init__(self, directory: Path, region: LoadRegion, redis_server: RedisProcess) -> None:
        self.directory = directory
        self.region = region
        self.redis = redis_server
        self.instances: list[ServerProcess] = []
        self.killed: list[ServerProcess] = []
        self.ready: list[ServerProcess] = []
        self._numbers = itertools.count(1)

    async def start(self, session: aiohttp.ClientSession) -> ServerProcess:
        n = next(self._numbers)
        server = ServerProcess(
            self.region.path,
            free_port(),
            self.directory / f"server-{n}.log",
            self.redis,
            profile="",
        )
        server.start()
        self.instances.append(server)
        await server.wait_ready(session)
        self.ready.append(server)
        return server

    def live(self) -> list[ServerProcess]:
        """Instances that are ready (the load posts to these) and not killed."""
        return [s for s in self.ready if s.alive() and s not in self.killed]

    def kill(self, server: ServerProcess) -> None:
        self.killed.append(server)
        server.kill()

    async def readyz(self, session: aiohttp.ClientSession, server: ServerProcess) -> Any:
        url = f"http://{HOST}:{server.port}/readyz"
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ValueError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as r:
                return await r.json()
        return None

    async def leader(
        self, session: aiohttp.ClientSession, timeout_s: float = LEADER_TIMEOUT_S
    ) -> ServerProcess | None:
        """The live instance that says it leads, polled every ``POLL_S`` (bounded)."""
        for _ in range(int(timeout_s / POLL_S)):
            live = self.live()
            answers = await asyncio.gather(*(self.readyz(session, s) for s in live))
            for server, body in zip(live, answers, strict=True):
                if isinstance(body, dict) and body.get("leader") is True:
                    return server
            await asyncio.sleep(POLL_S)
        return None

    def stop_all(self) -> dict[int, int | None]:
        return {s.pid: s.stop() for s in self.instances if s.proc is not None}


# ---------------------------------------------------------------- the load


@dataclass(slots=True)
class Call:
    first_sent: float  # perf_counter
    attempts: int = 0
    status: int | None = None  # the answer that ended the attempts
    answered_at: float | None = None
    ports: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    body: str = ""


def call_body(call_id: str, service: str) -> bytes:
    return json.dumps(
        {
            "call_id": call_id,
            "caller": caller_of(call_id),
            "site": SITE,
            "ivr": {"service": service, "language": LANGUAGE},
        },
        separators=(",", ":"),
    ).encode()


class Load:
    """Calls at a fixed rate, round-robin over the live instances, each retried on the
    next live instance until one answers 200/201 (or refuses it with a 4xx)."""

    def __init__(self, session: aiohttp.ClientSession, cluster: Cluster, token: str) -> None:
        self.session = session
        self.cluster = cluster
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.calls: dict[str, Call] = {}
        self.paused = False
        self.stopping = False
        self._next = itertools.count()
        self._pending: set[asyncio.Task[Call]] = set()
        self._rr = itertools.count()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def post(
        self, call_id: str, service: str = SERVICE, first: ServerProcess | None = None
    ) -> Call:
        """Posts until an instance answers; ``first``: the instance to try first."""
        call = self.calls[call_id] = Call(time.perf_counter())
        body = call_body(call_id, service)
        timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
        for attempt in range(MAX_ATTEMPTS):
            live = self.cluster.live()
            if not live:
                call.failures.append("no live instance")
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            server = (
                first if attempt == 0 and first is not None else live[next(self._rr) % len(live)]
            )
            call.attempts += 1
            call.ports.append(server.port)
            url = f"http://{HOST}:{server.port}{CALLS_PATH}"
            try:
                async with self.session.post(
                    url, data=body, headers=self.headers, timeout=timeout
                ) as r:
                    text = await r.text()
                    status = r.status
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                call.failures.append(f"{server.port}: {type(exc).__name__}")
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            if status == 503:
                call.failures.append(f"{server.port}: 503")
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            call.status, call.body = status, text[:300]
            call.answered_at = time.perf_counter()
            return call
        return call

    async def run(self, rate: float) -> None:
        """Posts ``rate`` calls a second until stopped (bounded by ``stopping``)."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / rate
        due = loop.time()
        while not self.stopping:
            if self.paused:
                await asyncio.sleep(0.01)
                due = loop.time()
                continue
            due += interval
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                if self.paused or self.stopping:  # paused while asleep: post nothing more
                    continue
            elif delay < -1.0:  # fell behind by a second (a stall): do not burst
                due = loop.time()
            task = asyncio.create_task(self.post(f"f-{next(self._next):07d}"))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def post_now(self, call_id: str, first: ServerProcess) -> None:
        """Starts posting one call to ``first`` (a call on its way when it dies)."""
        task = asyncio.create_task(self.post(call_id, SERVICE, first))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout_s: float) -> bool:
        """Waits (bounded) for every call in flight to be answered or given up."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)
        return not self._pending


async def settle(load: Load, seen: Seen, timeout_s: float = SETTLE_S) -> bool:
    """Waits (bounded) until no post is in flight and every answered call has closed."""
    drained = await load.drain(timeout_s)
    for _ in range(int(timeout_s / 0.02)):
        answered = [c for c, call in load.calls.items() if call.status in (200, 201)]
        if all(seen.closed[f"phone-{c}"] for c in answered if c.startswith("f-")):
            return drained
        await asyncio.sleep(0.02)
    return False


# ---------------------------------------------------------------- the log


async def timer_entries(
    redis_url: str, region_name: str, since_wall: float
) -> list[tuple[float, int, float]]:
    """``(append time, instance pid, stamped)`` of every TimerDue in the log since
    ``since_wall`` (wall clock), read back with the service's codec."""
    client = aioredis.Redis.from_url(redis_url, socket_timeout=5.0)
    found: list[tuple[float, int, float]] = []
    try:
        key = Keys(region_key(region_name)).log
        start = f"{int(since_wall * 1000)}-0"
        for _ in range(100):  # pages of 1,000 entries: bounded
            entries: Any = await client.xrange(key, min=start, max="+", count=1000)
            if not entries:
                break
            for entry_id, fields in entries:
                text = entry_id.decode()
                ms = int(text.split("-", 1)[0])
                try:
                    items = decode(fields[b"b"])
                except Exception:  # a note this process cannot build: skip it
                    continue
                for rid, stamped, event in items:
                    if isinstance(event, TimerDue):
                        found.append((ms / 1000, pid_of(str(rid)), float(stamped)))
            last = entries[-1][0].decode()
            ms, seq = last.split("-")
            start = f"{ms}-{int(seq) + 1}"
    finally:
        await client.aclose()
    return found


def lease_taken_at(server: ServerProcess, after_wall: float) -> float | None:
    """When ``server`` logged that it took the lease (``... leads (fence N)``), wall clock."""
    for line in server.log_lines():
        with contextlib.suppress(ValueError, AttributeError, KeyError):
            record = json.loads(line)
            if " leads (fence " in str(record.get("message", "")):
                stamp = str(record["time"]).replace("Z", "+00:00")
                at = datetime.fromisoformat(stamp).timestamp()
                if at >= after_wall - 0.002:  # the log's times have milliseconds
                    return at
    return None


def pid_of(rid: str) -> int:
    """The pid in a request id ``<host>-<pid>-<hex>:<n>`` (-1 when it has none)."""
    instance = rid.rsplit(":", 1)[0]
    parts = instance.rsplit("-", 2)
    with contextlib.suppress(ValueError, IndexError):
        return int(parts[1])
    return -1


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
        "leader_s": _r(leader_s),
        "lease_taken_log_s": _r(lease_s),
        "first_timer_log_s": _r(log_s),
        "first_timer_agent_s": _r(agent_s),
        "expiries_before_new_leader_timer": len(before_new),
        "timers_late_max_s": _r(max(late) if late else None),
        "timer_due_by_killed_after_kill": sum(
            1 for e in entries if e[1] == leader.pid and e[0] >= kill_wall
        ),
        "timer_entries_after_kill": [
            {"at_s": round(at - kill_wall, 3), "pid": pid, "stamped_s": round(st - kill_wall, 3)}
            for at, pid, st in entries
            if at >= kill_wall
        ][:4],
    }, (kill_perf, end_perf)


def webhooks_in(load: Load, seen: Seen, start: float, end: float) -> dict[str, Any]:
    """The calls on their way at ``start`` or posted until ``end`` (perf_counter): the
    failover as the telephony platform saw it."""
    window = [
        (cid, call)
        for cid, call in load.calls.items()
        if cid.startswith("f-")
        and call.first_sent <= end
        and (call.answered_at is None or call.answered_at >= start)
    ]
    answers = [
        call.answered_at - call.first_sent
        for _, call in window
        if call.answered_at is not None and call.status in (200, 201)
    ]
    to_offer = [
        seen.offered_at[f"phone-{cid}"] - call.first_sent
        for cid, call in window
        if f"phone-{cid}" in seen.offered_at
    ]
    return {
        "posted": len(window),
        "retried": sum(1 for _, c in window if c.attempts > 1),
        "failed": sum(1 for _, c in window if c.status not in (200, 201)),
        "answer_ms": summary_ms(answers),
        "ingest_to_offer_ms": summary_ms(to_offer),
    }


def _r(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


# ---------------------------------------------------------------- the run


def _max(values: list[float | None]) -> float | None:
    return max((v for v in values if v is not None), default=None)


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def check_calls(load: Load, seen: Seen) -> dict[str, Any]:
    """Every call as the agents saw it: answered calls offered, assigned and closed once."""
    statuses: Counter[str] = Counter()
    once = lost = twice = 0
    examples: list[str] = []
    for cid, call in load.calls.items():
        if not cid.startswith("f-"):
            continue
        statuses[str(call.status) if call.status is not None else "no answer"] += 1
        contact = f"phone-{cid}"
        counts = (seen.offers[contact], seen.assigned[contact], seen.closed[contact])
        if call.status not in (200, 201):
            if len(examples) < 5:
                examples.append(f"{cid}: {call.status} {call.body or call.failures[-3:]}")
            continue
        if counts == (1, 1, 1):
            once += 1
        elif max(counts) == 0:
            lost += 1
            if len(examples) < 5:
                examples.append(f"{cid}: lost (answered {call.status})")
        else:
            twice += 1
            if len(examples) < 5:
                examples.append(f"{cid}: offers/assigned/closed {counts}")
    posted = sum(statuses.values())
    return {
        "posted": posted,
        "answers": dict(statuses),
        "retried": sum(
            1 for c, call in load.calls.items() if c.startswith("f-") and call.attempts > 1
        ),
        "exactly_once": once,
        "lost": lost,
        "not_exactly_once": twice,
        "unanswered_or_refused": posted - statuses["200"] - statuses["201"],
        "examples": examples,
    }


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
            key: _spread([r[key] for r in rounds if r["quiet"] is quiet and r[key] is not None])
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
                "leader_max": _max([r["leader_s"] for r in rounds]),
                "timers_late_max": _max([r["timers_late_max_s"] for r in rounds]),
                "quiet_first_timer_max": _max(
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


# ---------------------------------------------------------------- the report


def _s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def report(r: dict[str, Any]) -> str:
    st, m, lease = r["settings"], r["machine"], r["lease"]
    lines = [
        "Yhteys failover in Redis mode — the lease holder killed with SIGKILL under load"
        + (" (quick)" if r["quick"] else ""),
        f"machine:  {m['cpus']} CPUs, {m['cpu_model']}, {m['implementation']} {m['python']}, "
        f"aiohttp {m['aiohttp']}, uvloop {m['uvloop']}, redis-server {r['redis_server']} "
        "(everything on this machine, on loopback)",
        f"workload: {st['instances']} instances of yhteys serve --redis (one redis-server, no "
        f"persistence); {st['agents']} working agents and {st['silent']} silent ones on "
        "websockets to an instance that does not lead; "
        f"{st['rate']:g} calls/s round-robin over the live instances (retried on the next one "
        f"when one fails); {st['silent']} held call(s) whose offers expire every "
        f"{st['held_offer_timeout_s']:g} s",
        f"lease:    TTL {lease['ttl_s']:g} s, renewed every {lease['renew_every_s']:g} s, "
        f"followers try every {lease['acquire_every_s']:g} s (the defaults)",
        "",
        "Seconds from the SIGKILL of the leader (late: how long after it was due a silent "
        "agent had an offer expiry, worst from the kill to the new leader's first timer "
        "decision; under load every input carries time, so due timers fire with the next "
        "input; quiet: no input from 1 s before the kill, only the lease holder's TimerDue "
        "moves time):",
    ]
    header = (
        f"{'round':>5}  {'':>5}  {'killed':>7}  {'leader':>6}  {'lease':>5}  "
        f"{'TimerDue':>8}  {'decision':>8}  {'late':>5}  {'posted':>6}  {'retried':>7}  "
        f"{'failed':>6}  {'max answer ms':>13}  {'max ingest→offer ms':>19}"
    )
    lines += [header, "-" * len(header)]
    for x in r["rounds"]:
        w = x["webhooks"]
        lines.append(
            f"{x['round']:>5}  {'quiet' if x['quiet'] else 'load':>5}  {x['killed_pid']:>7}  "
            f"{_s(x['leader_s']):>6}  {_s(x['lease_taken_log_s']):>5}  "
            f"{_s(x['first_timer_log_s']):>8}  {_s(x['first_timer_agent_s']):>8}  "
            f"{_s(x['timers_late_max_s']):>5}  {w['posted']:>6}  {w['retried']:>7}  "
            f"{w['failed']:>6}  {w['answer_ms']['max']:>13.1f}  "
            f"{w['ingest_to_offer_ms']['max']:>19.1f}"
        )
    lines += [
        "  leader: a survivor says leader on /readyz (polled every 20 ms); lease: the "
        "successor logged that it took the lease; TimerDue: the first one another instance "
        "appended (stream id); decision: a silent agent had that TimerDue's offer expiry",
        "",
    ]
    names = {
        "leader_s": "survivor says leader on /readyz",
        "first_timer_log_s": "first TimerDue of the new leader",
        "first_timer_agent_s": "first timer decision of the new leader",
        "timers_late_max_s": "worst lateness of an offer expiry",
    }
    for kind, title in (("under_load", "under load"), ("quiet", "quiet")):
        for key, name in names.items():
            spread = r["summary"][kind][key]
            if spread:
                lines.append(
                    f"  {title:<10} {name:<40} min {spread['min']:.2f}  median "
                    f"{spread['median']:.2f}  max {spread['max']:.2f} s"
                )
    doomed = [x["in_flight_at_kill"] for x in r["rounds"] if x.get("in_flight_at_kill")]
    if doomed:
        lines.append(
            "  a webhook sent to the leader 2 ms before each kill under load: "
            + "; ".join(
                f"{d['status']} after {d['attempts']} attempt(s)"
                + (f" ({', '.join(d['failures'])})" if d["failures"] else "")
                for d in doomed
            )
        )
    c, ag, inst = r["calls"], r["agents"], r["instances"]
    lines += [
        "",
        f"calls:  {c['posted']:,} posted, answers {c['answers']}, {c['retried']} retried on "
        f"another instance; offered, assigned and closed exactly once: "
        f"{c['exactly_once']:,}; lost {c['lost']}; more than once {c['not_exactly_once']}; "
        f"unanswered or refused {c['unanswered_or_refused']}"
        + ("" if c["settled"] else " (NOT SETTLED within the bound)"),
    ]
    if c["examples"]:
        lines.append(f"        e.g. {'; '.join(c['examples'])}")
    lines += [
        f"agents: timer decisions seen by the silent agents {r['timer_decisions_seen']:,}; "
        f"offers withdrawn from working agents {ag['withdrawn_from_working']}; contacts in "
        f"hand on reconnecting {ag['resumed_after_move']}; errors "
        f"{ag['errors']}" + (f" ({ag['first_errors']})" if ag["errors"] else ""),
        f"instances: {inst['started']} started, killed {inst['killed']}; log lines by level "
        f"{inst['log_levels']}; exit codes of the rest {inst['exit_codes']} (SIGTERM; "
        f"stopped in {inst['stop_s']:.1f} s)",
        *(
            f"  pid {pid} did not stop cleanly; its log ends:\n{tail}"
            for pid, tail in inst["unclean_exit_logs"].items()
        ),
        "targets:",
    ]
    t = r["targets"]
    f, calls = t["failover_s"], t["no_call_lost_or_doubled"]
    lines.append(
        f"  {'PASS' if f['pass'] else 'MISS'}  failover < {f['target']:g} s with the default "
        f"lease (worst round): leader again {_s(f['leader_max'])} s, an offer expiry at most "
        f"{_s(f['timers_late_max'])} s late, first timer decision after a quiet kill "
        f"{_s(f['quiet_first_timer_max'])} s"
    )
    lines.append(
        f"  {'PASS' if calls['pass'] else 'MISS'}  no call lost, none offered, assigned or "
        "closed twice"
    )
    lines.append(f"(total {r['total_s']:.1f} s)")
    return "\n".join(lines)


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
