"""Redis mode inside one process: several services share one store, each a replica of
the region's log. Run against the memory store and a real Redis."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from router.core import decisions as d
from router.core.errors import Conflict, UnknownContact
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    OfferAccepted,
    ServiceUpdated,
)
from router.core.model import Channel, ContactSpec, ContactState
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.runtime import Part
from router.service.service import Service, Settings
from router.store import LogEntry, Store, StoreUnavailable
from router.store.codec import decode, encode
from router.store.memory import MemoryStore
from router.store.redis import RedisStore
from tests.redis_support import RedisServer, unique_region
from tests.service_support import region

FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)

StoreFactory = Callable[[], Store]


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> StoreFactory:
    """Makes clients of one shared store (one per instance)."""
    if request.param == "memory":
        shared = MemoryStore()
        return lambda: shared
    url = request.getfixturevalue("redis_url")
    key = unique_region()
    return lambda: RedisStore(url, key)


class Instance:
    def __init__(self, store: Store) -> None:
        self.service = Service(region(), Settings(), store=store, replica=FAST)
        runtime = self.service.runtime
        assert isinstance(runtime, ReplicatedRuntime)
        self.runtime = runtime
        self.heard: list[d.Decision] = []
        runtime.listeners.append(lambda decision, now: self.heard.append(decision))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Instance:
        self.task = asyncio.create_task(self.runtime.run())
        async with asyncio.timeout(5):
            await self.runtime.started.wait()
        return self

    async def stop(self) -> None:
        await self.runtime.stop()
        if self.task is not None:
            try:
                async with asyncio.timeout(15):
                    await self.task
            except TimeoutError:
                stuck = [t.get_stack() for t in asyncio.all_tasks()]
                raise AssertionError(f"the replica did not stop; tasks: {stuck}") from None

    async def crash(self) -> None:
        """Dies without a word: no snapshot, no hand-over (as kill -9 leaves things)."""
        self.runtime.halt()
        if self.task is not None:
            async with asyncio.timeout(5):
                await self.task


@pytest.fixture
async def cluster(stores: StoreFactory) -> AsyncIterator[Callable[[], Instance]]:
    made: list[Instance] = []

    def make() -> Instance:
        instance = Instance(stores())
        made.append(instance)
        return instance

    yield make
    for instance in made:
        if instance.task is not None and not instance.task.done():
            await instance.stop()
        await instance.service.store.close()  # type: ignore[union-attr]


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def in_state(instance: Instance, contact_id: str, state: ContactState) -> Callable[[], bool]:
    """True once the instance's replica has the contact in ``state`` (a replica that has
    not read the arrival yet does not know the contact)."""

    def check() -> bool:
        try:
            return instance.service.engine.contact(contact_id).state is state
        except UnknownContact:
            return False

    return check


def call(n: int, service: str = "nursing_advice") -> ContactArrived:
    return ContactArrived(ContactSpec(f"phone-c{n}", Channel.VOICE, service, language="fi"))


def kinds(decisions: list[d.Decision]) -> list[tuple[str, str]]:
    return [(type(x).__name__, getattr(x, "contact_id", "")) for x in decisions]


async def test_a_contact_submitted_on_one_instance_is_offered_by_every_replica(
    cluster: Callable[[], Instance],
) -> None:
    a, b = await cluster().start(), await cluster().start()
    await b.runtime.submit(AgentLoggedIn("a001"))
    decisions = await a.runtime.submit(call(1))
    assert [type(x) for x in decisions] == [d.Offered]
    assert decisions[0].agent_id == "a001"  # type: ignore[union-attr]
    await until(lambda: len(b.heard) == len(a.heard))
    assert kinds(a.heard) == kinds(b.heard)
    assert b.service.engine.contact("phone-c1").state is ContactState.OFFERED
    # The agent's answer goes in at b; a sees the same assignment.
    await b.runtime.submit(OfferAccepted("phone-c1", "a001"))
    await until(in_state(a, "phone-c1", ContactState.ASSIGNED))


async def test_refusals_are_the_same_everywhere_and_reach_only_the_submitter(
    cluster: Callable[[], Instance],
) -> None:
    a, b = await cluster().start(), await cluster().start()
    await a.runtime.submit(AgentLoggedIn("a001"))
    await a.runtime.submit(call(1))
    with pytest.raises(Conflict):
        await b.runtime.submit(OfferAccepted("phone-c1", "a002"))
    await until(lambda: b.runtime.last_id == a.runtime.last_id)
    assert a.service.engine.contact("phone-c1").agent_id == "a001"


async def test_exactly_one_leader_keeps_time_and_offers_expire_on_every_replica(
    cluster: Callable[[], Instance],
) -> None:
    a, b = await cluster().start(), await cluster().start()
    await until(lambda: a.runtime.is_leader or b.runtime.is_leader)
    await asyncio.sleep(0.2)
    assert a.runtime.is_leader != b.runtime.is_leader
    quick = replace(a.service.engine.service("nursing_advice"), offer_timeout_s=0.3)
    await a.runtime.submit(ServiceUpdated(quick))
    await a.runtime.submit(AgentLoggedIn("a001"))
    await b.runtime.submit(call(1))

    # Nobody answers: the leader's clock expires the offer, and both replicas see it.
    def requeued(i: Instance) -> bool:
        return any(isinstance(x, d.Requeued) for x in i.heard)

    await until(lambda: requeued(a) and requeued(b))
    assert kinds(a.heard) == kinds(b.heard)


async def test_a_follower_takes_over_when_the_leader_dies_and_keeps_the_timers(
    cluster: Callable[[], Instance],
) -> None:
    a = await cluster().start()
    await until(lambda: a.runtime.is_leader)
    b = await cluster().start()
    quick = replace(a.service.engine.service("nursing_advice"), offer_timeout_s=1.0)
    await a.runtime.submit(ServiceUpdated(quick))
    await a.runtime.submit(AgentLoggedIn("a001"))
    await a.runtime.submit(call(1))
    await until(in_state(b, "phone-c1", ContactState.OFFERED))
    await a.crash()
    # The offer made before the crash still expires: b took the lease and keeps time.
    await until(lambda: any(isinstance(x, d.Requeued) for x in b.heard), timeout=5)
    assert b.runtime.is_leader
    # Events keep flowing through the survivor.
    await b.runtime.submit(call(2))
    assert b.service.engine.waiting_count == 2


async def test_a_restarted_region_loses_nothing(cluster: Callable[[], Instance]) -> None:
    a = await cluster().start()
    await until(lambda: a.runtime.is_leader)
    await a.runtime.submit(AgentLoggedIn("a001"))
    for n in range(1, 6):
        await a.runtime.submit(call(n))
    await a.runtime.submit(OfferAccepted("phone-c1", "a001"))
    await a.runtime.snapshot()  # part of the state from a snapshot, part from the log
    await a.runtime.submit(ContactCompleted("phone-c1", "a001"))
    await a.runtime.submit(call(6))
    before = sorted((c.id, c.state, c.agent_id) for c in a.service.engine.contacts())
    agents = sorted((x.id, x.status) for x in a.service.engine.agents())
    finished = dict(a.service.handle_times.mean_s)
    await a.crash()
    b = await cluster().start()
    assert sorted((c.id, c.state, c.agent_id) for c in b.service.engine.contacts()) == before
    assert sorted((x.id, x.status) for x in b.service.engine.agents()) == agents
    assert b.service.handle_times.mean_s == finished
    assert len(before) == 5


async def test_a_retried_append_has_no_second_effect(
    cluster: Callable[[], Instance], stores: StoreFactory
) -> None:
    a = await cluster().start()
    arrive = encode([("retried:1", 1.0, call(1))])
    store = stores()
    try:
        await store.append([arrive])
        await store.append([encode([("retried:2", 2.0, ContactCancelled("phone-c1"))])])
        await store.append([arrive])  # the first request again, as after a lost reply
    finally:
        if store is not a.service.store:
            await store.close()
    await a.runtime.submit(call(2))
    # Applied twice, the arrival would have opened phone-c1 again after its cancel.
    assert {c.id for c in a.service.engine.contacts()} == {"phone-c2"}
    assert [x.contact_id for x in a.heard if isinstance(x, d.Closed)] == ["phone-c1"]


async def test_an_unreachable_store_is_refused_with_a_clear_error_and_recovered_from() -> None:
    store = MemoryStore()
    a = await Instance(store).start()
    try:
        store.down = True
        await until(lambda: not a.runtime.healthy)
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            await a.runtime.submit(call(1))
        store.down = False
        await until(lambda: a.runtime.healthy)
        await a.runtime.submit(call(1))
        assert a.service.engine.waiting_count == 1
    finally:
        await a.stop()


async def test_instances_recover_when_a_real_redis_comes_back(redis_server: RedisServer) -> None:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    a = await Instance(RedisStore(redis_server.url, unique_region())).start()
    try:
        await a.runtime.submit(call(1))
        redis_server.stop()
        await until(lambda: not a.runtime.healthy)
        with pytest.raises(StoreUnavailable):
            await a.runtime.submit(call(2))
        redis_server.start()  # an empty Redis: what it held is gone, the instance goes on
        await until(lambda: a.runtime.healthy, timeout=10)
        await a.runtime.submit(call(3))
        assert {c.id for c in a.service.engine.contacts()} == {"phone-c1", "phone-c3"}
    finally:
        await a.stop()
        await a.service.store.close()  # type: ignore[union-attr]


class Lagging:
    """A store client whose reads return nothing while ``paused`` (a follower stuck
    behind a long pause or a partition); everything else goes to the real store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.paused = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def read(self, after: str, count: int, block_ms: int | None) -> list[LogEntry]:
        if self.paused:
            await asyncio.sleep((block_ms or 0) / 1000)
            return []
        return await self.store.read(after, count, block_ms)

    async def read_and_trim(
        self, after: str, count: int, block_ms: int | None
    ) -> tuple[list[LogEntry], str | None]:
        entries = await self.read(after, count, block_ms)
        return entries, await self.store.trimmed_below()


async def test_a_follower_left_behind_a_trim_loads_the_snapshot_instead_of_skipping(
    stores: StoreFactory,
) -> None:
    a = Instance(stores())
    await a.start()
    await until(lambda: a.runtime.is_leader)
    lagging = Lagging(stores())
    b = Instance(lagging)  # type: ignore[arg-type]
    await b.start()
    await a.runtime.submit(AgentLoggedIn("a001"))
    await until(lambda: b.runtime.last_id == a.runtime.last_id)
    lagging.paused = True
    for n in range(1, 4):
        await a.runtime.submit(call(n))
    await a.runtime.snapshot()
    for n in range(4, 7):
        await a.runtime.submit(call(n))
    await a.runtime.snapshot()  # trims what b has not read
    await a.runtime.submit(call(7))
    lagging.paused = False
    await until(lambda: b.runtime.resyncs == 1)
    await until(lambda: b.runtime.last_id == a.runtime.last_id)
    assert sorted(c.id for c in b.service.engine.contacts()) == sorted(
        c.id for c in a.service.engine.contacts()
    )
    assert len(list(b.service.engine.contacts())) == 7
    try:
        await b.stop()
    finally:
        await a.stop()
        for i in (a, b):
            await i.service.store.close()  # type: ignore[union-attr]


class SlowReads(Lagging):
    """A follower that keeps reading, just slowly: one entry a read."""

    async def read(self, after: str, count: int, block_ms: int | None) -> list[LogEntry]:
        await asyncio.sleep(0.02)
        return await self.store.read(after, 1, block_ms)


async def test_a_follower_reading_steadily_but_slowly_never_reads_across_a_trimmed_hole(
    stores: StoreFactory,
) -> None:
    a = await Instance(stores()).start()
    await until(lambda: a.runtime.is_leader)
    b = await Instance(SlowReads(stores())).start()  # type: ignore[arg-type]
    try:
        for n in range(1, 31):
            await a.runtime.submit(call(n))
            if n % 10 == 0:
                await a.runtime.snapshot()  # the second and third trim what b has not read
        await until(lambda: b.runtime.last_id == a.runtime.last_id, timeout=10)
        assert b.runtime.resyncs >= 1
        assert sorted(c.id for c in b.service.engine.contacts()) == sorted(
            c.id for c in a.service.engine.contacts()
        )
    finally:
        await b.stop()
        await a.stop()
        for i in (a, b):
            await i.service.store.close()  # type: ignore[union-attr]


async def test_an_event_the_instance_cannot_confirm_in_time_is_answered_503_not_hung(
    stores: StoreFactory,
) -> None:
    lagging = Lagging(stores())
    a = Instance(lagging)  # type: ignore[arg-type]
    a.runtime.settings = replace(FAST, confirm_timeout_s=0.3)
    await a.start()
    try:
        lagging.paused = True  # appends land, but this instance reads nothing back
        await asyncio.sleep(0.25)  # the read already under way ends first
        with pytest.raises(StoreUnavailable, match="may still be applied"):
            await a.runtime.submit(call(1))
        lagging.paused = False  # it did land: applied once it is read
        await until(lambda: a.service.engine.waiting_count == 1)
    finally:
        await a.stop()
        await a.service.store.close()  # type: ignore[union-attr]


def captured_pid(instance: Instance) -> None:
    """Registers a part whose captured value is the pid of the process that captured it."""
    instance.runtime.parts["pid"] = Part(capture=os.getpid, restore=lambda _: None)


async def saved_parts(store: Store | None) -> dict[str, object]:
    assert store is not None
    snapshot = await store.load_snapshot()
    assert snapshot is not None
    parts: dict[str, object] = decode(snapshot.blob)["parts"]
    return parts


async def test_the_leader_pickles_a_snapshot_in_a_child_process_and_it_restores(
    cluster: Callable[[], Instance],
) -> None:
    a = cluster()
    captured_pid(a)
    await a.start()
    await until(lambda: a.runtime.is_leader)
    await a.runtime.submit(AgentLoggedIn("a001"))
    for n in range(1, 4):
        await a.runtime.submit(call(n))
    assert await a.runtime.snapshot()
    pid = (await saved_parts(a.service.store))["pid"]
    assert isinstance(pid, int) and pid != os.getpid()
    before = sorted((c.id, c.state, c.agent_id) for c in a.service.engine.contacts())
    await a.crash()
    b = await cluster().start()  # from the snapshot alone: nothing was logged after it
    assert b.runtime.last_id == a.runtime.last_id
    assert sorted((c.id, c.state, c.agent_id) for c in b.service.engine.contacts()) == before


async def test_when_fork_fails_the_snapshot_is_taken_on_the_event_loop(
    cluster: Callable[[], Instance],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = cluster()
    captured_pid(a)
    await a.start()
    await until(lambda: a.runtime.is_leader)
    await a.runtime.submit(call(1))

    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    assert await a.runtime.snapshot()
    assert (await saved_parts(a.service.store))["pid"] == os.getpid()
    assert "fork failed" in caplog.text and "on the event loop instead" in caplog.text


async def test_the_log_is_applied_while_the_child_pickles(
    cluster: Callable[[], Instance],
) -> None:
    a = cluster()
    # The child takes its time; the parent must not wait for it to apply the log.
    a.runtime.parts["slow"] = Part(capture=lambda: time.sleep(1.0), restore=lambda _: None)
    await a.start()
    await until(lambda: a.runtime.is_leader)
    await a.runtime.submit(call(1))
    upto = a.runtime.last_id
    snapshot = asyncio.create_task(a.runtime.snapshot())
    await asyncio.sleep(0.05)  # the child has been forked
    await a.runtime.submit(call(2))
    assert not snapshot.done()
    assert await snapshot
    saved = await a.service.store.load_snapshot()  # type: ignore[union-attr]
    assert saved is not None and saved.upto == upto  # the state as it was at the fork
    assert a.runtime._since_snapshot == 1  # call 2 counts towards the next snapshot


def gone(pid: int) -> bool:
    """True once process ``pid`` has exited and been reaped (no zombie left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def slow_child_part(instance: Instance, pid_file: Path, seconds: float) -> None:
    """A part whose first capture, in the child, writes the child's pid and then takes
    its time (later ones, such as the hand-over's at a stop, are quick)."""

    def capture() -> None:
        if pid_file.exists():
            return
        pid_file.write_text(str(os.getpid()))
        time.sleep(seconds)

    instance.runtime.parts["slow"] = Part(capture=capture, restore=lambda _: None)


async def child_pid(pid_file: Path) -> int:
    await until(lambda: pid_file.exists() and pid_file.read_text() != "")
    return int(pid_file.read_text())


async def test_the_leader_snapshots_on_its_own_in_a_child_and_keeps_time_meanwhile(
    stores: StoreFactory,
) -> None:
    a = Instance(stores())
    a.runtime.settings = replace(FAST, snapshot_every_s=0.2)
    captured_pid(a)
    a.runtime.parts["slow"] = Part(capture=lambda: time.sleep(0.5), restore=lambda _: None)
    await a.start()
    try:
        await until(lambda: a.runtime.is_leader)
        quick = replace(a.service.engine.service("nursing_advice"), offer_timeout_s=0.2)
        await a.runtime.submit(ServiceUpdated(quick))
        await a.runtime.submit(AgentLoggedIn("a001"))
        await until(lambda: a.runtime._snapshot_task is not None)  # a child is pickling
        await a.runtime.submit(call(1))
        # The offer expires on time although a snapshot is being taken (TimerDue).
        await until(lambda: any(isinstance(x, d.Requeued) for x in a.heard), timeout=2)
        await until(lambda: a.runtime.snapshots >= 1)
        pid = (await saved_parts(a.service.store))["pid"]
        assert isinstance(pid, int) and pid != os.getpid()
    finally:
        await a.stop()
        await a.service.store.close()  # type: ignore[union-attr]


async def test_a_stop_during_a_capture_leaves_no_child_behind(
    cluster: Callable[[], Instance], tmp_path: Path
) -> None:
    a = cluster()
    slow_child_part(a, tmp_path / "pid", seconds=30)
    await a.start()
    await until(lambda: a.runtime.is_leader)
    await a.runtime.submit(call(1))
    a.runtime._snapshot_task = asyncio.create_task(a.runtime._background_snapshot())
    pid = await child_pid(tmp_path / "pid")
    await a.stop()  # the background capture is cancelled: the child is killed and reaped
    assert gone(pid)


async def test_a_child_that_does_not_deliver_in_time_is_killed_and_tried_again_later(
    cluster: Callable[[], Instance], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = cluster()
    a.runtime.settings = replace(FAST, snapshot_timeout_s=0.5)
    slow_child_part(a, tmp_path / "pid", seconds=30)
    await a.start()
    await until(lambda: a.runtime.is_leader)
    await a.runtime.submit(call(1))
    assert not await a.runtime.snapshot()
    assert gone(await child_pid(tmp_path / "pid"))
    assert "did not finish within" in caplog.text
    assert await a.service.store.load_snapshot() is None  # type: ignore[union-attr]
    assert a.runtime._since_snapshot == 1  # still due


async def test_a_new_leader_at_the_stored_snapshot_writes_nothing_and_is_done(
    cluster: Callable[[], Instance],
) -> None:
    a = await cluster().start()
    await until(lambda: a.runtime.is_leader)
    b = await cluster().start()
    await a.runtime.submit(call(1))
    await until(lambda: b.runtime.last_id == a.runtime.last_id)
    assert await a.runtime.snapshot()
    stored = await b.service.store.load_snapshot()  # type: ignore[union-attr]
    await a.crash()
    await until(lambda: b.runtime.is_leader, timeout=5)
    assert b.runtime._since_snapshot > 0  # it applied the log live, not from the snapshot
    # Same position, same state: nothing is written, and it is not due again.
    assert await b.runtime.snapshot()
    assert b.runtime._since_snapshot == 0 and b.runtime.snapshots == 0
    assert await b.service.store.load_snapshot() == stored  # type: ignore[union-attr]
