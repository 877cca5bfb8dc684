"""Discrete-event simulation of a contact centre in virtual time, driving the pure engine.

The simulator plays the people around the engine: contacts arrive at a seeded random
rate (constant, or following a daily curve), agents answer offers after a short delay (and
sometimes decline), handle contacts for a random time and complete them; customers with a
patience (none by default) hang up or leave the chat when it runs out before they are
answered. Engine timers fire at their own instants, exactly as in the live service, so a
simulated day takes seconds and gives the same decisions every run with the same seed.

Along the way it measures what the live service measures (handle times and abandonment,
``router.core.estimate.HandleTimes``, fed the same decisions) and records, for every
contact that had to queue, the published wait estimate at the moment it was queued next to
the wait it actually had: ``benchmarks.estimate_accuracy`` turns that into the estimate's
accuracy.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from router.core import decisions as d
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.estimate import Estimate, HandleTimes
from router.core.events import (
    AgentLoggedIn,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    Event,
    OfferAccepted,
    OfferDeclined,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, ContactState

# Draws how long a customer is willing to wait (seconds; None: for ever).
PatienceFn = Callable[[random.Random, ContactSpec], float | None]


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
    # Mean patience per channel (exponential): a customer still unanswered when it runs
    # out abandons (``ContactAbandoned``; an offer ringing at that moment is withdrawn).
    # Channels not listed wait for ever; by default nobody abandons.
    patience_s: dict[Channel, float] = field(default_factory=dict)
    # Or any other distribution: replaces ``patience_s`` when given.
    patience: PatienceFn | None = None

    def draw_patience(self, rnd: random.Random, spec: ContactSpec) -> float | None:
        if self.patience is not None:
            return self.patience(rnd, spec)
        mean = self.patience_s.get(spec.channel)
        return None if mean is None else rnd.expovariate(1.0 / mean)

    @property
    def impatient(self) -> bool:
        return self.patience is not None or bool(self.patience_s)


ContactFactory = Callable[[random.Random, int, float], ContactSpec]
# The arrival rate's shape over time: a factor in [0, 1] of the peak rate at time t.
RateProfile = Callable[[float], float]


class Simulation:
    def __init__(self, engine: Engine, seed: int = 1, behaviour: Behaviour | None = None) -> None:
        self.engine = engine
        self.random = random.Random(seed)
        # Patience has its own stream, so that making customers impatient changes nothing
        # else that is drawn (arrivals, answer delays, handle times).
        self.patience_random = random.Random(f"patience-{seed}")
        self.behaviour = behaviour or Behaviour()
        self.now = 0.0
        self._pending: list[tuple[float, int, Event]] = []
        self._seq = 0
        self.offered_at: dict[str, float] = {}
        self.arrived_at: dict[str, float] = {}
        self.answered_wait_s: dict[str, float] = {}
        self.refused = 0
        # Measured as the live service measures them, from the simulated decisions.
        self.handle_times = HandleTimes()
        # The published estimate at the moment each contact was queued on arrival (with
        # the measured abandonment share in it), and the waits of those that gave up.
        self.estimates: dict[str, Estimate] = {}
        self.abandoned_wait_s: dict[str, float] = {}
        self._impatient: set[str] = set()
        self._patient_since: dict[str, float] = {}

    def schedule(self, at: float, event: Event) -> None:
        self._seq += 1
        heapq.heappush(self._pending, (at, self._seq, event))

    def log_in_everyone(self, at: float = 0.0) -> None:
        for agent in self.engine.agents():
            self.schedule(at, AgentLoggedIn(agent.id))

    def arrivals(
        self,
        factory: ContactFactory,
        per_hour: float,
        until: float,
        profile: RateProfile | None = None,
    ) -> None:
        """Schedules a Poisson stream of arrivals made by ``factory``: ``per_hour`` at a
        constant rate, or with ``profile`` a rate of ``per_hour × profile(t)`` (thinning:
        candidates at the peak rate, each kept with probability ``profile(t)``)."""
        t, n = 0.0, 0
        while True:
            t += self.random.expovariate(per_hour / 3600.0)
            if t >= until:
                return
            if profile is not None and self.random.random() >= profile(t):
                continue
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
                if isinstance(event, ContactAbandoned) and not self._still_waiting(
                    event.contact_id
                ):
                    continue  # answered (or gone) before the patience ran out
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
                self.handle_times.observe(decision, self.now)
                self._react(decision)
                yield self.now, decision

    def _still_waiting(self, contact_id: str) -> bool:
        try:
            return self.engine.contact(contact_id).state is not ContactState.ASSIGNED
        except RoutingError:
            return False

    def _record_estimate(self, contact_id: str, service: str) -> None:
        times = self.handle_times
        self.estimates[contact_id] = self.engine.estimate(
            contact_id, times.of(service), times.abandon_share(service)
        )

    def _lose_patience(self, contact_id: str) -> None:
        """Draws a customer's patience when it first waits or rings (on arrival)."""
        if contact_id in self._impatient:
            return
        self._impatient.add(contact_id)
        try:
            view = self.engine.contact(contact_id)
        except RoutingError:
            return
        patience = self.behaviour.draw_patience(self.patience_random, view.spec)
        if patience is not None:
            self._patient_since[contact_id] = view.arrived_at
            self.schedule(view.arrived_at + patience, ContactAbandoned(contact_id))

    def _react(self, decision: d.Decision) -> None:
        b = self.behaviour
        rnd = self.random
        if isinstance(decision, d.Queued):
            self._record_estimate(decision.contact_id, decision.service)
        if b.impatient and isinstance(decision, d.Queued | d.Offered):
            self._lose_patience(decision.contact_id)
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
        elif isinstance(decision, d.Closed) and decision.outcome == "abandoned":
            arrived = self._patient_since.pop(decision.contact_id, None)
            if arrived is not None:
                self.abandoned_wait_s[decision.contact_id] = self.now - arrived
