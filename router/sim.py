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
    PresenceChanged,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, ContactState, Presence

# Draws how long a customer is willing to wait (seconds; None: for ever).
PatienceFn = Callable[[random.Random, ContactSpec], float | None]
# Draws how long an agent handles a contact (seconds).
HandleFn = Callable[[random.Random, ContactSpec], float]


def exponential(rnd: random.Random, mean_s: float) -> float:
    """An exponential draw of mean ``mean_s``; a mean of 0 is a deterministic 0 (no draw)."""
    if mean_s <= 0.0:
        return 0.0
    return rnd.expovariate(1.0 / mean_s)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the simulated people act. Times are means of exponential distributions; a mean
    of 0 means at once (deterministic zero)."""

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
    # Any other handle-time distribution (e.g. per service, lognormal): replaces
    # ``handle_s`` when given.
    handle: HandleFn | None = None
    # How long an agent the engine set not ready (a missed offer, or a decline where the
    # service says so) stays away before making itself available again: the mean of an
    # exponential (0: back at once); None: never comes back (staff decays).
    not_ready_s: float | None = 60.0

    def draw_patience(self, rnd: random.Random, spec: ContactSpec) -> float | None:
        if self.patience is not None:
            return self.patience(rnd, spec)
        mean = self.patience_s.get(spec.channel)
        return None if mean is None else exponential(rnd, mean)

    def draw_handle(self, rnd: random.Random, spec: ContactSpec, channel: Channel) -> float:
        """A handle time for ``spec``, now on ``channel`` (a call may have become a
        callback, a chat a call)."""
        if self.handle is not None:
            return self.handle(rnd, spec)
        return exponential(rnd, self.handle_s.get(channel, 300.0))

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
        self.not_ready_random = random.Random(f"not-ready-{seed}")
        self.behaviour = behaviour or Behaviour()
        self.now = 0.0
        self._pending: list[tuple[float, int, Event]] = []
        self._seq = 0
        # When each contact arrived, and when it was first offered (kept after it closes).
        self.arrived_at: dict[str, float] = {}
        self.offered_at: dict[str, float] = {}
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
        start: float = 0.0,
    ) -> None:
        """Schedules a Poisson stream of arrivals made by ``factory`` from ``start`` on:
        ``per_hour`` at a constant rate, or with ``profile`` a rate of ``per_hour ×
        profile(t)`` (thinning: candidates at the peak rate, each kept with probability
        ``profile(t)``)."""
        t, n = start, 0
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
                if isinstance(event, PresenceChanged) and not self._still_not_ready(event.agent_id):
                    continue  # made available (or logged out) some other way meanwhile
                if isinstance(event, ContactArrived):
                    self.arrived_at[event.contact.id] = self.now
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

    def _still_not_ready(self, agent_id: str) -> bool:
        try:
            view = self.engine.agent(agent_id)
        except RoutingError:
            return False
        return view.presence is Presence.NOT_READY

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
            self.offered_at.setdefault(decision.contact_id, self.now)
            delay = exponential(rnd, b.answer_delay_s)
            answer: Event
            if rnd.random() < b.decline_share:
                answer = OfferDeclined(decision.contact_id, decision.agent_id)
            else:
                answer = OfferAccepted(decision.contact_id, decision.agent_id)
            self.schedule(self.now + delay, answer)
        elif isinstance(decision, d.Assigned):
            view = self.engine.contact(decision.contact_id)
            handle = b.draw_handle(rnd, view.spec, view.channel)
            self.answered_wait_s[decision.contact_id] = self.now - view.arrived_at
            self.schedule(
                self.now + handle, ContactCompleted(decision.contact_id, decision.agent_id)
            )
        elif (
            isinstance(decision, d.AgentPresenceSet)
            and decision.presence is Presence.NOT_READY
            and b.not_ready_s is not None
        ):
            back = self.now + exponential(self.not_ready_random, b.not_ready_s)
            self.schedule(back, PresenceChanged(decision.agent_id, Presence.AVAILABLE))
        elif isinstance(decision, d.Closed) and decision.outcome == "abandoned":
            arrived = self._patient_since.pop(decision.contact_id, None)
            if arrived is not None:
                self.abandoned_wait_s[decision.contact_id] = self.now - arrived


def servable(make_engine: Callable[[], Engine], spec: ContactSpec, horizon_s: float) -> bool:
    """Could anyone on the roster ever be offered ``spec``? Asked of the real engine: a
    fresh one (from ``make_engine``) with every agent logged in and available takes the
    contact, and its timers (widening reach, relaxed levels, overflow) run up to
    ``horizon_s``; True as soon as it makes an offer."""
    engine = make_engine()
    for agent in list(engine.agents()):
        engine.apply(0.0, AgentLoggedIn(agent.id))
    decisions = engine.apply(0.0, ContactArrived(spec))
    while True:
        if any(isinstance(x, d.Offered | d.Redirected) for x in decisions):
            return True
        at = engine.next_timer_at()
        if at is None or at > horizon_s:
            return False
        decisions = engine.apply(at, TimerDue())
