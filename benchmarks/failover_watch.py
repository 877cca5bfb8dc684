"""What the failover benchmark observes: the agents' websockets (offers, offer expiries,
assignments, as each agent saw them), the ``TimerDue`` entries in the region's log and
when a successor logged that it took the lease (``benchmarks.failover``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import ClientWebSocketResponse, WSMsgType

from benchmarks.failover_setup import LOGIN_TIMEOUT_S
from benchmarks.service_load import (
    HOST,
    ServerProcess,
)
from router.core.events import TimerDue
from router.store.codec import decode
from router.store.keys import Keys, region_key

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
