"""Redis mode when something is wrong (issue 13.5, 13.6), against real ``redis-server``
processes on loopback: each misconfiguration names its cause in the log and in
``/readyz``; an unreadable log entry stalls the region with its id until ``yhteys log
quarantine`` moves it aside; garbage at the lease key does not leave the region without
a leader; a stalled Redis is reported at once and drops no healthy websocket."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.cli import main
from router.core.errors import UnknownContact
from router.core.events import TimerDue
from router.instance import channel_of
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from router.store import StoreUnavailable
from router.store.keys import Keys
from router.store.redis import RedisStore
from tests.redis_support import RedisServer, free_port, require_redis_server, unique_region
from tests.service_support import CHAT_WS, Socket, bearer, region, until

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)
PASSWORD = "s3cret-for-tests"


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this module's own (it is stopped with SIGSTOP in a test)."""
    require_redis_server()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(free_port(), tmp)
        server.start()
        try:
            yield server
        finally:
            if server.proc is not None:
                server.proc.send_signal(signal.SIGCONT)
            server.stop()


@pytest.fixture(scope="module")
def locked_redis() -> Iterator[int]:
    """A redis-server that requires a password; its port."""
    require_redis_server()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [
                "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", tmp, "--requirepass", PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = redis.Redis(port=port, password=PASSWORD, socket_timeout=1)
            for _ in range(200):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    subprocess.run(["sleep", "0.05"], check=True)
            client.close()
            yield port
        finally:
            proc.kill()
            proc.wait(10)


async def readyz(client: Client) -> tuple[int, dict[str, Any]]:
    r = await client.get("/readyz")
    return r.status, await r.json()


async def served(aiohttp_client: MakeClient, url: str, key: str) -> tuple[Client, Service]:
    service = Service(region(), Settings(), store=RedisStore(url, key), replica=FAST)
    return await aiohttp_client(build_app(service)), service


async def wait_for_body(
    client: Client, check: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    async def poll() -> dict[str, Any]:
        while True:
            _, body = await readyz(client)
            if check(body):
                return body
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


# ------------------------------------------------------------------ misconfiguration

MISCONFIGURED: dict[str, tuple[Callable[[int, int], str], str]] = {
    "no password": (lambda port, free: f"redis://127.0.0.1:{port}/0", "NOAUTH"),
    "wrong password": (lambda port, free: f"redis://:wrong@127.0.0.1:{port}/0", "WRONGPASS"),
    "database out of range": (
        lambda port, free: f"redis://:{PASSWORD}@127.0.0.1:{port}/99",
        "database number in the URL does not exist",
    ),
    "nothing listening": (lambda port, free: f"redis://127.0.0.1:{free}/0", "connection refused"),
    "unknown host": (lambda port, free: "redis://no-such-host.invalid:6379/0", "DNS"),
}


@pytest.mark.parametrize("case", list(MISCONFIGURED))
async def test_each_misconfiguration_names_its_cause_once_in_the_log_and_in_readyz(
    case: str,
    locked_redis: int,
    aiohttp_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_url, cause = MISCONFIGURED[case]
    caplog.set_level(logging.INFO, logger="yhteys")
    client, service = await served(
        aiohttp_client, make_url(locked_redis, free_port()), unique_region()
    )
    body = await wait_for_body(client, lambda b: "problem" in b and cause in b["problem"])
    assert body["status"] == "starting"
    assert body["store"] == "unreachable"
    assert "the region's store cannot be reached" in body["problem"]
    assert PASSWORD not in body["problem"]
    # It keeps trying, and says so once, not once per attempt.
    runtime = service.runtime
    assert isinstance(runtime, ReplicatedRuntime)
    await until(lambda: caplog.text.count("cannot be reached") >= 1, timeout=5)
    await asyncio.sleep(5 * FAST.retry_s)  # a few more attempts
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert cause in errors[0].getMessage()
    # A request is refused naming the cause, not left hanging.
    r = await client.post(
        "/api/channels/phone/calls",
        json={"call_id": "m1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}},
        headers=bearer("telephony"),
    )
    assert r.status == 503
    assert cause in await r.text()
    await client.close()
    await service.store.close()  # type: ignore[union-attr]


async def test_an_instance_catching_up_says_so_rather_than_that_the_store_is_away(
    redis_url: str,
) -> None:
    store = RedisStore(redis_url, unique_region())
    service = Service(region(), Settings(), store=store, replica=FAST)
    runtime = service.runtime
    assert isinstance(runtime, ReplicatedRuntime)
    # Not yet caught up (the loop has not run): Redis itself is fine.
    with pytest.raises(StoreUnavailable, match="catching up with the region's log"):
        await runtime.submit(TimerDue())
    await store.close()


# ------------------------------------------------------------------ garbage at the keys

CALL = {"caller": "+358401234567", "ivr": {"service": "nursing_advice"}}


async def post_call(client: Client, call_id: str) -> aiohttp.ClientResponse:
    return await client.post(
        "/api/channels/phone/calls", json={"call_id": call_id, **CALL}, headers=bearer("telephony")
    )


def knows(service: Service, contact_id: str) -> bool:
    try:
        service.engine.contact(contact_id)
    except UnknownContact:
        return False
    return True


async def test_an_unreadable_log_entry_stalls_the_region_by_its_id_until_quarantined(
    redis_url: str,
    aiohttp_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO, logger="yhteys")
    key = unique_region()
    a, service_a = await served(aiohttp_client, redis_url, key)
    b, service_b = await served(aiohttp_client, redis_url, key)
    for client in (a, b):
        await wait_for_body(client, lambda body: body["status"] == "ready")
    assert (await post_call(a, "before")).status == 201

    admin = redis.Redis.from_url(redis_url)
    stray_id: Any = admin.xadd(Keys(key).log, {"hello": "world"})
    stray = stray_id.decode()
    for client in (a, b):
        body = await wait_for_body(client, lambda body: body["status"] == "stalled")
        assert stray in body["problem"] and "quarantine" in body["problem"]
    assert any(stray in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    # Requests are refused at once, naming the entry; they do not hang.
    r = await post_call(b, "during")
    assert r.status == 503
    assert stray in await r.text()

    # The operator looks, and moves it aside.
    argv = ["--redis", redis_url, "--region", key]
    assert await asyncio.to_thread(main, ["log", "inspect", *argv]) == 1
    assert f"unreadable log entry {stray}" in capsys.readouterr().out
    # A mistyped id of a readable entry, or a partial id, moves nothing.
    good: Any = admin.xrange(Keys(key).log, count=1)
    good_id = good[0][0].decode()
    assert await asyncio.to_thread(main, ["log", "quarantine", good_id, *argv]) == 2
    assert "is readable" in capsys.readouterr().err
    partial = stray.split("-")[0]
    assert await asyncio.to_thread(main, ["log", "quarantine", partial, *argv]) == 2
    assert "not a whole log entry id" in capsys.readouterr().err
    assert admin.xrange(Keys(key).log, good_id, good_id) != []
    assert await asyncio.to_thread(main, ["log", "quarantine", stray, *argv]) == 0
    assert stray in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["log", "quarantine", stray, *argv]) == 1  # once
    assert f"the log has no entry {stray}" in capsys.readouterr().err
    for client in (a, b):
        await wait_for_body(client, lambda body: body["status"] == "ready")
    # Kept, not dropped.
    moved: Any = admin.xrange(Keys(key).quarantine)
    [(_, fields)] = moved
    assert fields[b"id"].decode() == stray and fields[b"f:hello"] == b"world"
    assert admin.xrange(Keys(key).log, stray, stray) == []
    # The region carries on with nothing else lost, on both instances.
    assert (await post_call(b, "after")).status == 201
    for service in (service_a, service_b):
        await until(lambda s=service: knows(s, "phone-after"), timeout=5)  # type: ignore[misc]
        assert knows(service, "phone-before")
    assert await asyncio.to_thread(main, ["log", "inspect", *argv]) == 0
    assert "0 unreadable" in capsys.readouterr().out
    admin.close()
    for client, service in ((a, service_a), (b, service_b)):
        await client.close()
        await service.store.close()  # type: ignore[union-attr]


async def test_a_lease_key_without_expiry_is_reported_and_lapses_so_an_instance_leads(
    redis_url: str, aiohttp_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    key = unique_region()
    admin = redis.Redis.from_url(redis_url)
    admin.set(Keys(key).lease, "someone-by-hand:1")  # no TTL
    client, service = await served(aiohttp_client, redis_url, key)
    await until(lambda: service.runtime.is_leader, timeout=10)
    assert "had no expiry" in caplog.text
    admin.close()
    await client.close()
    await service.store.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("where", "garbage", "said"),
    [
        ("fence", "banana", "lease_problem"),
        ("snapshot", {"foo": "bar"}, "problem"),
    ],
)
async def test_garbage_at_the_fence_or_snapshot_key_is_named_in_readyz(
    where: str, garbage: Any, said: str, redis_url: str, aiohttp_client: MakeClient
) -> None:
    key = unique_region()
    admin = redis.Redis.from_url(redis_url)
    target = getattr(Keys(key), where)
    if isinstance(garbage, dict):
        admin.hset(target, mapping=garbage)
    else:
        admin.set(target, garbage)
    client, service = await served(aiohttp_client, redis_url, key)
    body = await wait_for_body(client, lambda b: where in b.get(said, ""))
    assert body["leader"] is False
    if where == "snapshot":  # nothing to start from: it does not serve
        assert body["status"] == "stalled"
    admin.close()
    await client.close()
    await service.store.close()  # type: ignore[union-attr]


# ------------------------------------------------------------------ a stalled Redis

HEARTBEAT_S = 0.3  # the browser's ping interval (aiohttp closes on a missing pong)
CHAT_START = {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}


def knows_said(service: Service, contact_id: str, text: str) -> bool:
    s = channel_of(service).by_contact.get(contact_id)
    return s is not None and any(m["text"] == text for m in s.transcript)


async def test_a_redis_stall_is_reported_at_once_and_drops_no_healthy_socket(
    own_redis: RedisServer, aiohttp_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    own_redis.flush()
    client, service = await served(aiohttp_client, own_redis.url, unique_region())
    await wait_for_body(client, lambda body: body["status"] == "ready")
    sockets = []
    for agent_id in ("a001", "a002"):
        url = f"/api/agent/ws?access_token=demo-agent-{agent_id}"
        sockets.append(Socket(await client.ws_connect(url, heartbeat=HEARTBEAT_S)))
        await sockets[-1].next("state")
        await sockets[-1].send({"type": "login", "id": "login"})
        await sockets[-1].next("ack")
    agent, leaving = sockets
    url = f"{CHAT_WS}?access_token=demo-public"
    chat = Socket(await client.ws_connect(url, heartbeat=HEARTBEAT_S))
    await chat.send(CHAT_START)
    cid = (await chat.next("session"))["contact_id"]

    assert own_redis.proc is not None
    own_redis.proc.send_signal(signal.SIGSTOP)
    try:
        # Actions that wait for the store; the clients keep reading (and pinging).
        await agent.send({"type": "presence", "presence": "not_ready", "id": "p1"})
        acked = asyncio.create_task(agent.next("ack", timeout=30))
        await chat.send({"type": "message", "text": "still there?"})
        chat_open = asyncio.create_task(chat.closed(timeout=30))
        await leaving.send({"type": "presence", "presence": "not_ready", "id": "p2"})
        await leaving.close()  # a client that goes away while its action waits
        body = await wait_for_body(client, lambda b: b.get("store") == "not_answering")
        assert body["status"] == "not_ready"
        assert "has not answered" in body["problem"]
        # The stall goes on for many of the clients' heartbeats...
        await asyncio.sleep(6 * HEARTBEAT_S)
        assert not acked.done() and not agent.ws.closed
        assert not chat_open.done() and not chat.ws.closed
    finally:
        own_redis.proc.send_signal(signal.SIGCONT)
    # ...and when Redis is back the actions are carried out, answered on the same sockets.
    assert (await acked)["id"] == "p1"
    assert not agent.ws.closed and not chat.ws.closed
    await wait_for_body(client, lambda body: body["status"] == "ready")
    assert service.engine.agent("a001").presence.value == "not_ready"
    await until(lambda: knows_said(service, cid, "still there?"), timeout=10)
    await until(lambda: service.engine.agent("a002").presence.value == "not_ready", timeout=10)
    # The client that left is logged as such, not as an error.
    await until(lambda: "agent a002 disconnected" in caplog.text, timeout=10)
    await agent.close()
    chat_open.cancel()
    await chat.close()
    await client.close()
    await service.store.close()  # type: ignore[union-attr]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
