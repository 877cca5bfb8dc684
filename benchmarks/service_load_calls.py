"""The calls of the service benchmark, through the telephony platform's webhook: each
with its own caller and a fixed-width id (every request of a phase has one length),
posted on a fixed schedule (``fixed_rate``: latency to the agent's offer) or with a
fixed number in flight (``surge_lean`` on the lean keep-alive client of
``benchmarks/load_client.py``, ``surge_aiohttp`` to compare)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import aiohttp

from benchmarks.load_client import Connection, open_pool, request_bytes, run_closed_loop
from benchmarks.load_region import LANGUAGE, SERVICE, SITE
from benchmarks.service_load_agents import CLIENT_TIMEOUT_S, Agents
from benchmarks.service_load_measure import summary_ms
from benchmarks.service_load_processes import HOST

CALLS_PATH = "/api/channels/phone/calls"
CALLER_PREFIX = "+3584"  # + 8 digits: every call has its own caller, one width
WARMUP_S = 1.0
DRAIN_TIMEOUT_S = 10.0
SURGE_DEADLINE_S = 45.0


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


async def post_call(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    actions: Counter[str],
    failures: list[str],
) -> float | None:
    """Posts one call's webhook and counts its answer's action; the seconds it took to
    answer, or None when it failed (recorded in ``failures``)."""
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
        return None
    took = time.perf_counter() - t0
    actions[action_of(status, raw)] += 1
    return took


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
        sent_at["phone-" + cid] = perf()
        took = await post_call(session, url, call_body(cid), headers, actions, failures)
        if took is not None:
            answer_s.append(took)

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
                took = await post_call(session, url, body, headers, actions, failures)
                if took is None:
                    return
                latencies.append(took)

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
