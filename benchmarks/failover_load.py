"""The failover benchmark's calls: posted through the phone webhook at a steady rate,
round-robin over the live instances, a failed post retried on the next with the same
``call_id`` as a telephony platform retries (``benchmarks.failover``)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field

import aiohttp

from benchmarks.failover_setup import (
    CLIENT_TIMEOUT_S,
    MAX_ATTEMPTS,
    RETRY_PAUSE_S,
    SETTLE_S,
    Cluster,
)
from benchmarks.failover_watch import Seen
from benchmarks.load_region import LANGUAGE, SERVICE, SITE
from benchmarks.service_load import (
    CALLS_PATH,
    HOST,
    ServerProcess,
    caller_of,
)

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


def call_body(call_id: str, service_id: str) -> bytes:
    return json.dumps(
        {
            "call_id": call_id,
            "caller": caller_of(call_id),
            "site": SITE,
            "ivr": {"service": service_id, "language": LANGUAGE},
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
        self, call_id: str, service_id: str = SERVICE, first: ServerProcess | None = None
    ) -> Call:
        """Posts until an instance answers; ``first``: the instance to try first."""
        call = self.calls[call_id] = Call(time.perf_counter())
        body = call_body(call_id, service_id)
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
