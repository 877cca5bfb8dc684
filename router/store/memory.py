"""The store in process memory: for the embedded default, tests and simulations. Several
runtimes in one process can share one ``MemoryStore`` as instances share a Redis."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable

from router.store.base import (
    LogEntry,
    NotLeader,
    Saved,
    Snapshot,
    StoredConfig,
    StoreUnavailable,
    id_after,
    parse_id,
)


class MemoryStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._ids: list[tuple[int, int]] = []
        self._entries: list[LogEntry] = []
        self._last = (0, 0)
        self._appended = asyncio.Event()
        self._lease: tuple[str, float] | None = None  # ("owner:fence", expires at)
        self._fence = 0
        self._snapshot: Snapshot | None = None
        self._trimmed: str | None = None
        self._config: StoredConfig | None = None
        self.down = False  # a test can take the store "offline"

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("the memory store is marked down")

    def _next_id(self) -> tuple[int, int]:
        ms = int(self.clock() * 1000)
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last

    def _add(self, data: bytes) -> str:
        key = self._next_id()
        entry_id = f"{key[0]}-{key[1]}"
        self._ids.append(key)
        self._entries.append(LogEntry(entry_id, data))
        return entry_id

    async def append(self, batches: list[bytes]) -> list[str]:
        self._check()
        ids = [self._add(b) for b in batches]
        self._wake()
        return ids

    def _wake(self) -> None:
        self._appended.set()
        self._appended = asyncio.Event()

    async def read(self, after: str, count: int, block_ms: int | None) -> list[LogEntry]:
        self._check()
        start = bisect.bisect_right(self._ids, parse_id(after))
        if start >= len(self._entries) and block_ms:
            waiter = self._appended
            try:
                async with asyncio.timeout(block_ms / 1000):
                    await waiter.wait()
            except TimeoutError:
                return []
            self._check()
            start = bisect.bisect_right(self._ids, parse_id(after))
        return self._entries[start : start + count]

    async def read_and_trim(
        self, after: str, count: int, block_ms: int | None
    ) -> tuple[list[LogEntry], str | None]:
        entries = await self.read(after, count, block_ms)
        return entries, self._trimmed

    async def first_id(self) -> str | None:
        self._check()
        return self._entries[0].id if self._entries else None

    def _holder(self) -> str | None:
        if self._lease is None:
            return None
        value, expires = self._lease
        if self.clock() >= expires:
            self._lease = None
            return None
        return value

    async def acquire(self, owner: str, ttl_ms: int) -> int | None:
        self._check()
        if self._holder() is not None:
            return None
        self._fence += 1
        self._lease = (f"{owner}:{self._fence}", self.clock() + ttl_ms / 1000)
        return self._fence

    async def renew(self, owner: str, fence: int, ttl_ms: int) -> bool:
        self._check()
        if self._holder() != f"{owner}:{fence}":
            return False
        self._lease = (f"{owner}:{fence}", self.clock() + ttl_ms / 1000)
        return True

    async def release(self, owner: str, fence: int) -> None:
        self._check()
        if self._holder() == f"{owner}:{fence}":
            self._lease = None

    async def holder(self) -> str | None:
        self._check()
        return self._holder()

    async def append_fenced(self, owner: str, fence: int, batch: bytes) -> str:
        self._check()
        if self._holder() != f"{owner}:{fence}":
            raise NotLeader(f"{owner} no longer holds lease {fence}")
        entry_id = self._add(batch)
        self._wake()
        return entry_id

    async def save_snapshot(self, owner: str, fence: int, snapshot: Snapshot) -> Saved:
        self._check()
        if self._holder() != f"{owner}:{fence}":
            raise NotLeader(f"{owner} no longer holds lease {fence}")
        previous = self._snapshot
        if previous is not None and not id_after(snapshot.upto, previous.upto):
            return Saved.CURRENT if snapshot.upto == previous.upto else Saved.BEHIND
        self._snapshot = snapshot
        if previous is not None:
            cut = bisect.bisect_left(self._ids, parse_id(previous.upto))
            del self._ids[:cut]
            del self._entries[:cut]
            self._trimmed = previous.upto
        return Saved.STORED

    async def trimmed_below(self) -> str | None:
        self._check()
        return self._trimmed

    async def load_snapshot(self) -> Snapshot | None:
        self._check()
        return self._snapshot

    async def load_config(self) -> StoredConfig | None:
        self._check()
        return self._config

    async def save_config(self, config: StoredConfig, expected: str | None) -> bool:
        self._check()
        current = self._config.fingerprint if self._config is not None else None
        if current != expected:
            return False
        self._config = config
        return True

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        return None
