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

from router.core.decisions import Decision
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import Event, TimerDue

log = logging.getLogger("yhteys.dispatch")

Listener = Callable[[Decision, float], None]
Clock = Callable[[], float]


class Stopped(RuntimeError):
    """The dispatch loop has stopped; the service is shutting down."""


class Runtime:
    def __init__(self, engine: Engine, clock: Clock = time.time, batch_max: int = 512) -> None:
        self.engine = engine
        self.clock = clock
        self.batch_max = batch_max
        self.listeners: list[Listener] = []
        self.applied = 0
        self._inbox: deque[tuple[Event, asyncio.Future[list[Decision]]]] = deque()
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._running = False
        self._stopping = False
        self.started = asyncio.Event()
        self.latency_observers: list[Callable[[float], None]] = []

    # -------------------------------------------------------------- submitting

    async def submit(self, event: Event) -> list[Decision]:
        """Applies ``event`` in order with everything else; returns its decisions or raises
        the engine's ``RoutingError`` (nothing changed)."""
        if self._stopping:
            raise Stopped("the service is shutting down")
        future: asyncio.Future[list[Decision]] = asyncio.get_running_loop().create_future()
        self._inbox.append((event, future))
        self._wake.set()
        return await future

    # -------------------------------------------------------------- the loop

    @property
    def running(self) -> bool:
        return self._running

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
            started = time.perf_counter()
            now = self.clock()
            try:
                decisions = self.engine.apply(now, event)
            except RoutingError as exc:
                self._publish(getattr(exc, "fired", []), now)
                if not future.done():
                    future.set_exception(exc)
                continue
            except Exception as exc:  # a bug: keep serving, tell the submitter
                log.exception("engine failed on %s", type(event).__name__)
                # Timers that fired before the failure stand; their decisions go out.
                self._publish(getattr(exc, "fired", []), now)
                if not future.done():
                    future.set_exception(exc)
                continue
            self.applied += 1
            self._publish(decisions, now)
            if not future.done():
                future.set_result(decisions)
            elapsed = time.perf_counter() - started
            for observe in self.latency_observers:
                observe(elapsed)
        if inbox:
            self._wake.set()  # yield to other tasks between batches, then go on

    def _fire_due_timers(self) -> None:
        due = self.engine.next_timer_at()
        now = self.clock()
        if due is None or due > now:
            return
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

    def _publish(self, decisions: list[Decision], now: float) -> None:
        for decision in decisions:
            for listener in self.listeners:
                try:
                    listener(decision, now)
                except Exception:
                    log.exception("listener failed on %s", type(decision).__name__)
