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
accuracy. The what-if replications need none of that and run with ``measure=False``.

Speed (``benchmarks/sim_vs_ciw.py``): the simulator keeps its own small record of each
open contact (its spec, arrival, channel, whether it is with an agent) from its events and
the engine's decisions, so reacting to a decision never builds an engine view; what is
planned before a run (the arrivals drawn beforehand, shifts) waits in flat sorted lists
beside the heap of events scheduled as the run goes, a drawn arrival as its bare spec;
a customer's abandonment waits off the heap while an accepted offer rings and while the
contact is with an agent (most are answered: it would be pushed, popped and dropped);
decisions are dispatched by type; while a run goes the collector runs less often
(``BATCH_THRESHOLDS``). The order of events and every random draw are as they were, so
a seed gives the same day as before.

Size: the loop, its two sources of events and the reactions to the engine's decisions
share one run's state and are read together; a split would put a call between them on
every event, which is what the speed above is about.
"""

from __future__ import annotations

import gc
import heapq
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

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

_TICK = TimerDue()
# The sequence of an engine timer's event: after the simulator's own at the same time.
_AFTER_ALL = float("inf")
# The events the loop looks at before applying them.
_CHECKED = frozenset({ContactArrived, ContactAbandoned, PresenceChanged})
# The simulator's own events, in the order they happen: (time, sequence, event).
_Entry = tuple[float, int, Event]


# The collector's thresholds while a simulation runs (CPython's default: 700, 10, 10),
# as the live service has them (``router.service.collector``). A run makes mostly acyclic
# objects, freed by reference counting; at the default, young collections found nothing to
# free and pushed the day's drawn arrivals and the engine's records up to full passes.
# Measured (benchmarks/RESULTS.md, "#14 part 6"): 57 young collections instead of 212 and
# no full pass at 20,000 contacts; no cyclic garbage was made; peak memory no higher.
BATCH_THRESHOLDS = (20_000, 10, 10)


class _Batch:
    """The collector's setting while simulations run, restored when the last one ends
    (also on an error or when dropped half-way; runs may nest or interleave: two
    simulations stepped in turns, in one thread). A setting the caller makes while a run
    goes is the caller's: it is kept, not overwritten by the one saved at the start."""

    runs = 0
    saved = (700, 10, 10)

    @classmethod
    def begin(cls) -> None:
        if cls.runs == 0:
            cls.saved = gc.get_threshold()
            gc.set_threshold(*BATCH_THRESHOLDS)
        cls.runs += 1

    @classmethod
    def end(cls) -> None:
        cls.runs -= 1
        if cls.runs == 0 and gc.get_threshold() == BATCH_THRESHOLDS:
            gc.set_threshold(*cls.saved)


class _Open:
    """What the simulator knows of an open contact, kept from its own events and the
    engine's decisions so that reacting to a decision never asks the engine for a view."""

    __slots__ = ("arrived", "assigned", "channel", "drawn", "held", "patient", "spec")

    def __init__(self, spec: ContactSpec, arrived: float, channel: Channel) -> None:
        self.spec = spec
        self.arrived = arrived
        self.channel = channel  # as last offered (a contact may change channel)
        self.assigned = False
        self.drawn = False  # its patience has been drawn
        self.patient = False  # and it will give up (its abandonment is scheduled)
        # Its abandonment's (time, sequence) while it is not on the heap: an accepted offer
        # rings until before it, and a contact with an agent does not give up.
        self.held: tuple[float, int] | None = None


class Simulation:
    """Runs the engine in virtual time. With ``measure=False`` it keeps only what a
    replication's figures need (arrivals, answered waits, abandonments): no handle-time
    measurements, no per-contact estimates, no offer times."""

    def __init__(
        self,
        engine: Engine,
        seed: int = 1,
        behaviour: Behaviour | None = None,
        measure: bool = True,
    ) -> None:
        self.engine = engine
        self.random = random.Random(seed)
        # Patience has its own stream, so that making customers impatient changes nothing
        # else that is drawn (arrivals, answer delays, handle times).
        self.patience_random = random.Random(f"patience-{seed}")
        self.not_ready_random = random.Random(f"not-ready-{seed}")
        self.behaviour = behaviour or Behaviour()
        self.measure = measure
        self.now = 0.0
        # Events scheduled as the run goes (answers, completions, patience), a heap; and
        # those planned before it (drawn arrivals, shifts) from ``_planned_next`` on, flat
        # (times, sequences, items: a drawn arrival as its bare spec) so that a long day
        # is few objects: two sources merged by (time, sequence).
        self._pending: list[_Entry] = []
        self._planned_at: list[float] = []
        self._planned_seq: list[int] = []
        self._planned: list[ContactSpec | Event] = []
        self._planned_next = 0
        self._planned_in_order = True
        self._running = False
        self._seq = 0
        self._event_seq: float = _AFTER_ALL  # the sequence of the event being applied
        self._open: dict[str, _Open] = {}
        # The behaviour's, as the run started: its own draws called directly.
        self._impatient = False
        self._patience: PatienceFn | None = None
        self._handle: HandleFn | None = None
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
        self._reactions: dict[type, Callable[[Any], None]] = {
            d.Queued: self._on_queued,
            d.Offered: self._on_offered,
            d.Assigned: self._on_assigned,
            d.Requeued: self._on_unassigned,
            d.Scheduled: self._on_unassigned,
            d.Switched: self._on_switched,
            d.AgentPresenceSet: self._on_presence,
            d.Closed: self._on_closed,
        }

    def schedule(self, at: float, event: Event) -> None:
        self._seq += 1
        if self._running:
            heapq.heappush(self._pending, (at, self._seq, event))
        else:
            self._plan(at, event)

    def _plan(self, at: float, item: ContactSpec | Event) -> None:
        """Before a run: kept with the planned events (sorted when the run starts)."""
        times = self._planned_at
        if times and at < times[-1]:
            self._planned_in_order = False
        times.append(at)
        self._planned_seq.append(self._seq)
        self._planned.append(item)

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
        rnd = self.random
        rate = per_hour / 3600.0
        t, n = start, 0
        while True:
            t += rnd.expovariate(rate)
            if t >= until:
                break
            if profile is not None and rnd.random() >= profile(t):
                continue
            n += 1
            self._seq += 1
            spec = factory(rnd, n, t)
            if self._running:  # drawn from the people's reactions during a run
                heapq.heappush(self._pending, (t, self._seq, ContactArrived(spec)))
            else:
                self._plan(t, spec)

    def _planned_sorted(self) -> None:
        """The planned events to come in (time, sequence) order: appended in sequence
        order, so a stable sort by time."""
        first = self._planned_next
        if not self._planned_in_order:
            times, seqs, items = self._planned_at, self._planned_seq, self._planned
            order = sorted(range(first, len(times)), key=times.__getitem__)
            self._planned_at = [times[k] for k in order]
            self._planned_seq = [seqs[k] for k in order]
            self._planned = [items[k] for k in order]
            self._planned_next = 0
            self._planned_in_order = True

    def run(self, until: float) -> Generator[tuple[float, d.Decision], None, None]:
        """Runs to ``until``, yielding each decision with the virtual time it was made.
        While it runs the collector has the batch setting (``BATCH_THRESHOLDS``)."""
        self._planned_sorted()
        times, seqs, items = self._planned_at, self._planned_seq, self._planned
        count = len(times)
        i = self._planned_next
        engine = self.engine
        apply = engine.apply
        next_timer_at = engine.next_timer_at
        pending = self._pending
        pop = heapq.heappop
        reactions = self._reactions
        observe = self.handle_times.observe if self.measure else None
        open_ = self._open
        arrived_at = self.arrived_at
        behaviour = self.behaviour
        self._impatient = behaviour.impatient
        direct = type(behaviour) is Behaviour  # a subclass may draw otherwise
        self._patience = behaviour.patience if direct else None
        self._handle = behaviour.handle if direct else None
        event: Event
        due: float | None
        self._running = True
        _Batch.begin()
        try:
            timer = next_timer_at()
            while True:
                # The next event of the two sources, by (time, sequence).
                from_heap = bool(pending) and (
                    i >= count
                    or pending[0][0] < times[i]
                    or (pending[0][0] == times[i] and pending[0][1] < seqs[i])
                )
                due = pending[0][0] if from_heap else times[i] if i < count else None
                # The simulator's own event goes first at a tie with the engine's timer.
                if timer is not None and (due is None or timer < due):
                    if timer > until:
                        break
                    at, event = timer, _TICK
                    self._event_seq = _AFTER_ALL  # after the simulator's own at a tie
                elif due is None or due > until:
                    break
                else:
                    at = due
                    if from_heap:
                        _, self._event_seq, event = pop(pending)
                    else:
                        self._event_seq = seqs[i]
                        item = items[i]
                        i += 1
                        # A drawn arrival is kept as its spec.
                        event = ContactArrived(item) if isinstance(item, ContactSpec) else item
                now = self.now
                if at > now:
                    self.now = now = at
                arriving: ContactSpec | None = None
                if type(event) in _CHECKED:
                    if isinstance(event, ContactArrived):
                        arriving = event.contact
                        arrived_at[arriving.id] = now
                    elif isinstance(event, ContactAbandoned):
                        cid = event.contact_id
                        rec = open_.get(cid)
                        # Without a record, a contact the simulator saw arrive has closed.
                        if (
                            rec.assigned
                            if rec is not None
                            else cid in arrived_at or not self._still_waiting(cid)
                        ):
                            continue  # answered (or gone) before the patience ran out
                    elif isinstance(event, PresenceChanged) and not self._still_not_ready(
                        event.agent_id
                    ):
                        continue  # made available (or logged out) some other way meanwhile
                try:
                    decisions = apply(now, event)
                except RoutingError as exc:
                    # A person acting too late (accepting an offer that just expired) is
                    # refused by the engine, as in the live service; its timers stand.
                    self.refused += 1
                    decisions = getattr(exc, "fired", [])
                else:
                    if arriving is not None:
                        open_[arriving.id] = _Open(arriving, engine.now, arriving.channel)
                for decision in decisions:
                    if observe is not None:
                        observe(decision, now)
                    react = reactions.get(type(decision))
                    if react is not None:
                        react(decision)
                    yield now, decision
                if type(event) is OfferAccepted and open_:
                    self._release(event.contact_id)  # if it is not with the agent after all
                timer = next_timer_at()
            self.now, self._event_seq = until, _AFTER_ALL
        finally:
            # What is still held goes onto the heap, as if it had never been held back.
            for cid, rec in open_.items():
                if rec.held is not None:
                    self._release(cid, rec, even_assigned=True)
            self._planned_next = i
            self._running = False
            _Batch.end()

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

    def _record(self, contact_id: str) -> _Open | None:
        """The simulator's record of an open contact; one opened other than by the
        simulator's arrivals (applied to the engine directly) is read from the engine once."""
        rec = self._open.get(contact_id)
        if rec is None:
            try:
                view = self.engine.contact(contact_id)
            except RoutingError:
                return None
            rec = self._open[contact_id] = _Open(view.spec, view.arrived_at, view.channel)
            rec.assigned = view.state is ContactState.ASSIGNED
        return rec

    def _lose_patience(self, contact_id: str, rec: _Open, answered: float | None = None) -> None:
        """Draws a customer's patience when it first waits or rings (on arrival). When the
        offer ringing is to be ``answered`` (accepted) before the patience runs out, the
        abandonment is held back: most contacts are answered, and an abandonment that
        comes due with an agent is dropped anyway (pushed, popped and looked at for
        nothing). It goes onto the heap as soon as the contact is without an agent."""
        rec.drawn = True
        draw = self._patience or self.behaviour.draw_patience
        patience = draw(self.patience_random, rec.spec)
        if patience is not None:
            rec.patient = True
            self._seq += 1  # as schedule(), during a run
            at = rec.arrived + patience
            if answered is not None and answered < at:
                rec.held = (at, self._seq)
            else:
                heapq.heappush(self._pending, (at, self._seq, ContactAbandoned(contact_id)))

    def _release(
        self, contact_id: str, rec: _Open | None = None, even_assigned: bool = False
    ) -> None:
        """A held abandonment onto the heap, the contact without an agent (or the run
        ending), unless it came due meanwhile (when the contact was with an agent)."""
        rec = rec or self._open.get(contact_id)
        if rec is None or rec.held is None or (rec.assigned and not even_assigned):
            return
        at, seq = rec.held
        rec.held = None
        if at > self.now or (at == self.now and seq > self._event_seq):
            heapq.heappush(self._pending, (at, seq, ContactAbandoned(contact_id)))

    def _on_queued(self, decision: d.Queued) -> None:
        cid = decision.contact_id
        if self.measure:
            times = self.handle_times
            service = decision.service
            self.estimates[cid] = self.engine.estimate(
                cid, times.of(service), times.abandon_share(service)
            )
        if self._impatient:
            rec = self._record(cid)
            if rec is not None and not rec.drawn:
                self._lose_patience(cid, rec)

    def _on_offered(self, decision: d.Offered) -> None:
        cid = decision.contact_id
        now = self.now
        if self.measure:
            self.offered_at.setdefault(cid, now)
        b = self.behaviour
        rnd = self.random
        mean = b.answer_delay_s  # as exponential(), without the call
        delay = rnd.expovariate(1.0 / mean) if mean > 0.0 else 0.0
        accepted = rnd.random() >= b.decline_share
        rec = self._open.get(cid) or self._record(cid)
        if rec is not None:
            if self._impatient and not rec.drawn:  # its own stream: drawn in the same order
                self._lose_patience(cid, rec, now + delay if accepted else None)
            rec.channel = decision.channel
        answer: Event
        if accepted:
            answer = OfferAccepted(cid, decision.agent_id)
        else:
            answer = OfferDeclined(cid, decision.agent_id)
        self._seq += 1
        heapq.heappush(self._pending, (now + delay, self._seq, answer))

    def _on_assigned(self, decision: d.Assigned) -> None:
        cid = decision.contact_id
        rec = self._open.get(cid) or self._record(cid)
        if rec is None:
            raise RoutingError(f"contact {cid!r} was assigned but is not open")
        rec.assigned = True
        now = self.now
        draw = self._handle
        handle = (
            draw(self.random, rec.spec)
            if draw is not None
            else self.behaviour.draw_handle(self.random, rec.spec, rec.channel)
        )
        self.answered_wait_s[cid] = now - decision.arrived_at
        self._seq += 1
        heapq.heappush(
            self._pending, (now + handle, self._seq, ContactCompleted(cid, decision.agent_id))
        )

    def _on_unassigned(self, decision: d.Requeued | d.Scheduled) -> None:
        rec = self._open.get(decision.contact_id)
        if rec is not None:
            rec.assigned = False
            if rec.held is not None:
                self._release(decision.contact_id, rec)

    def _on_switched(self, decision: d.Switched) -> None:
        # The engine rewrote the contact's spec (channel, attributes): read it again.
        old = self._open.pop(decision.contact_id, None)
        rec = self._record(decision.contact_id)
        if old is not None and rec is not None:
            rec.drawn, rec.patient, rec.held = old.drawn, old.patient, old.held
            self._release(decision.contact_id, rec)

    def _on_presence(self, decision: d.AgentPresenceSet) -> None:
        back_s = self.behaviour.not_ready_s
        if decision.presence is Presence.NOT_READY and back_s is not None:
            back = self.now + exponential(self.not_ready_random, back_s)
            self.schedule(back, PresenceChanged(decision.agent_id, Presence.AVAILABLE))

    def _on_closed(self, decision: d.Closed) -> None:
        rec = self._open.pop(decision.contact_id, None)
        if decision.outcome == "abandoned" and rec is not None and rec.patient:
            self.abandoned_wait_s[decision.contact_id] = self.now - rec.arrived


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
