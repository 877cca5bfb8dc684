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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import redis
from aiohttp import ClientWebSocketResponse, WSMsgType

from benchmarks.load_client import Connection, open_pool, request_bytes, run_closed_loop
from benchmarks.load_region import LANGUAGE, SERVICE, SITE, LoadRegion, write_region

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
CALLS_PATH = "/api/channels/phone/calls"
CALLER_PREFIX = "+3584"  # + 8 digits: every call has its own caller, one width
PROFILE_ENV = "YHTEYS_BENCH_PROFILE"

MODES = ("memory", "redis")
TARGET_RATE = 5_000.0  # contacts/s ingested and routed, sustained (either mode)
TARGET_P99_MS = 10.0  # ingest -> offer at 1,000 contacts/s

STARTUP_TIMEOUT_S = 20.0
REDIS_STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
LOGIN_TIMEOUT_S = 30.0
LOGIN_CONCURRENCY = 25
WARMUP_S = 1.0
DRAIN_TIMEOUT_S = 10.0
SURGE_DEADLINE_S = 45.0
CLIENT_TIMEOUT_S = 10.0
OTHER_LOAD_WARN = 0.15  # share of a core used by other processes that spoils a run

OFFER = '{"type":"offer",'
ASSIGNED = '{"type":"assigned",'
CLOSED = '{"type":"closed",'
ERROR = '{"type":"error",'
_ID = '"id":"'


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings


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


# ---------------------------------------------------------------- figures


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


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {}
    for package in ("aiohttp", "uvloop"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        **versions,
    }


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def proc_cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime


def stop_process(proc: subprocess.Popen[bytes], what: str, timeout_s: float) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log(f"{what} did not stop on SIGTERM: killing it")
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
    return proc.returncode


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


class RedisProcess:
    """Our own ``redis-server`` on a free loopback port, no persistence, always stopped."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.log_path = directory / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("redis-server is not started")
        return self.proc.pid

    def start(self) -> None:
        """Starts redis-server and waits (bounded) until it answers PING."""
        args = ["redis-server", "--port", str(self.port), "--bind", HOST]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                args, cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        deadline = time.monotonic() + REDIS_STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited while starting: {self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        log(f"redis-server pid {self.proc.pid} on {self.url}")
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer in {REDIS_STARTUP_TIMEOUT_S:.0f} s")

    def cpu_s(self) -> tuple[float, float]:
        return proc_cpu_s(self.pid)

    def version(self) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["redis-server", "--version"], capture_output=True, timeout=5, check=False
            ).stdout.decode(errors="replace")
            for word in out.split():
                if word.startswith("v="):
                    return word[2:]
        return "unknown"

    def stats(self) -> dict[str, Any]:
        """Commands served (calls, µs per call) and memory, from ``INFO``."""
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=5.0)
        try:
            commands: dict[str, Any] = client.info("commandstats")
            memory: dict[str, Any] = client.info("memory")
            keys: dict[str, Any] = client.info("keyspace")
        except redis.RedisError as exc:
            return {"error": str(exc)}
        finally:
            client.close()
        out: dict[str, Any] = {
            name.removeprefix("cmdstat_"): {
                "calls": v["calls"],
                "usec_per_call": v["usec_per_call"],
            }
            for name, v in commands.items()
            if isinstance(v, dict) and v.get("calls", 0) >= 10
        }
        return {
            "commands": out,
            "used_memory_mib": round(memory.get("used_memory", 0) / 2**20, 1),
            "keyspace": {k: v for k, v in keys.items() if isinstance(v, dict)},
        }

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        return stop_process(self.proc, "redis-server", STOP_TIMEOUT_S)

    def log_tail(self, n: int = 10) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""


class ServerProcess:
    """``yhteys serve`` as a subprocess, its log in a file, always stopped."""

    def __init__(
        self,
        config: Path,
        port: int,
        log_path: Path,
        redis_server: RedisProcess | None = None,
        profile: str | None = None,
    ) -> None:
        self.config = config
        self.port = port
        self.log_path = log_path
        self.redis = redis_server
        self.profile = profile if profile is not None else os.environ.get(PROFILE_ENV) or None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        serve = ["-m", "router.cli", "serve", "--config", str(self.config)]
        serve += ["--host", HOST, "--port", str(self.port), "--log-format", "json"]
        if self.redis is not None:
            serve += ["--redis", self.redis.url]
        prefix = ["-m", "cProfile", "-o", self.profile] if self.profile else []
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *prefix, *serve],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        log(f"server pid {self.proc.pid} on http://{HOST}:{self.port}")

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the server is not started")
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_ready(
        self, session: aiohttp.ClientSession, timeout_s: float = STARTUP_TIMEOUT_S
    ) -> float:
        """Polls ``/readyz`` until the dispatch loop runs; returns seconds waited."""
        started = time.perf_counter()
        url = f"http://{HOST}:{self.port}/readyz"
        for _ in range(int(timeout_s / 0.05)):
            if not self.alive():
                raise RuntimeError(f"the server exited while starting:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the server was not ready in {timeout_s:.0f} s")

    def cpu_s(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the server so far."""
        return proc_cpu_s(self.pid)

    def redis_cpu_s(self) -> float:
        """redis-server's CPU seconds so far (0 in memory mode)."""
        return sum(self.redis.cpu_s()) if self.redis is not None else 0.0

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``; returns the exit code."""
        if self.proc is None:
            return None
        return stop_process(self.proc, "the server", STOP_TIMEOUT_S * (4 if self.profile else 1))

    def kill(self) -> None:
        """SIGKILL, as a crash would: no snapshot, no hand-over of the lease."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)

    def log_lines(self) -> list[str]:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").splitlines()
        return []

    def log_tail(self, n: int = 20) -> str:
        return "\n".join(self.log_lines()[-n:])

    def log_messages(self, containing: str) -> list[str]:
        return [message for _, message in self.timed_log_messages(containing)]

    def timed_log_messages(self, containing: str) -> list[tuple[float, str]]:
        """(wall clock, message) of the server's JSON log lines containing ``containing``."""
        found: list[tuple[float, str]] = []
        for line in self.log_lines():
            with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
                record = json.loads(line)
                message = str(record.get("message", ""))
                if containing in message:
                    stamp = str(record["time"]).replace("Z", "+00:00")
                    found.append((datetime.fromisoformat(stamp).timestamp(), message))
        return found

    def log_levels(self) -> dict[str, int]:
        levels: Counter[str] = Counter()
        for line in self.log_lines():
            try:
                levels[str(json.loads(line).get("level", "?"))] += 1
            except (ValueError, AttributeError):
                levels["unparsed"] += 1
        return dict(levels)


# ---------------------------------------------------------------- the agents


def contact_id_of(message: str) -> str:
    """The contact id of an ``offer`` or ``assigned`` message (its first ``"id"``), without
    decoding the whole message."""
    start = message.index(_ID) + len(_ID)
    return message[start : message.index('"', start)]


class Agents:
    """``A`` agents on websockets: accept every offer, complete every assigned call."""

    def __init__(self, session: aiohttp.ClientSession, port: int, tokens: dict[str, str]):
        self.session = session
        self.url = f"http://{HOST}:{port}/api/agent/ws"
        self.tokens = tokens
        self.offered_at: dict[str, float] = {}  # contact id -> first offer seen
        self.offers = 0
        self.assigned = 0
        self.closed = 0
        self.errors = 0
        self.last_error = ""
        self.disconnected = 0
        self.hold = False  # True: accept an offer and keep the call (never complete)
        self.held = 0
        self._sockets: list[ClientWebSocketResponse] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def log_in(self) -> float:
        """Connects and logs in every agent; returns the seconds it took."""
        started = time.perf_counter()
        gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

        async def one(agent: str, token: str) -> ClientWebSocketResponse:
            async with gate:
                ws = await self.session.ws_connect(
                    self.url, params={"access_token": token}, autoping=True
                )
                await self._expect(ws, "state", agent)
                await ws.send_str('{"type":"login","id":"login"}')
                await self._expect(ws, "ack", agent)
                return ws

        logins = (one(a, t) for a, t in self.tokens.items())
        self._sockets = list(await asyncio.wait_for(asyncio.gather(*logins), LOGIN_TIMEOUT_S))
        self._tasks = [asyncio.create_task(self._serve(ws)) for ws in self._sockets]
        return time.perf_counter() - started

    @staticmethod
    async def _expect(ws: ClientWebSocketResponse, kind: str, agent: str) -> None:
        for _ in range(20):  # the first messages after connect are state, then ack
            msg = await ws.receive(timeout=CLIENT_TIMEOUT_S)
            if msg.type is not WSMsgType.TEXT:
                raise RuntimeError(f"agent {agent}: websocket {msg.type.name} before {kind}")
            body = json.loads(msg.data)
            if body.get("type") == "error":
                raise RuntimeError(f"agent {agent}: {body}")
            if body.get("type") == kind:
                return
        raise RuntimeError(f"agent {agent}: no {kind} message")

    async def _serve(self, ws: ClientWebSocketResponse) -> None:
        try:
            await self._handle(ws)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        self.disconnected += 1

    async def _handle(self, ws: ClientWebSocketResponse) -> None:
        """Reads until the websocket closes; only offers and assignments are decoded."""
        perf = time.perf_counter
        offered_at = self.offered_at
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if msg.type is WSMsgType.ERROR:
                raise RuntimeError(f"websocket error: {ws.exception()}")
            if msg.type is not WSMsgType.TEXT:
                continue
            data: str = msg.data
            if data.startswith(OFFER):
                seen = perf()
                cid = contact_id_of(data)
                offered_at.setdefault(cid, seen)
                self.offers += 1
                await ws.send_str(f'{{"type":"accept","contact_id":"{cid}"}}')
            elif data.startswith(ASSIGNED):
                self.assigned += 1
                if self.hold:
                    self.held += 1
                    continue
                cid = contact_id_of(data)
                await ws.send_str(
                    f'{{"type":"complete","contact_id":"{cid}","outcome":"resolved"}}'
                )
            elif data.startswith(CLOSED):
                self.closed += 1
            elif data.startswith(ERROR):
                self.errors += 1
                self.last_error = data[:200]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in self._sockets), return_exceptions=True),
                5.0,
            )

    async def wait_idle(self, offered: int, timeout_s: float) -> bool:
        """Waits until ``offered`` calls have closed (bounded); True when they have."""
        for _ in range(int(timeout_s / 0.01)):
            if self.closed >= offered:
                return True
            await asyncio.sleep(0.01)
        return self.closed >= offered


# ---------------------------------------------------------------- the calls


_callers: dict[str, str] = {}


def caller_of(call_id: str) -> str:
    """A caller number of its own for each call (the same one when a call is posted
    again). One number for every call would make every call the same person's, and the
    service links a person's open contacts (each assignment would list the thousands of
    others), which no real caller does."""
    caller = _callers.get(call_id)
    if caller is None:
        caller = _callers[call_id] = f"{CALLER_PREFIX}{len(_callers) % 10**8:08d}"
    return caller


def call_body(call_id: str) -> bytes:
    return json.dumps(
        {
            "call_id": call_id,
            "caller": caller_of(call_id),
            "site": SITE,
            "ivr": {"service": SERVICE, "language": LANGUAGE},
        },
        separators=(",", ":"),
    ).encode()


def call_id(tag: str, i: int) -> str:
    return f"{tag}-{i:07d}"  # fixed width: every request of a phase has one length


def action_of(status: int, body: bytes) -> str:
    if status == 201 and b'"connect"' in body:
        return "connect"
    if status == 201 and b'"queue"' in body:
        return "queue"
    return f"http_{status}" if status != 201 else "other"


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
def measured(server: ServerProcess, into: dict[str, Phase], name: str) -> Iterator[None]:
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


async def fixed_rate(
    session: aiohttp.ClientSession,
    port: int,
    token: str,
    agents: Agents,
    tag: str,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Posts ``rate * seconds`` calls on a fixed schedule; latency to the agent's offer."""
    total = max(1, round(rate * seconds))
    url = f"http://{HOST}:{port}{CALLS_PATH}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent_at: dict[str, float] = {}
    answer_s: list[float] = []
    lag_s: list[float] = []
    actions: Counter[str] = Counter()
    failures: list[str] = []
    pending: set[asyncio.Task[None]] = set()
    perf = time.perf_counter
    closed_before = agents.closed

    async def post(i: int) -> None:
        cid = call_id(tag, i)
        body = call_body(cid)
        t0 = perf()
        sent_at["phone-" + cid] = t0
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            return
        answer_s.append(perf() - t0)
        actions[action_of(status, raw)] += 1

    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.01
    stop_at = begin + seconds * 1.5 + 1.0  # the schedule may slip; never past this
    first = last = 0.0
    sent = 0
    for i in range(total):
        due = begin + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = loop.time()
        if now > stop_at:
            break
        lag_s.append(max(0.0, now - due))
        task = asyncio.create_task(post(i))
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += 1
        last = now
        if i == 0:
            first = now
    if pending:
        await asyncio.wait(set(pending), timeout=CLIENT_TIMEOUT_S)
    # Every posted call should reach an agent: wait (bounded) for the last offers.
    missing = list(sent_at)
    for _ in range(int(DRAIN_TIMEOUT_S / 0.005)):
        missing = [cid for cid in missing if cid not in agents.offered_at]
        if not missing:
            break
        await asyncio.sleep(0.005)
    latencies = [agents.offered_at[c] - t for c, t in sent_at.items() if c in agents.offered_at]
    offered = len(latencies)
    idle = await agents.wait_idle(closed_before + offered, DRAIN_TIMEOUT_S)
    span = last - first
    return {
        "calls": total,
        "sent": sent,
        "rate": rate,
        "achieved_rate": round((sent - 1) / span, 1) if sent > 1 and span > 0 else 0.0,
        "send_lag_ms": summary_ms(lag_s),
        "ingest_to_offer_ms": summary_ms(latencies),
        "answer_ms": summary_ms(answer_s),
        "actions": dict(actions),
        "offered": offered,
        "not_offered": len(sent_at) - offered,
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "agents_idle_after": idle,
    }


async def surge_lean(
    port: int, token: str, tag: str, calls: int, concurrency: int
) -> tuple[dict[str, Any], Counter[str]]:
    host = f"{HOST}:{port}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sample = call_body(call_id(tag, 0))
    head = request_bytes("POST", CALLS_PATH, host, headers, sample)[: -len(sample)]
    actions: Counter[str] = Counter()

    def make(i: int) -> bytes:
        body = call_body(call_id(tag, i))  # one length: fixed-width call id and caller
        return head + body

    def on_answer(i: int, status: int, body: bytes) -> None:
        actions[action_of(status, body)] += 1

    pool: list[Connection] = await open_pool(HOST, port, concurrency)
    try:
        result = await run_closed_loop(pool, calls, make, on_answer, SURGE_DEADLINE_S)
    finally:
        await asyncio.gather(*(c.close() for c in pool), return_exceptions=True)
    return {
        "sent": result.sent,
        "answered": result.answered,
        "elapsed_s": result.elapsed_s,
        "answer_ms": summary_ms(result.latencies_s),
        "broken_connections": result.broken,
        "first_failure": result.errors[0] if result.errors else None,
        "timed_out": result.timed_out,
    }, actions


async def surge_aiohttp(
    port: int, token: str, tag: str, calls: int, concurrency: int
) -> tuple[dict[str, Any], Counter[str]]:
    url = f"http://{HOST}:{port}{CALLS_PATH}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    actions: Counter[str] = Counter()
    latencies: list[float] = []
    failures: list[str] = []
    next_index = 0
    perf = time.perf_counter
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal next_index
            while next_index < calls:
                i = next_index
                next_index += 1
                body = call_body(call_id(tag, i))
                t0 = perf()
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        raw = await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                latencies.append(perf() - t0)
                actions[action_of(status, raw)] += 1

        started = perf()
        timed_out = False
        try:
            workers = (worker() for _ in range(concurrency))
            await asyncio.wait_for(asyncio.gather(*workers), SURGE_DEADLINE_S)
        except TimeoutError:
            timed_out = True
        elapsed = perf() - started
    return {
        "sent": next_index,
        "answered": len(latencies),
        "elapsed_s": elapsed,
        "answer_ms": summary_ms(latencies),
        "broken_connections": len(failures),
        "first_failure": failures[0] if failures else None,
        "timed_out": timed_out,
    }, actions


# ---------------------------------------------------------------- the run


def _phase_cpu(phase: Phase, contacts: int) -> dict[str, float]:
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


async def closed_loop(
    settings: Settings,
    server: ServerProcess,
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
            **_phase_cpu(phases[name], routed),
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
            latency.update(_phase_cpu(phases["latency"], latency["sent"]))
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


# ---------------------------------------------------------------- the report


def _ms(s: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.2f}" for k, v in s.items()) + " ms"


def _cpu(f: dict[str, Any], per: str = "contact") -> str:
    return (
        f"server {f['server_cpu_s']:.2f} s ({f['server_core_share']:.0%} of a core, "
        f"{f['server_cpu_us_per_contact']:.0f} µs/{per}, {f['server_sys_share']:.0%} in "
        "the kernel); "
        + (
            f"redis-server {f['redis_cpu_s']:.2f} s ({f['redis_core_share']:.0%} of a core); "
            if f.get("redis_cpu_s")
            else ""
        )
        + f"client {f['client_cpu_s']:.2f} s ({f['client_core_share']:.0%} of a core); "
        f"other processes {f['other_core_share']:.0%} of a core"
    )


def _snapshot_lines(f: dict[str, Any]) -> list[str]:
    taken = f.get("snapshots") or []
    if not taken:
        return []
    each = ", ".join(f"{s['bytes'] / 1e6:.1f} MB at {s['at_s']:.1f} s" for s in taken)
    return [
        f"   snapshots       {len(taken)} taken by the leader during the phase ({each}), "
        "pickled in a forked child (its CPU counts under other processes)"
    ]


def _redis_lines(r: dict[str, Any]) -> list[str]:
    stats = r.get("redis")
    if not stats:
        return []
    if "error" in stats:
        return [f"redis: statistics unavailable ({stats['error']})"]
    commands = ", ".join(
        f"{name} {c['calls']:,} x {c['usec_per_call']:.1f} µs"
        for name, c in sorted(stats["commands"].items(), key=lambda kv: -kv[1]["calls"])
    )
    server = r["server"]
    return [
        f"redis: commands over the run {commands}; memory {stats['used_memory_mib']:.1f} MiB",
        f"       snapshots saved by the server: {server['snapshots']}"
        + (f" (last: {server['last_snapshot']})" if server["last_snapshot"] else ""),
    ]


def _closed_loop_lines(f: dict[str, Any]) -> list[str]:
    acts = f["actions"]
    lines = [
        f"   ingested+routed {f['routed_per_s']:,.0f} contacts/s ({f['routed']:,} in "
        f"{f['elapsed_s']:.2f} s: {acts.get('connect', 0):,} connect, "
        f"{acts.get('queue', 0):,} queue)" + (" — DEADLINE HIT" if f["timed_out"] else ""),
        f"   webhook answer  {_ms(f['answer_ms'])}",
        f"   agents          offered {f['agents_offered']:,}, completed "
        f"{f['agents_completed']:,}"
        + (f" ({f['completed_per_s']:,.0f} calls/s end to end)" if f["agents_completed"] else "")
        + f"; server RSS after {f['server_rss_mib_after']:.0f} MiB",
        f"   CPU             {_cpu(f)}",
        *_snapshot_lines(f),
    ]
    other = {k: v for k, v in acts.items() if k not in ("connect", "queue")}
    if other or f["broken_connections"]:
        lines.append(
            f"   problems        {other} {f['broken_connections']} broken connection(s) "
            f"{f['first_failure'] or ''}"
        )
    return lines


def _contention(r: dict[str, Any]) -> list[str]:
    worst = max(r[k]["other_core_share"] for k in ("latency", "lifecycle", "surge"))
    if worst < OTHER_LOAD_WARN:
        return []
    return [
        f"WARNING: other processes used up to {worst:.0%} of a core during the run: the "
        "figures are not this machine's; run again when it is idle.",
        "",
    ]


def report_mode(r: dict[str, Any]) -> str:
    m, lat, ag = r["machine"], r["latency"], r["agents"]
    life, sur = r["lifecycle"], r["surge"]
    acts = lat["actions"]
    lines = [
        "Yhteys service under load — real server on loopback, load from a separate process"
        + f", {r['mode']} mode"
        + (" (quick)" if r["quick"] else ""),
        f"machine:  {m['cpus']} CPUs, {m['cpu_model']}, {m['implementation']} {m['python']}, "
        f"aiohttp {m['aiohttp']}, uvloop {m['uvloop']} (server and client share the CPUs)",
        f"workload: {r['workload']['region']}; {r['workload']['channel']}",
        f"server:   {r['workload']['server']}",
        f"          server ready in {r['server']['ready_s']:.2f} s, agents logged in in "
        f"{ag['login_s']:.2f} s",
        "",
        f"1. latency at a fixed rate: {lat['rate']:,.0f} calls/s for "
        f"{r['settings']['seconds']:g} s ({lat['calls']:,} calls after a "
        f"{WARMUP_S:g} s warm-up); agents accept at once and complete on assignment",
        f"   achieved        {lat['achieved_rate']:,.1f} calls/s sent; send lag "
        f"p99 {lat['send_lag_ms']['p99']:.2f} ms, max {lat['send_lag_ms']['max']:.2f} ms",
        f"   ingest → offer  {_ms(lat['ingest_to_offer_ms'])}",
        f"   webhook answer  {_ms(lat['answer_ms'])}",
        f"   routed          {acts.get('connect', 0):,} connected at once, "
        f"{acts.get('queue', 0):,} queued first; offered {lat['offered']:,}/{lat['sent']:,}"
        + (f"; {lat['failures']} failed ({lat['first_failure']})" if lat["failures"] else ""),
        f"   CPU             {_cpu(lat, 'call, accept + complete included')}",
        *_snapshot_lines(lat),
        "",
        f"2. whole lifecycle as fast as it goes: {life['calls']:,} calls, "
        f"{life['concurrency']} in flight ({life['client']} HTTP/1.1 keep-alive client); "
        "agents accept and complete every call",
        *_closed_loop_lines(life),
        "",
        f"3. surge, ingest and route: {sur['calls']:,} calls, {sur['concurrency']} in flight "
        f"({sur['client']} client); every agent keeps its first call, the rest queue",
        *_closed_loop_lines(sur),
        "",
        *_contention(r),
        f"server: log lines by level {r['server']['log_levels']}, exit code "
        f"{r['server']['exit_code']}; agent errors {ag['errors']}"
        + (f" ({ag['last_error']})" if ag["errors"] else ""),
        *_redis_lines(r),
        "targets:",
    ]
    t = r["targets"]
    rate, p99 = t["sustained_rate"], t["p99_ingest_to_offer_ms"]
    lines.append(
        f"  {'PASS' if rate['pass'] else 'MISS'}  sustained ingest+route >= "
        f"{rate['target']:,.0f} contacts/s (surge): {rate['measured']:,.0f}"
    )
    lines.append(
        f"  {'PASS' if p99['pass'] else 'MISS'}  p99 ingest → offer < {p99['target']:g} ms "
        f"at {p99['at_rate']:,.0f} contacts/s: {p99['measured']:.2f} ms"
    )
    lines.append(f"(total {r['total_s']:.1f} s)")
    return "\n".join(lines)


def _side_by_side(runs: list[dict[str, Any]]) -> list[str]:
    def cpu(f: dict[str, Any]) -> str:
        text = f"{f['server_core_share']:.0%}"
        if f.get("redis_cpu_s"):
            text += f" + redis {f['redis_core_share']:.0%}"
        return text

    rows: list[tuple[str, ...]] = [
        (
            "mode",
            "surge contacts/s",
            "server µs/contact",
            "CPU (cores)",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "lifecycle calls/s",
            "CPU (cores)",
        )
    ]
    for r in runs:
        lat, life, sur = r["latency"], r["lifecycle"], r["surge"]
        rows.append(
            (
                r["mode"],
                f"{sur['routed_per_s']:,.0f}" + (" (deadline)" if sur["timed_out"] else ""),
                f"{sur['server_cpu_us_per_contact']:.0f}",
                cpu(sur),
                f"{lat['ingest_to_offer_ms']['p50']:.2f}",
                f"{lat['ingest_to_offer_ms']['p99']:.2f}",
                f"{lat['ingest_to_offer_ms']['p99.9']:.2f}",
                f"{life['completed_per_s']:,.0f}",
                cpu(life),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    rate = runs[0]["latency"]["rate"]
    return [
        "Side by side (surge: ingest + route with every agent busy; p50/p99: ingest → agent "
        f"offer at {rate:,.0f} calls/s; lifecycle: ingest, offer, accept, complete end to "
        "end; CPU: share of one core during the phase):",
        *lines,
    ]


def report(result: dict[str, Any]) -> str:
    """The text of ``run_settings``: each mode in full, then the modes side by side."""
    runs: list[dict[str, Any]] = result["runs"]
    parts = [report_mode(r) for r in runs]
    if result.get("skipped"):
        parts.append(
            "skipped: " + "; ".join(f"{m} ({why})" for m, why in result["skipped"].items())
        )
    if runs:
        parts.append("\n".join(_side_by_side(runs)))
    return "\n\n".join(parts)


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
