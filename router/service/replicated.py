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
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_args

from router.core.decisions import Decision
from router.core.engine import Engine
from router.core.events import Event, TimerDue
from router.service.forked import ForkFailed, can_fork, capture_in_child
from router.service.runtime import Applier, Clock, Listener, Note, NoteHandler, Part, Stopped
from router.store import (
    NotLeader,
    OutcomeUnknown,
    Saved,
    Snapshot,
    Store,
    StoreUnavailable,
    Unreadable,
)
from router.store.base import LogEntry, id_after
from router.store.codec import decode, encode

log = logging.getLogger("yhteys.replica")

# A snapshot waits for this long without new log entries (up to 4 intervals).
QUIET_S = 0.2
# A log read not answered this long after its block time means Redis has stalled.
ANSWER_WITHIN_S = 0.75
_ITEM_TYPES = (*get_args(Event), Note)

# (request id, time stamped by the submitting instance, event)
Item = tuple[str, float, Event | Note]
AppliedListener = Callable[[Event, float], None]


@dataclass(frozen=True, slots=True)
class ReplicaSettings:
    lease_ttl_s: float = 2.0
    renew_every_s: float = 0.5
    acquire_every_s: float = 0.25
    snapshot_every_s: float = 30.0
    read_count: int = 256
    read_block_ms: int = 250  # also how soon a stop is noticed
    batch_items: int = 2000
    max_pending: int = 50_000
    confirm_timeout_s: float = 10.0
    remember_requests: int = 200_000
    retry_s: float = 0.5
    # Pickle snapshots in a forked child (where the platform can fork), so the leader's
    # event loop does not stop for the length of the pickling.
    fork_snapshots: bool = True
    # A child that has not delivered by then is killed (and the snapshot tried later).
    snapshot_timeout_s: float = 120.0


# How long a stop waits for the helper loops to end.
STOP_WAIT_S = 5.0


def instance_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class ReplicatedRuntime(Applier):
    def __init__(
        self,
        engine: Engine,
        store: Store,
        clock: Clock = time.time,
        settings: ReplicaSettings | None = None,
        instance: str | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.settings = settings or ReplicaSettings()
        self.instance = instance or instance_name()
        self.listeners: list[Listener] = []
        self.applied_listeners: list[AppliedListener] = []
        self.latency_observers: list[Callable[[float], None]] = []
        self.parts: dict[str, Part] = {}
        self.notes: dict[type, NoteHandler] = {}
        # Called after the state was replaced by a newer snapshot (this instance had
        # fallen behind a trim): connections are told their state afresh.
        self.resynced: list[Callable[[], None]] = []
        # Checks run once caught up, with the log being applied (so they may submit),
        # before the instance says it is ready; one that raises refuses the start: its
        # message is kept in ``refusal`` and the loop stops (regionfile.py).
        self.before_ready: list[Callable[[], Awaitable[None]]] = []
        self.refusal: str | None = None
        self.refused = asyncio.Event()
        self.resyncs = 0
        self.snapshots = 0
        self._snapshot_task: asyncio.Task[None] | None = None
        self._snapshot_lock = asyncio.Lock()
        self.applied = 0
        self.started = asyncio.Event()
        self.last_id = "0"
        self.fence: int | None = None
        self.store_ok = False
        # Why the store cannot be used, once known (the cause, as logged).
        self.store_error: str | None = None
        # Why this instance cannot apply the log (an unreadable entry or snapshot).
        self.stalled: str | None = None
        # Why the lease cannot be taken (garbage at the lease or fence key).
        self.lease_problem: str | None = None
        self._reading_since: float | None = None
        self.leader_changes = 0
        self._seq = itertools.count(1)
        self._outgoing: deque[Item] = deque()
        self._waiting: dict[str, asyncio.Future[list[Decision]]] = {}
        self._deadlines: deque[tuple[float, str]] = deque()
        self._last_applied_at = 0.0
        self._outgoing_ready = asyncio.Event()
        self._done_rids: deque[str] = deque()
        self._done_set: set[str] = set()
        self._running = False
        self._stopping = False
        self._halted = False
        self._closed = False  # run() is finishing: the helper loops end too
        self._tick_pending: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._lease_deadline = 0.0
        self._since_snapshot = 0
        self._wake_leader = asyncio.Event()

    # -------------------------------------------------------------- status

    @property
    def running(self) -> bool:
        return self._running

    @property
    def is_leader(self) -> bool:
        return self.fence is not None and time.monotonic() < self._lease_deadline

    @property
    def healthy(self) -> bool:
        """Caught up with the log, able to reach the store and to apply what it reads."""
        return (
            self.started.is_set()
            and self.store_ok
            and not self._stopping
            and self.stalled is None
            and self.not_answering_s() == 0.0
        )

    def not_answering_s(self) -> float:
        """How long past its block time the current log read has gone unanswered, once
        that is more than ``ANSWER_WITHIN_S`` (a stalled Redis); else 0."""
        since = self._reading_since
        if since is None or not self.started.is_set():
            return 0.0
        late = time.monotonic() - since - self.settings.read_block_ms / 1000
        return late if late > ANSWER_WITHIN_S else 0.0

    def problem(self) -> str | None:
        """What keeps this instance from serving, in the operator's words."""
        if self.stalled is not None:
            return self.stalled
        if self.store_error is not None and not self.store_ok:
            return f"the region's store cannot be reached: {self.store_error}"
        late = self.not_answering_s()
        if late:
            wait = late + self.settings.read_block_ms / 1000
            return f"Redis has not answered a log read for {wait:.1f} s (stalled?)"
        if not self.started.is_set() and self._running:
            return "catching up with the region's log"
        return None

    # -------------------------------------------------------------- submitting

    async def submit(self, event: Event | Note) -> list[Decision]:
        """Appends ``event`` to the log and waits until this instance has applied it;
        returns its decisions or raises the engine's ``RoutingError``. Raises
        ``StoreUnavailable`` when the store cannot take it (or did not confirm it)."""
        if self._stopping:
            raise Stopped("the service is shutting down")
        if self.stalled is not None:
            raise StoreUnavailable(f"this instance cannot apply the region's log: {self.stalled}")
        if not self.store_ok:
            if self.store_error is None and not self.started.is_set():
                raise StoreUnavailable(
                    "this instance is catching up with the region's log; try again shortly"
                )
            cause = f": {self.store_error}" if self.store_error else ""
            raise StoreUnavailable(f"the region's store cannot be reached{cause}")
        if len(self._outgoing) >= self.settings.max_pending:
            raise StoreUnavailable("too many events waiting for the store")
        rid = f"{self.instance}:{next(self._seq)}"
        future: asyncio.Future[list[Decision]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        self._outgoing.append((rid, self.clock(), event))
        self._outgoing_ready.set()
        # One deadline queue swept by the consume loop, rather than a timer per event:
        # a wait_for per submission cost a third of Redis mode's overhead per contact.
        self._deadlines.append((time.monotonic() + self.settings.confirm_timeout_s, rid))
        try:
            return await future
        finally:
            self._waiting.pop(rid, None)
            # A refusal's traceback holds this frame: without the future in it, the
            # exception, its traceback and the future are not a cycle for the collector.
            del future

    def _expire_unconfirmed(self) -> None:
        """Submitters whose event was not applied within ``confirm_timeout_s`` get 503."""
        deadlines = self._deadlines
        now = time.monotonic()
        while deadlines and deadlines[0][0] <= now:
            _, rid = deadlines.popleft()
            future = self._waiting.get(rid)
            if future is not None and not future.done():
                future.set_exception(
                    StoreUnavailable(
                        "the store did not confirm the event in time; it may still be applied"
                    )
                )

    @property
    def _looping(self) -> bool:
        return not self._halted and not self._closed

    async def _append_loop(self) -> None:
        s = self.settings
        while self._looping:
            await self._outgoing_ready.wait()
            # One more pass of the event loop first: handlers whose requests arrived in
            # the same pass submit too, and share this round trip.
            await asyncio.sleep(0)
            self._outgoing_ready.clear()
            while self._outgoing and not self._halted:
                batches: list[bytes] = []
                taken: list[Item] = []
                while self._outgoing and len(batches) < 16:
                    chunk = [
                        self._outgoing.popleft()
                        for _ in range(min(s.batch_items, len(self._outgoing)))
                    ]
                    taken += chunk
                    batches.append(encode(chunk))
                unknown = False  # an attempt was sent and not answered: it may land
                try:
                    try:
                        await self.store.append(batches)
                    except StoreUnavailable as first:
                        # Once more on a fresh connection (after Redis restarted, the
                        # pooled one is dead). Safe: replicas skip request ids they have
                        # applied, so an append that did land has no second effect.
                        unknown = isinstance(first, OutcomeUnknown)
                        await asyncio.sleep(s.retry_s / 5)
                        await self.store.append(batches)
                except Exception as exc:  # unreachable, or refused: tell every submitter
                    if isinstance(exc, StoreUnavailable):
                        self._store_down(exc)
                    else:
                        log.exception("appending to the log failed")
                    if unknown or isinstance(exc, OutcomeUnknown):
                        why = f"the store did not answer in time; it may still be applied: {exc}"
                    else:
                        why = f"the event could not be stored: {exc}"
                    for rid, _, _ in taken:
                        future = self._waiting.get(rid)
                        if future is not None and not future.done():
                            future.set_exception(StoreUnavailable(why))

    # -------------------------------------------------------------- the loop

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

    def _store_down(self, exc: Exception) -> None:
        """Logs the cause once (again only when it changes) and reports not ready."""
        text = str(exc)
        if text != self.store_error:
            log.error("the region's store cannot be reached: %s", text)
        self.store_error = text
        self.store_ok = False

    def _set_stalled(self, problem: str | None) -> None:
        if problem is not None and problem != self.stalled:
            log.error("%s; the region stops here (docs/redis.md, runbook)", problem)
        elif problem is None and self.stalled is not None:
            log.warning("the log can be read again; carrying on from %s", self.last_id)
        self.stalled = problem

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

    # -------------------------------------------------------------- snapshots

    def capture(self) -> bytes:
        state = {
            "engine": self.engine,
            "requests": list(self._done_rids),
            "parts": {name: part.capture() for name, part in self.parts.items()},
        }
        return encode(state)

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

    # -------------------------------------------------------------- leadership

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

    def _step_down(self, why: str) -> None:
        if self.fence is not None:
            log.warning("%s stops leading: %s", self.instance, why)
        self.fence = None
        self._tick_pending = None

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

    def _forking(self) -> bool:
        return self.settings.fork_snapshots and can_fork()

    async def _background_snapshot(self) -> None:
        try:
            await self.snapshot()
        except (StoreUnavailable, Unreadable) as exc:
            log.warning("snapshot not saved: %s", exc)

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


def readable(entry: LogEntry) -> list[Item] | str:
    """The items of a log entry, or what is wrong with it. Checked whole before any is
    applied: an entry is applied entirely or not at all."""
    if not entry.data:
        return "no field 'b': not written by Yhteys"
    try:
        items = decode(entry.data)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(items, list) or not all(
        isinstance(item, tuple)
        and len(item) == 3
        and isinstance(item[0], str)
        and isinstance(item[1], int | float)
        and isinstance(item[2], _ITEM_TYPES)
        for item in items
    ):
        return f"a {type(items).__name__} that is not a batch of events"
    return items
