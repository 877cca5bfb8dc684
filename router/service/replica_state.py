"""The state a replica shares between its parts (``replica_writer``, ``replica_snapshots``,
``replica_lease`` and the consume loop in ``replicated``): its settings, the fields each
part reads, and what it reports about itself (leading, healthy, the problem in the
operator's words).

Each part is a class of its own module over this one, and ``ReplicatedRuntime`` joins
them; the fields live here, once, so a reader of any part sees what it touches.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from router.core.decisions import Decision
from router.core.engine import Engine
from router.core.events import Event
from router.service.replica_log import Item
from router.service.runtime import Applier, Clock, Listener, NoteHandler, Part
from router.store import (
    Store,
)

log = logging.getLogger("yhteys.replica")


# A snapshot waits for this long without new log entries (up to 4 intervals).
QUIET_S = 0.2
# A log read not answered this long after its block time means Redis has stalled.
ANSWER_WITHIN_S = 0.75
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


class ReplicaState(Applier):
    """A replica's fields and status; its loops are in the subclasses."""

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

    @property
    def _looping(self) -> bool:
        return not self._halted and not self._closed

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

    def _step_down(self, why: str) -> None:
        if self.fence is not None:
            log.warning("%s stops leading: %s", self.instance, why)
        self.fence = None
        self._tick_pending = None
