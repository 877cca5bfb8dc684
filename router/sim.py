"""Discrete-event simulation of a contact centre in virtual time, driving the pure engine.

The simulator plays the people around the engine: contacts arrive at a seeded random
rate, agents answer offers after a short delay (and sometimes decline), handle contacts
for a random time and complete them. Engine timers fire at their own instants, exactly as
in the live service, so a simulated day takes seconds and gives the same decisions every
run with the same seed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from router.core import decisions as d
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    Event,
    OfferAccepted,
    OfferDeclined,
    TimerDue,
)
from router.core.model import Channel, ContactSpec


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the simulated people act. Times are means of exponential distributions."""

    answer_delay_s: float = 4.0
    decline_share: float = 0.05
    handle_s: dict[Channel, float] = field(
        default_factory=lambda: {
            Channel.VOICE: 240.0,
            Channel.CALLBACK: 300.0,
            Channel.CHAT: 420.0,
            Channel.WEB: 180.0,
            Channel.WORKITEM: 360.0,
        }
    )


ContactFactory = Callable[[random.Random, int, float], ContactSpec]


class Simulation:
    def __init__(self, engine: Engine, seed: int = 1, behaviour: Behaviour | None = None) -> None:
        self.engine = engine
        self.random = random.Random(seed)
        self.behaviour = behaviour or Behaviour()
        self.now = 0.0
        self._pending: list[tuple[float, int, Event]] = []
        self._seq = 0
        self.offered_at: dict[str, float] = {}
        self.arrived_at: dict[str, float] = {}
        self.answered_wait_s: dict[str, float] = {}
        self.refused = 0

    def schedule(self, at: float, event: Event) -> None:
        self._seq += 1
        heapq.heappush(self._pending, (at, self._seq, event))

    def log_in_everyone(self, at: float = 0.0) -> None:
        for agent in self.engine.agents():
            self.schedule(at, AgentLoggedIn(agent.id))

    def arrivals(self, factory: ContactFactory, per_hour: float, until: float) -> None:
        """Schedules a Poisson stream of arrivals made by ``factory``."""
        t, n = 0.0, 0
        while True:
            t += self.random.expovariate(per_hour / 3600.0)
            if t >= until:
                return
            n += 1
            self.schedule(t, ContactArrived(factory(self.random, n, t)))

    def run(self, until: float) -> Iterator[tuple[float, d.Decision]]:
        """Runs to ``until``, yielding each decision with the virtual time it was made."""
        engine = self.engine
        while True:
            timer = engine.next_timer_at()
            nxt = self._pending[0][0] if self._pending else None
            candidates = [t for t in (timer, nxt) if t is not None and t <= until]
            if not candidates:
                self.now = until
                return
            at = min(candidates)
            self.now = max(self.now, at)
            if nxt is not None and nxt <= at:
                _, _, event = heapq.heappop(self._pending)
            else:
                event = TimerDue()
            try:
                decisions = engine.apply(self.now, event)
            except RoutingError as exc:
                # A person acting too late (accepting an offer that just expired) is
                # refused by the engine, as in the live service; the timers it fired stand.
                self.refused += 1
                decisions = getattr(exc, "fired", [])
            for decision in decisions:
                self._react(decision)
                yield self.now, decision

    def _react(self, decision: d.Decision) -> None:
        b = self.behaviour
        rnd = self.random
        if isinstance(decision, d.Offered):
            delay = rnd.expovariate(1.0 / b.answer_delay_s)
            answer: Event
            if rnd.random() < b.decline_share:
                answer = OfferDeclined(decision.contact_id, decision.agent_id)
            else:
                answer = OfferAccepted(decision.contact_id, decision.agent_id)
            self.schedule(self.now + delay, answer)
        elif isinstance(decision, d.Assigned):
            channel = self.engine.contact(decision.contact_id).channel
            handle = rnd.expovariate(1.0 / b.handle_s.get(channel, 300.0))
            self.answered_wait_s[decision.contact_id] = (
                self.now - self.engine.contact(decision.contact_id).arrived_at
            )
            self.schedule(
                self.now + handle, ContactCompleted(decision.contact_id, decision.agent_id)
            )
