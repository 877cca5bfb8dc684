"""One contract, every store: the same suite runs against the memory store and against a
real Redis (a ``redis-server`` the tests start), so Redis mode and the embedded default
mean the same thing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from router.store import NotLeader, Saved, Snapshot, Store, StoredConfig
from router.store.codec import UnsafeData, decode, encode
from router.store.memory import MemoryStore
from router.store.redis import RedisStore
from tests.redis_support import RedisServer, unique_region


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    url = request.getfixturevalue("redis_url")
    s = RedisStore(url, unique_region())
    try:
        yield s
    finally:
        await s.close()


async def test_append_then_read_in_order_with_increasing_ids(store: Store) -> None:
    ids = await store.append([b"one", b"two"])
    ids += await store.append([b"three"])
    entries = await store.read("0", 10, None)
    assert [e.data for e in entries] == [b"one", b"two", b"three"]
    assert [e.id for e in entries] == ids
    parsed = [tuple(map(int, i.split("-"))) for i in ids]
    assert parsed == sorted(parsed) and len(set(parsed)) == 3
    # Reading after an id gives only what came later, at most ``count``.
    assert [e.data for e in await store.read(ids[0], 1, None)] == [b"two"]
    assert await store.read(ids[-1], 10, None) == []
    assert await store.first_id() == ids[0]


async def test_binary_batches_survive_unchanged(store: Store) -> None:
    blob = bytes(range(256)) * 64
    await store.append([blob])
    (entry,) = await store.read("0", 1, None)
    assert entry.data == blob


async def test_a_blocking_read_wakes_when_something_is_appended(store: Store) -> None:
    (first,) = await store.append([b"x"])

    async def later() -> None:
        await asyncio.sleep(0.1)
        await store.append([b"y"])

    task = asyncio.create_task(later())
    entries = await store.read(first, 10, 3000)
    await task
    assert [e.data for e in entries] == [b"y"]


async def test_a_blocking_read_with_nothing_new_returns_empty_after_the_wait(
    store: Store,
) -> None:
    (first,) = await store.append([b"x"])
    assert await store.read(first, 10, 50) == []


async def test_one_lease_holder_at_a_time_with_increasing_fences(store: Store) -> None:
    a = await store.acquire("a", 60_000)
    assert a is not None
    assert await store.acquire("b", 60_000) is None
    assert await store.holder() == f"a:{a}"
    assert await store.renew("a", a, 60_000)
    assert not await store.renew("b", a, 60_000)
    assert not await store.renew("a", a + 1, 60_000)
    await store.release("b", a)  # not b's to release
    assert await store.holder() == f"a:{a}"
    await store.release("a", a)
    assert await store.holder() is None
    b = await store.acquire("b", 60_000)
    assert b is not None and b > a


async def test_a_lapsed_lease_goes_to_the_next_taker_and_fences_the_old_holder(
    store: Store, request: pytest.FixtureRequest
) -> None:
    short = 100
    if isinstance(store, MemoryStore):
        clock = Clock()
        store.clock = clock
    a = await store.acquire("a", short)
    assert a is not None
    if isinstance(store, MemoryStore):
        clock.t += 1
    else:
        await asyncio.sleep(0.25)
    b = await store.acquire("b", 60_000)
    assert b is not None and b > a
    assert not await store.renew("a", a, 60_000)  # a finds out it lost the lease
    with pytest.raises(NotLeader):
        await store.append_fenced("a", a, b"tick from the past")
    with pytest.raises(NotLeader):
        await store.save_snapshot("a", a, Snapshot("0-1", a, 0.0, b"old"))
    assert await store.load_snapshot() is None
    assert await store.read("0", 10, None) == []  # nothing a wrote landed
    entry_id = await store.append_fenced("b", b, b"tick")
    assert [(e.id, e.data) for e in await store.read("0", 10, None)] == [(entry_id, b"tick")]


async def test_snapshots_keep_the_newest_and_trim_below_the_previous(store: Store) -> None:
    fence = await store.acquire("a", 60_000)
    assert fence is not None
    ids = [(await store.append([f"e{i}".encode()]))[0] for i in range(6)]
    await store.save_snapshot("a", fence, Snapshot(ids[1], fence, 10.0, b"s1"))
    assert len(await store.read("0", 10, None)) == 6  # no previous snapshot: no trim
    await store.save_snapshot("a", fence, Snapshot(ids[4], fence, 20.0, b"s2" * 1000))
    snap = await store.load_snapshot()
    assert snap == Snapshot(ids[4], fence, 20.0, b"s2" * 1000)
    # Trimmed below the previous snapshot (ids[1]): a follower that has read up to
    # ids[1] still finds everything after it.
    remaining = [e.id for e in await store.read("0", 10, None)]
    assert remaining == ids[1:]
    assert await store.first_id() == ids[1]
    assert await store.trimmed_below() == ids[1]
    entries, trimmed = await store.read_and_trim(ids[0], 2, None)
    assert [e.id for e in entries] == ids[1:3] and trimmed == ids[1]


STORED = Saved.STORED


async def test_an_older_snapshot_never_replaces_a_newer_one(store: Store) -> None:
    """A new leader still catching up must not store what it has: the trim that goes
    with it would cut entries that neither snapshot holds."""
    fence = await store.acquire("a", 60_000)
    assert fence is not None
    ids = [(await store.append([f"e{i}".encode()]))[0] for i in range(6)]
    assert await store.save_snapshot("a", fence, Snapshot(ids[1], fence, 10.0, b"s1")) is STORED
    assert await store.save_snapshot("a", fence, Snapshot(ids[4], fence, 20.0, b"s2")) is STORED
    behind = Snapshot(ids[2], fence, 30.0, b"behind")
    assert await store.save_snapshot("a", fence, behind) is Saved.BEHIND
    same = Snapshot(ids[4], fence, 40.0, b"same")
    assert await store.save_snapshot("a", fence, same) is Saved.CURRENT
    assert await store.load_snapshot() == Snapshot(ids[4], fence, 20.0, b"s2")
    assert [e.id for e in await store.read("0", 10, None)] == ids[1:]  # trimmed no further
    assert await store.trimmed_below() == ids[1]


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_an_unreachable_redis_is_reported_as_unavailable() -> None:
    from router.store import StoreUnavailable  # noqa: PLC0415
    from tests.redis_support import free_port  # noqa: PLC0415

    s = RedisStore(f"redis://127.0.0.1:{free_port()}/0", unique_region())
    try:
        for call in (
            s.ping(),
            s.append([b"x"]),
            s.read("0", 1, None),
            s.acquire("a", 1000),
            s.load_snapshot(),
        ):
            with pytest.raises(StoreUnavailable, match=r"redis at redis://127\.0\.0\.1"):
                await call
    finally:
        await s.close()


def test_the_codec_round_trips_engine_objects_and_refuses_anything_else() -> None:
    from router.core.events import ContactArrived, TimerDue  # noqa: PLC0415
    from router.core.model import Channel, ContactSpec  # noqa: PLC0415

    batch = [
        ("i:1", 1.5, ContactArrived(ContactSpec("c1", Channel.VOICE, "s"))),
        ("i:2", 2.0, TimerDue()),
    ]
    assert decode(encode(batch)) == batch

    class Evil:
        def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
            import os  # noqa: PLC0415

            return (os.system, ("echo pwned",))

    with pytest.raises(UnsafeData, match=r"(posix|os)\.system"):
        decode(encode(Evil()))
    with pytest.raises(UnsafeData):
        decode(encode(print))  # a function, even a builtin, is never built


async def test_a_redis_that_refuses_writes_counts_as_unavailable(
    redis_server: RedisServer,
) -> None:
    """min-replicas-to-write with no replica: Redis answers NOREPLICAS. The instance must
    see the store as unavailable (503, not ready), not crash its lease or timer task."""
    from router.store import StoreUnavailable  # noqa: PLC0415

    if redis_server.proc is None:
        redis_server.start()
    s = RedisStore(redis_server.url, unique_region())
    try:
        await s.r.config_set("min-replicas-to-write", 1)
        with pytest.raises(StoreUnavailable, match="NOREPLICAS"):
            await s.append([b"x"])
        with pytest.raises(StoreUnavailable):
            await s.acquire("a", 1000)
    finally:
        await s.r.config_set("min-replicas-to-write", 0)
        await s.close()


def test_the_codec_refuses_foreign_classes_imported_into_allowed_modules() -> None:
    import pickle  # noqa: PLC0415

    # itertools.repeat is importable as sortedcontainers.sortedlist.repeat; a redis
    # client class as router.store.redis_connection.Sentinel. Neither may be built from
    # the store.
    for module, name in (
        ("sortedcontainers.sortedlist", "repeat"),
        ("router.store.redis_connection", "Sentinel"),
    ):
        data = b"\x80\x05c" + f"{module}\n{name}\n".encode() + b"."
        with pytest.raises(UnsafeData):
            decode(data)
    assert pickle.loads(b"\x80\x05csortedcontainers.sortedlist\nrepeat\n.") is not None


async def test_the_region_configuration_is_stored_only_over_the_one_expected(
    store: Store,
) -> None:
    first = StoredConfig("f1", b'{"a": 1}', 1.5, "instance-1")
    second = StoredConfig("f2", b'{"a": 2}', 2.5, "instance-2")
    assert await store.load_config() is None
    # Nothing stored yet: only a write that expects nothing lands.
    assert await store.save_config(first, "f0") is False
    assert await store.save_config(first, None) is True
    assert await store.load_config() == first
    # Two instances that both saw nothing: the second one's write is refused.
    assert await store.save_config(second, None) is False
    assert await store.save_config(second, "f1") is True
    assert await store.load_config() == second
