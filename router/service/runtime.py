"""The dispatch loop: one asyncio task that owns the engine in the live service.

Handlers never touch the engine. They ``await runtime.submit(event)``; the loop applies
queued events in arrival order at wall-clock time, hands every decision to the listeners
(agent and customer connections, channels, metrics, statistics), and resolves each
submitter with its decisions or the engine's ``RoutingError``. Timers are not polled: after
each batch the loop arms one ``call_at`` for ``engine.next_timer_at()``.

Listeners run inside the loop and must not block: they queue work for connections
(``Outbox``) rather than write to sockets themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from router.core.decisions import Decision
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import Event, TimerDue

log = logging.getLogger("yhteys.dispatch")

Listener = Callable[[Decision, float], None]
Clock = Callable[[], float]
L = TypeVar("L", bound=Callable[..., None])


def handles(*kinds: type) -> Callable[[L], L]:
    """Marks a listener (of decisions, or of applied events) that acts on inputs of
    ``kinds`` (and their subclasses) only, and does nothing with any other: the dispatch
    loop then does not call it with others. Every decision and event goes past half a
    dozen to a dozen listeners; most want two or three kinds. A listener without the
    mark gets everything."""

    def mark(listener: L) -> L:
        listener.handles = kinds  # type: ignore[attr-defined]
        return listener

    return mark


def _wants(listener: Callable[..., None], kind: type) -> bool:
    kinds: tuple[type, ...] | None = getattr(listener, "handles", None)
    return kinds is None or issubclass(kind, kinds)


class _ByKind(Generic[L]):
    """The listeners of a list that want each kind of input, in the list's order, made
    once per kind and again when the list changes (tests and late wiring append)."""

    __slots__ = ("_by_kind", "_seen")

    def __init__(self) -> None:
        self._seen: list[L] = []
        self._by_kind: dict[type, list[L]] = {}

    def of(self, listeners: list[L], kind: type) -> list[L]:
        # Compared as lists, item by item (by identity first): no tuple made per input.
        if listeners != self._seen:
            self._seen, self._by_kind = listeners.copy(), {}
        chosen = self._by_kind.get(kind)
        if chosen is None:
            chosen = self._by_kind[kind] = [f for f in self._seen if _wants(f, kind)]
        return chosen


@dataclass
class Part:
    """State outside the engine that is derived from decisions (status books, handle
    times) and so must travel with an engine snapshot: ``capture`` returns plain data,
    ``restore`` takes it back."""

    capture: Callable[[], Any]
    restore: Callable[[Any], None]


class Note:
    """An input for the service rather than the engine (a chat message, a customer's
    connection moving): it goes through the same ordered log as engine events, so in
    Redis mode every instance applies it too, with its handler in ``runtime.notes``.
    Subclasses are frozen dataclasses registered with ``router.store.codec.allow``."""

    __slots__ = ()


NoteHandler = Callable[[Any, float], None]


class Stopped(RuntimeError):
    """The dispatch loop has stopped; the service is shutting down."""


def _without_tracebacks(exc: BaseException) -> BaseException:
    """``exc`` with the tracebacks of it and of every exception in its chain dropped (an
    ``InvalidEvent`` raised ``from`` a catalogue error carries the engine's frames in its
    cause); the messages and the chain stay."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return exc


class Applier:
    """Applying one input and handing its decisions out: shared by the memory dispatch
    loop and the Redis-mode replica, so both treat refusals, engine faults, notes and
    listeners the same way."""

    engine: Engine
    listeners: list[Listener]
    applied_listeners: list[Callable[[Event, float], None]]
    notes: dict[type, NoteHandler]
    latency_observers: list[Callable[[float], None]]
    applied: int
    # Bumped before every ``engine.apply`` (refused ones too: timers may fire first):
    # between two bumps the engine's views stay the same (``AgentHub.agent_body``).
    changes: int = 0

    def _apply_event(
        self, event: Event | Note, now: float, future: asyncio.Future[list[Decision]] | None
    ) -> None:
        """Applies ``event`` at ``now`` and settles ``future`` (the submitter's, if it is
        waiting here) with its decisions or the refusal."""
        started = time.perf_counter()
        if isinstance(event, Note):
            self._note(event, now)
            if future is not None and not future.done():
                future.set_result([])
            return
        self.changes += 1
        try:
            decisions = self.engine.apply(now, event)
        except RoutingError as exc:
            self._publish(getattr(exc, "fired", []), now)
            if future is not None and not future.done():
                # A refusal is an answer, not a fault: without the engine's frames in its
                # tracebacks (which hold this frame and the future) it is no cycle for the
                # collector to find.
                future.set_exception(_without_tracebacks(exc))
            return
        except Exception as exc:  # a bug: keep serving, tell the submitter
            log.exception("engine failed on %s", type(event).__name__)
            # Timers that fired before the failure stand; their decisions go out.
            self._publish(getattr(exc, "fired", []), now)
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        self.applied += 1
        # ``_applied_listeners_of``, its common case inline (one input, two calls less).
        kinds = self._event_kinds
        applied_listeners = self.applied_listeners
        chosen = (
            kinds._by_kind.get(type(event))
            if kinds is not None and applied_listeners == kinds._seen
            else None
        )
        if chosen is None:
            chosen = self._applied_listeners_of(type(event))
        for listener in chosen:
            try:
                listener(event, now)
            except Exception:
                log.exception("listener failed on %s", type(event).__name__)
        self._publish(decisions, now)
        if future is not None and not future.done():
            future.set_result(decisions)
            elapsed = time.perf_counter() - started
            for observe in self.latency_observers:
                observe(elapsed)

    def _note(self, note: Note, now: float) -> None:
        handler = self.notes.get(type(note))
        if handler is None:
            log.error("no handler for %s", type(note).__name__)
            return
        try:
            handler(note, max(now, self.engine.now))
        except Exception:
            log.exception("note handler failed on %s", type(note).__name__)

    # The listeners of each kind of decision and of event (made on first use).
    _decision_kinds: _ByKind[Listener] | None = None
    _event_kinds: _ByKind[Callable[[Event, float], None]] | None = None

    def _listeners_of(self, kind: type) -> list[Listener]:
        kinds = self._decision_kinds
        if kinds is None:
            kinds = self._decision_kinds = _ByKind()
        return kinds.of(self.listeners, kind)

    def _applied_listeners_of(self, kind: type) -> list[Callable[[Event, float], None]]:
        kinds = self._event_kinds
        if kinds is None:
            kinds = self._event_kinds = _ByKind()
        return kinds.of(self.applied_listeners, kind)

    def _publish(self, decisions: list[Decision], now: float) -> None:
        listeners = self.listeners
        for decision in decisions:
            # ``_listeners_of``, its common case inline (every decision, two calls less).
            kinds = self._decision_kinds
            chosen = (
                kinds._by_kind.get(type(decision))
                if kinds is not None and listeners == kinds._seen
                else None
            )
            if chosen is None:
                chosen = self._listeners_of(type(decision))
            for listener in chosen:
                try:
                    listener(decision, now)
                except Exception:
                    log.exception("listener failed on %s", type(decision).__name__)


class Runtime(Protocol):
    """What the service and its components use of a runtime: the memory one below
    (``MemoryRuntime``) and Redis mode's replica (``ReplicatedRuntime``) both satisfy it.
    Listeners, note handlers and parts are registered by the composition root
    (``router/instance.py``), never by the components themselves."""

    engine: Engine
    clock: Clock
    # Every decision, in order (agent and customer connections, channels, metrics, ...).
    listeners: list[Listener]
    # Every event the engine accepted, before its decisions go out.
    applied_listeners: list[Callable[[Event, float], None]]
    # The seconds from a submit to its decisions, for each submit answered here.
    latency_observers: list[Callable[[float], None]]
    # State outside the engine that travels with a snapshot, by name.
    parts: dict[str, Part]
    # The handler of each kind of ``Note``.
    notes: dict[type, NoteHandler]
    # Called after a snapshot replaced the engine (never in memory mode).
    resynced: list[Callable[[], None]]
    # Why a start-up check refused to serve (never in memory mode), and set when it did.
    refusal: str | None
    refused: asyncio.Event
    instance: str  # this instance's name in the region's log
    applied: int
    changes: int  # bumped before every engine.apply (``Applier.changes``)
    started: asyncio.Event

    @property
    def running(self) -> bool: ...

    @property
    def healthy(self) -> bool: ...

    @property
    def is_leader(self) -> bool: ...

    async def submit(self, event: Event | Note) -> list[Decision]: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class MemoryRuntime(Applier):
    """The dispatch loop of an instance alone: everything in this process."""

    def __init__(self, engine: Engine, clock: Clock = time.time, batch_max: int = 512) -> None:
        self.engine = engine
        self.clock = clock
        self.batch_max = batch_max
        self.listeners: list[Listener] = []
        # Called with each event the engine accepted, before its decisions go out.
        self.applied_listeners: list[Callable[[Event, float], None]] = []
        self.parts: dict[str, Part] = {}  # snapshots are for Redis mode; kept for symmetry
        self.notes: dict[type, NoteHandler] = {}
        self.applied = 0
        self._inbox: deque[tuple[Event | Note, asyncio.Future[list[Decision]]]] = deque()
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._running = False
        self._stopping = False
        self.started = asyncio.Event()
        self.latency_observers: list[Callable[[float], None]] = []
        # What Redis mode uses (``Runtime``), never touched alone.
        self.resynced: list[Callable[[], None]] = []
        self.refusal: str | None = None
        self.refused = asyncio.Event()
        self.instance = "memory"

    # -------------------------------------------------------------- submitting

    async def submit(self, event: Event | Note) -> list[Decision]:
        """Applies ``event`` in order with everything else; returns its decisions or raises
        the engine's ``RoutingError`` (nothing changed)."""
        if self._stopping:
            raise Stopped("the service is shutting down")
        future: asyncio.Future[list[Decision]] = asyncio.get_running_loop().create_future()
        self._inbox.append((event, future))
        self._wake.set()
        try:
            return await future
        finally:
            del future  # no cycle through a refusal's traceback (see ReplicatedRuntime)

    # -------------------------------------------------------------- the loop

    @property
    def running(self) -> bool:
        return self._running

    @property
    def healthy(self) -> bool:
        return self._running and not self._stopping

    @property
    def is_leader(self) -> bool:
        """Alone, this instance always keeps time (see ``ReplicatedRuntime``)."""
        return True

    async def run(self) -> None:
        self._running = True
        self.started.set()
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._apply_inbox()
                if self._stopping and not self._inbox:
                    return
                self._fire_due_timers()
                self._arm_timer(loop)
        finally:
            self._running = False
            if self._timer is not None:
                self._timer.cancel()
            for _, future in self._inbox:
                if not future.done():
                    future.set_exception(Stopped("the service is shutting down"))
            self._inbox.clear()

    async def stop(self) -> None:
        """Applies what is already queued, then ends the loop."""
        self._stopping = True
        self._wake.set()

    def _apply_inbox(self) -> None:
        inbox = self._inbox
        n = 0
        while inbox and n < self.batch_max:
            event, future = inbox.popleft()
            n += 1
            self._apply_event(event, self.clock(), future)
        if inbox:
            self._wake.set()  # yield to other tasks between batches, then go on

    def _fire_due_timers(self) -> None:
        due = self.engine.next_timer_at()
        now = self.clock()
        if due is None or due > now:
            return
        self.changes += 1
        try:
            decisions = self.engine.apply(now, TimerDue())
        except Exception as exc:  # a bug must not stop the loop: log it, keep serving
            log.exception("engine failed firing timers")
            decisions = getattr(exc, "fired", [])
        self._publish(decisions, now)

    def _arm_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        due = self.engine.next_timer_at()
        if due == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = due
        if due is not None:
            delay = max(0.0, due - self.clock())
            self._timer = loop.call_at(loop.time() + delay, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._timer_at = None
        self._wake.set()
