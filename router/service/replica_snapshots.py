"""Snapshots of a replica: the engine, the request ids it has applied and every
registered part, encoded with the restricted codec; saved by the leader (pickled in a
forked child where the platform can fork, so the event loop does not stop for it) and
loaded by an instance that starts or has fallen behind a trim.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from router.service.forked import ForkFailed, can_fork, capture_in_child
from router.service.replica_state import ReplicaState
from router.store import (
    NotLeader,
    Saved,
    Snapshot,
    StoreUnavailable,
    Unreadable,
)
from router.store.codec import decode, encode

log = logging.getLogger("yhteys.replica")


class Snapshots(ReplicaState):
    def capture(self) -> bytes:
        state = {
            "engine": self.engine,
            "requests": list(self._done_rids),
            "parts": {name: part.capture() for name, part in self.parts.items()},
        }
        return encode(state)

    def _restore(self, snapshot: Snapshot) -> None:
        try:
            state = decode(snapshot.blob)
            if not isinstance(state, dict) or not {"engine", "requests", "parts"} <= set(state):
                raise ValueError(f"a {type(state).__name__} without the expected fields")
        except Exception as exc:
            raise Unreadable(
                f"the snapshot up to {snapshot.upto} cannot be read ({type(exc).__name__}: {exc})"
            ) from None
        self.engine = state["engine"]
        self._done_rids = deque(state["requests"])
        self._done_set = set(self._done_rids)
        for name, data in state["parts"].items():
            part = self.parts.get(name)
            if part is not None:
                part.restore(data)
        self.last_id = snapshot.upto
        log.info("loaded the snapshot up to %s (fence %d)", snapshot.upto, snapshot.fence)

    async def snapshot(self) -> bool:
        """Saves a snapshot now if this instance leads; True when saved. One at a time:
        two in flight could store an older one after a newer."""
        async with self._snapshot_lock:
            return await self._snapshot()

    async def _snapshot(self) -> bool:
        fence = self.fence
        if fence is None:
            return False
        started = time.monotonic()
        # Read before the fork: the child's state is exactly the state at ``upto``.
        upto, at, counted = self.last_id, self.clock(), self._since_snapshot
        how = "in a child process"
        blob: bytes | None = None
        if self._forking():
            try:
                async with asyncio.timeout(self.settings.snapshot_timeout_s):
                    blob = await capture_in_child(self.capture)
            except ForkFailed as exc:
                log.warning("snapshot: %s; capturing on the event loop instead", exc)
            except TimeoutError:
                # The child was killed; a stuck child must not stop snapshots (and the
                # log's trimming) for good, nor may the loop stop for a capture here.
                log.error(
                    "snapshot: the child did not finish within %.0f s; trying again later",
                    self.settings.snapshot_timeout_s,
                )
                return False
        if blob is None:
            # On the loop, synchronously: consistent with the state as it is now.
            upto, at, counted = self.last_id, self.clock(), self._since_snapshot
            blob, how = self.capture(), "on the event loop"
        if self.fence != fence:
            return False  # the lease was lost while capturing
        snap = Snapshot(upto=upto, fence=fence, at=at, blob=blob)
        try:
            stored = await self.store.save_snapshot(self.instance, fence, snap)
        except NotLeader:
            self._step_down("lease lost while saving a snapshot")
            return False
        if stored is Saved.BEHIND:
            log.info("snapshot up to %s not saved: the stored one is newer", upto)
            return False
        # What was applied while the child pickled counts towards the next snapshot.
        self._since_snapshot -= counted
        if stored is Saved.CURRENT:
            log.info("snapshot up to %s: the stored one is the same; nothing to write", upto)
            return True
        self.snapshots += 1
        log.info(
            "snapshot saved up to %s (%d bytes, captured %s, %.0f ms in all)",
            snap.upto,
            len(blob),
            how,
            (time.monotonic() - started) * 1000,
        )
        return True

    def _forking(self) -> bool:
        return self.settings.fork_snapshots and can_fork()

    async def _background_snapshot(self) -> None:
        try:
            await self.snapshot()
        except (StoreUnavailable, Unreadable) as exc:
            log.warning("snapshot not saved: %s", exc)
