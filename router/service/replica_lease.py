"""Leadership of a replica: the lease (``SET NX PX`` with a fencing token, renewed well
before it lapses) and the leader's duties: it appends ``TimerDue`` when the engine's next
timer is due (time is the one input that has no sender), takes snapshots and, on a clean
stop, saves one and hands the lease over. Its writes are fenced: a leader that lost its
lease cannot write after its successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from router.core.events import TimerDue
from router.service.replica_snapshots import Snapshots
from router.service.replica_state import QUIET_S, STOP_WAIT_S
from router.store import (
    NotLeader,
    StoreUnavailable,
    Unreadable,
)
from router.store.codec import encode

log = logging.getLogger("yhteys.replica")


class Leadership(Snapshots):
    async def _lease_loop(self) -> None:
        s = self.settings
        ttl_ms = int(s.lease_ttl_s * 1000)
        while self._looping:
            asked_at = time.monotonic()
            try:
                if self.fence is None:
                    fence = await self.store.acquire(self.instance, ttl_ms)
                    if self._halted:
                        return
                    if self._closed:  # stopped meanwhile: give it straight back
                        if fence is not None:
                            await self.store.release(self.instance, fence)
                        return
                    if fence is not None:
                        self.fence = fence
                        self._lease_deadline = asked_at + s.lease_ttl_s * 0.9
                        self.leader_changes += 1
                        log.info("%s leads (fence %d)", self.instance, fence)
                        self._wake_leader.set()
                elif await self.store.renew(self.instance, self.fence, ttl_ms):
                    self._lease_deadline = asked_at + s.lease_ttl_s * 0.9
                else:
                    self._step_down("the lease was taken over")
                if self.lease_problem is not None:
                    log.warning("the lease can be taken again")
                    self.lease_problem = None
            except StoreUnavailable as exc:
                self._store_down(exc)
                if self.fence is not None and time.monotonic() >= self._lease_deadline:
                    self._step_down("the lease lapsed while the store was unreachable")
            except Unreadable as exc:
                if str(exc) != self.lease_problem:
                    log.error("the lease cannot be taken or renewed: %s", exc)
                self.lease_problem = str(exc)
                if self.fence is not None and time.monotonic() >= self._lease_deadline:
                    self._step_down("the lease lapsed while its key could not be read")
            await asyncio.sleep(s.renew_every_s if self.fence is not None else s.acquire_every_s)

    async def _leader_duties(self) -> None:
        """While leading: time (``TimerDue`` when a timer is due) and snapshots."""
        last_snapshot = time.monotonic()
        while self._looping:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake_leader.wait()
            self._wake_leader.clear()
            if not self._looping or not self.is_leader or not self.store_ok:
                continue
            await self._tick_if_due()
            # Pickled on the event loop (no fork), a snapshot stops the loop (0.2 s at
            # 20,000 waiting): then wait for a lull in the log, unless it is long overdue.
            every = self.settings.snapshot_every_s
            since = time.monotonic() - last_snapshot
            quiet = self._forking() or time.monotonic() - self._last_applied_at >= QUIET_S
            idle = self._snapshot_task is None or self._snapshot_task.done()
            due = self._since_snapshot and since >= every and (quiet or since >= 4 * every)
            if due and idle and self._looping:
                last_snapshot = time.monotonic()
                # A task of its own: time keeps being kept while the child pickles.
                self._snapshot_task = asyncio.create_task(
                    self._background_snapshot(), name="snapshot"
                )

    async def _tick_if_due(self) -> None:
        due = self.engine.next_timer_at()
        if due is None or self._tick_pending is not None:
            return
        now = self.clock()
        if due > now:
            self._arm(due)
            return
        fence = self.fence
        if fence is None:
            return
        rid = f"{self.instance}:{next(self._seq)}"
        self._tick_pending = rid
        try:
            await self.store.append_fenced(self.instance, fence, encode([(rid, now, TimerDue())]))
        except NotLeader:
            self._step_down("a fenced write was refused")
        except StoreUnavailable as exc:
            self._tick_pending = None
            self._store_down(exc)
        except Unreadable as exc:
            self._tick_pending = None
            log.warning("time not kept: %s", exc)

    def _arm(self, due: float) -> None:
        if self._timer_at == due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + max(0.0, due - self.clock()), self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._timer_at = None
        self._wake_leader.set()

    async def _hand_over(self) -> None:
        """A clean stop: the leader saves a snapshot and gives the lease up at once, so
        another instance need not wait for it to lapse."""
        if self.fence is None or self._halted:
            return
        try:
            # Bounded: past the lease's lifetime another instance takes over anyway.
            async with asyncio.timeout(max(self.settings.lease_ttl_s, STOP_WAIT_S)):
                await self.snapshot()
                if self.fence is not None:
                    await self.store.release(self.instance, self.fence)
                    log.info("%s handed the lease over", self.instance)
        except (StoreUnavailable, Unreadable, TimeoutError) as exc:
            log.warning("%s could not hand the lease over: %r", self.instance, exc)
        self.fence = None
