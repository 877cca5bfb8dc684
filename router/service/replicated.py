"""The dispatch loop in Redis mode: every instance is a replica of one engine, fed by the
region's log.

Handlers call ``await runtime.submit(event)`` exactly as in memory mode. The event goes
into the store's log (batched: whatever is submitted while one append is on its way goes
in the next, one round trip for many events), and every instance applies the log in
order to its own engine. Decisions are a function of the log, so each instance computes
the same ones and delivers those that concern its own connections: nobody forwards
offers between instances, and a contact arriving at one instance is offered to an agent
connected to another as fast as both read the log.

Time is the one input that has no sender. The instance holding the lease (``SET NX PX``
with a fencing token, renewed well before it lapses) appends ``TimerDue`` when the
engine's next timer is due, takes snapshots and trims the log. (Silent agents are the
engine's own timer: each instance only reports the websockets it holds, as log events.)
Its writes are fenced: a leader that lost its lease cannot write after its successor.
Each log item carries the time its instance stamped on it; the engine never lets time
run backwards, so replay is exact.

A new instance loads the newest snapshot, replays the log after it and only then says
it is ready (until then it refuses with "catching up"). When the store cannot be reached
the instance logs why once (NOAUTH, WRONGPASS, connection refused, DNS…), reports not
ready with that cause and refuses with 503 what it cannot persist, and carries on when
the store is back. A read that Redis has not answered within ``ANSWER_WITHIN_S`` of its
block time (a stalled Redis) is reported at once, before any socket timeout.

A log entry that cannot be read (not written by Yhteys: a stray ``XADD``) is never
skipped: skipping it on one instance and not another would split the region. The
instance logs it with its id, stops applying there (``/readyz``: ``stalled``, with the
cause) and refuses new events until an operator moves the entry aside with ``yhteys log
quarantine ID`` (docs/redis.md); then it carries on with nothing else lost.

The parts, one module each over the shared ``replica_state``: ``replica_writer`` (submit
and the batched append), ``replica_snapshots`` (capture, save, restore), ``replica_lease``
(the lease and the leader's duties), ``replica_log`` (what an entry holds); this module
joins them to the loop that reads the log and applies it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from router.core.events import Event
from router.service.replica_lease import Leadership
from router.service.replica_log import readable
from router.service.replica_state import STOP_WAIT_S
from router.service.replica_writer import LogWriter
from router.service.runtime import Note, Stopped
from router.store import (
    StoreUnavailable,
    Unreadable,
)
from router.store.base import LogEntry, id_after

log = logging.getLogger("yhteys.replica")


class ReplicatedRuntime(Leadership, LogWriter):
    """A replica of the region's engine: the writer, the snapshots and the lease joined
    to the loop that reads the log and applies it in order."""

    async def run(self) -> None:
        self._running = True
        tasks: list[asyncio.Task[None]] = []
        try:
            try:
                await self._start()
            except Stopped:
                log.info("%s stopped before it caught up with the store", self.instance)
                return
            tasks = [
                asyncio.create_task(self._append_loop(), name="log-append"),
                asyncio.create_task(self._lease_loop(), name="lease"),
                asyncio.create_task(self._leader_duties(), name="leader-duties"),
            ]
            if self.before_ready:
                tasks.append(asyncio.create_task(self._checks(), name="start-up-checks"))
            else:
                self._ready()
            await self._consume()
        finally:
            self._running = False
            await self._end(tasks)
            if self._timer is not None:
                self._timer.cancel()
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(Stopped("the service is shutting down"))
            await self._hand_over()

    def _ready(self) -> None:
        self.started.set()
        log.info("replica %s caught up at %s", self.instance, self.last_id)

    async def _checks(self) -> None:
        # A stalled log (an unreadable entry) is the operator's to fix first: the checks
        # run on the state after it, and their events could not be applied meanwhile.
        while self.stalled is not None and self._looping:
            await asyncio.sleep(self.settings.retry_s)
        try:
            for check in self.before_ready:
                await check()
        except Stopped:
            return  # stopping anyway
        except Exception as exc:  # the check says why; the instance does not start
            self.refusal = str(exc) or repr(exc)
            log.error("refusing to start: %s", self.refusal)
            self.refused.set()
            await self.stop()
            return
        self._ready()

    async def _end(self, tasks: list[asyncio.Task[None]]) -> None:
        """Ends the helper loops. Each loop also checks a flag, and the wait is bounded:
        a cancellation swallowed inside a client library must not hang the stop (a
        loop caught that way ends at its next turn, or is left behind with a log)."""
        self._closed = True
        self._outgoing_ready.set()
        self._wake_leader.set()
        if self._snapshot_task is not None and not self._snapshot_task.done():
            tasks = [*tasks, self._snapshot_task]  # the hand-over takes a fresh one
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s ended with an error", task.get_name(), exc_info=task.exception())
        for task in pending:
            log.error("%s did not stop within %.0f s", task.get_name(), STOP_WAIT_S)

    async def stop(self) -> None:
        """Stops taking events; what was already submitted is appended and applied."""
        self._stopping = True

    def halt(self) -> None:
        """Stops at once with no snapshot and no hand-over, as a killed process would
        (for failover tests in one process). Flags rather than task cancellation, which
        a client library may swallow mid-read."""
        self._halted = self._stopping = True
        self.fence = None
        self._outgoing_ready.set()
        self._wake_leader.set()

    async def _start(self) -> None:
        while True:
            try:
                snapshot = await self.store.load_snapshot()
                if snapshot is not None:
                    self._restore(snapshot)
                self.store_error = None
                self._set_stalled(None)
                while True:  # catch up before saying ready
                    entries = await self._read(None)
                    if entries is None:
                        continue  # fell behind a trim: resynced from the snapshot
                    if not entries:
                        break
                    problem = self._apply_entries(entries)
                    if problem is not None:  # ready to say so; the loop waits for a fix
                        self._set_stalled(problem)
                        break
                self.store_ok = True
                return
            except StoreUnavailable as exc:
                self._store_down(exc)
            except Unreadable as exc:
                self._set_stalled(str(exc))
            if self._stopping:
                raise Stopped("stopped before the store could be reached") from None
            await asyncio.sleep(self.settings.retry_s)

    async def _consume(self) -> None:
        s = self.settings
        while not self._halted:
            if self._stopping and not self._outgoing and not self._waiting:
                return
            self._reading_since = time.monotonic()
            try:
                entries = await self._read(s.read_block_ms)
            except (StoreUnavailable, Unreadable) as exc:
                self._reading_since = None
                if isinstance(exc, Unreadable):
                    self._set_stalled(str(exc))
                else:
                    self._store_down(exc)
                self._expire_unconfirmed()
                if self._stopping:
                    return
                await asyncio.sleep(s.retry_s)
                continue
            self._reading_since = None
            self._expire_unconfirmed()
            if not self.store_ok:
                log.info("store reachable again; carrying on from %s", self.last_id)
                self.store_ok = True
            self.store_error = None
            problem = None
            if entries and not self._halted:  # None: resynced, read on from the snapshot
                problem = self._apply_entries(entries)
                self._last_applied_at = time.monotonic()
                await asyncio.sleep(0)  # let handlers answer between batches
            self._set_stalled(problem)
            if problem is not None:
                # Read again until the entry is moved aside. What was submitted before
                # is in the log behind it: its submitters get the "may still be
                # applied" 503 of the confirm timeout, and it is applied after the move.
                await asyncio.sleep(s.retry_s)
            self._wake_leader.set()

    def _apply_entries(self, entries: list[Any]) -> str | None:
        """Applies ``entries`` in order up to the first unreadable one; what is wrong
        with that one (naming its id), or None when all were applied."""
        for entry in entries:
            if not id_after(entry.id, self.last_id):
                continue
            items = readable(entry)
            if isinstance(items, str):
                return (
                    f"log entry {entry.id} cannot be read ({items}); move it aside with "
                    f"`yhteys log quarantine {entry.id}`"
                )
            for rid, stamped, event in items:
                self._apply(rid, stamped, event)
            self.last_id = entry.id
            self._since_snapshot += 1
        return None

    def _apply(self, rid: str, stamped: float, event: Event | Note) -> None:
        if rid in self._done_set:
            return  # a retried append: applied once already
        self._remember(rid)
        if rid == self._tick_pending:
            self._tick_pending = None
        self._apply_event(event, max(stamped, self.engine.now), self._waiting.get(rid))

    def _remember(self, rid: str) -> None:
        self._done_rids.append(rid)
        self._done_set.add(rid)
        if len(self._done_rids) > self.settings.remember_requests:
            self._done_set.discard(self._done_rids.popleft())

    async def _read(self, block_ms: int | None) -> list[LogEntry] | None:
        """The next entries, or None when this instance had fallen behind a trim and has
        loaded the newest snapshot instead.

        The log is trimmed only below the previous snapshot, so an instance misses
        entries only when it is more than a snapshot interval behind (paused,
        partitioned, slow). After each read that returns entries it asks where the log
        was last trimmed — after the read, so a trim that came before it is seen — and if
        that is past what it has applied, the entries it has not read may be gone: it
        loads the snapshot rather than go on with a hole in its history."""
        entries, trimmed = await self.store.read_and_trim(
            self.last_id, self.settings.read_count, block_ms
        )
        if not entries:
            return entries
        if trimmed is None or not id_after(trimmed, self.last_id):
            return entries
        snapshot = await self.store.load_snapshot()
        if snapshot is None or not id_after(snapshot.upto, self.last_id):
            return entries  # pragma: no cover - a trim always follows a newer snapshot
        log.warning(
            "%s fell behind the trimmed log (at %s, trimmed below %s): loading the snapshot",
            self.instance,
            self.last_id,
            trimmed,
        )
        self._restore(snapshot)
        self.resyncs += 1
        for hook in self.resynced:
            try:
                hook()
            except Exception:
                log.exception("resync hook failed")
        return None
