"""The routing engine: applies events in order and returns decisions.

Pure and deterministic: no I/O and no clock — ``now`` comes with each event — so the same
engine runs the live service, the benchmarks and virtual-time simulations, and replaying
the same ``(now, event)`` sequence gives the same decisions.

``Engine`` is the dispatcher: it keeps time, fires the timers due before each event and
hands the event to its handler. The rules are in modules of their own, each a set of
functions of the engine's state (``router.core.engine_state``):

- ``step_choice``: which widening step (and so which reach) a contact enters on
  arrival, widening, overflow or requeue;
- ``capacity``: what an agent has room for (channels, blocks, wrap-up);
- ``matching``: a contact at its step is offered to the best available eligible agent
  (``AgentPool.choose``) or queued (``WaitingQueue``); an agent gaining capacity drains
  the queue: it is offered the earliest-due contact it is eligible for
  (``WaitingQueue.best_for``), repeatedly while it has free capacity;
- ``contact_events``, ``callbacks``, ``scheduled``, ``deadlines``: a contact's events
  (an offer answered or timed out among them), its callback attempts, holds, warning
  and deadline;
- ``agent_events``, ``liveness``: an agent's events and its sightings;
- ``customer_liveness``: chat customers' sightings (a lapsed one is a ``CustomerAway``);
- ``partner_gates``, ``partner_cover``: partner agreements' gates and cover changes;
- ``live_changes``: supervisors' edits of services, moves and manual offers.

Timers (``TimerQueue``) fire offer expiries, step widening, escalation warnings, missed
deadlines, cool-down ends and wrap-up ends before each event is applied.

After every event the invariant holds: no waiting contact has an eligible agent with free
capacity, other than agents in that contact's cool-down.

Size: the dispatcher and the engine's whole read side in one class (views, estimates and
the glances and tuples the service's hot paths read instead of views: ``contact_glance``,
``holder_glance``, ``contact_shown``, ``agent_shown``); the rules are in their modules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from router.core import decisions as d
from router.core.agent_events import (
    add_agent,
    end_wrapup,
    on_agent_updated,
    on_logged_in,
    on_logged_out,
    on_presence,
    on_wrapup_done,
)
from router.core.callbacks import on_attempted, on_switched
from router.core.capacity import free_channels
from router.core.contact_events import (
    leave_unanswered,
    on_abandoned,
    on_accepted,
    on_arrived,
    on_away,
    on_back,
    on_cancelled,
    on_completed,
    on_declined,
    on_merged,
    on_reclassified,
    return_offer,
)
from router.core.customer_liveness import customer_liveness_due, on_customers_seen
from router.core.engine_state import INF, Decisions, EngineState
from router.core.errors import InvalidEvent, UnknownContact
from router.core.estimate import Estimate, wait_range
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentsSeen,
    AgentUpdated,
    CallbackAttempted,
    ChannelSwitched,
    ContactAbandoned,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    ContactMerged,
    ContactMoved,
    ContactReclassified,
    CustomerAway,
    CustomerBack,
    CustomersSeen,
    Event,
    ManualOffer,
    OfferAccepted,
    OfferDeclined,
    PresenceChanged,
    ServiceUpdated,
    TimerDue,
    WrapUpDone,
)
from router.core.live_changes import on_manual_offer, on_moved, on_service_updated
from router.core.liveness import liveness_due, on_seen
from router.core.matching import route
from router.core.model import (
    AgentStatus,
    Channel,
    ContactSpec,
    ContactState,
    Presence,
    ServiceSpec,
    StepKind,
)
from router.core.partner_cover import cover_due, start_cover
from router.core.partner_gates import service_rid
from router.core.policy import RoutingPolicy
from router.core.queue import REGION
from router.core.scheduled import end_hold
from router.core.state import AgentView, ContactView, agent_view, contact_view
from router.core.step_choice import enter_step
from router.core.timers import TimerKind
from skills import CatalogueError, RequirementError

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_AWAY_TIMER = TimerKind.AWAY
_COOLDOWN_TIMER = TimerKind.COOLDOWN
_COVER_TIMER = TimerKind.COVER
_CUSTOMER_LIVENESS_TIMER = TimerKind.CUSTOMER_LIVENESS
_DEADLINE_TIMER = TimerKind.DEADLINE
_HOLD_TIMER = TimerKind.HOLD
_LIVENESS_TIMER = TimerKind.LIVENESS
_OFFERED = ContactState.OFFERED
_OFFER_EXPIRY_TIMER = TimerKind.OFFER_EXPIRY
_SCHEDULED = ContactState.SCHEDULED
_STEP_TIMER = TimerKind.STEP
_WAITING = ContactState.WAITING
_WARN_TIMER = TimerKind.WARN
_WRAP_UP_TIMER = TimerKind.WRAP_UP
_DEADLINE_PLAIN = TimerKind.DEADLINE.value  # what ``TimerQueue.push`` takes: a plain int


class Engine(EngineState):
    def __init__(self, policy: RoutingPolicy) -> None:
        super().__init__(policy)
        for spec in policy.agents.values():
            add_agent(self, spec)

    # ----------------------------------------------------------------- public API

    def apply(self, now: float, event: Event) -> Decisions:
        """Applies ``event`` at time ``now`` (timers due by then fire first) and returns
        the decisions. Time never runs backwards: an earlier ``now`` is taken as the
        latest time seen. A refused event raises a ``RoutingError`` and changes nothing
        (timers due by ``now`` have still fired; their decisions are in ``exc.fired``)."""
        # The usual case: time moved on. (Two comparisons with ``and``, each specialised
        # with its jump on 3.11, where the chained form shuffles the stack.)
        if self.now < now and now < INF:  # noqa: PLR1716 - see above
            self.now = now
        elif -INF < now < INF:
            now = self.now = max(now, self.now)
        else:
            raise InvalidEvent(f"the time of an event must be a finite number, got {now!r}")
        out: Decisions = []
        if self._cover_pending:
            start_cover(self, now, out)
        if self._timers.due_from <= now:
            self._fire_timers(now, out)
        try:
            # Subscripts, not ``get``, on the per-event paths: a hit costs less than the
            # method call, and the miss (a refusal) is rare.
            try:
                handler = _HANDLERS[type(event)]
            except KeyError:
                raise InvalidEvent(f"unknown event type {type(event).__name__}") from None
            try:
                handler(self, event, now, out)
            except (CatalogueError, RequirementError) as exc:
                # Raised while compiling names, before anything was changed.
                raise InvalidEvent(str(exc)) from exc
        except Exception as exc:
            exc.fired = out  # type: ignore[attr-defined]
            raise
        return out

    def next_timer_at(self) -> float | None:
        """When the engine next wants ``TimerDue`` (possibly early, never late)."""
        return self._timers.next_at()

    def contact(self, contact_id: str) -> ContactView:
        c = self._contacts.get(contact_id)
        if c is None:
            raise UnknownContact(f"no open contact {contact_id!r}")
        return contact_view(c, self._reqs.text(c.rid))

    def contacts(self) -> Iterator[ContactView]:
        for c in self._contacts.values():
            yield contact_view(c, self._reqs.text(c.rid))

    def waiting(self) -> list[ContactView]:
        """Waiting contacts in the one priority order."""
        return [contact_view(c, self._reqs.text(c.rid)) for c in self._queue.in_order()]

    def agent(self, agent_id: str) -> AgentView:
        # The lookup first, ``_agent`` only for its error: one call fewer on a read the
        # service makes after every change of an agent.
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agent(agent_id)  # raises UnknownAgent
        return agent_view(a, self.now)

    def agent_version(self, agent_id: str) -> int:
        """A count that changes whenever ``agent(agent_id)`` may: while it is the same,
        the view is equal to the one read before (``AgentRecord.version``). Only
        comparable with a count read from this same engine object."""
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agent(agent_id)  # raises
        return a.version

    def agents(self) -> Iterator[AgentView]:
        for a in self._agents.values():
            yield agent_view(a, self.now)

    def agent_mask(self, agent_id: str) -> int:
        """The skill mask the agent is matched with now: its abilities, plus its partner
        gate (``router.core.partners``) when the region has agreements."""
        return self._pool.groups[self._agent(agent_id).group].mask

    def seen_until(self, agent_id: str) -> float | None:
        """Until when the agent's last sighting (``AgentsSeen``) counts; None if it was
        never reported since it logged in."""
        self._agent(agent_id)
        seen = self._seen.get(agent_id)
        return None if seen is None else seen[0]

    def logged_in_masks(self) -> list[tuple[str, int]]:
        """(id, skill mask) of every logged-in agent, in the order of ``agents()``: what
        a supervisor's eligibility question needs of thousands of agents, without a
        view of each."""
        groups = self._pool.groups
        return [(a.id, groups[a.group].mask) for a in self._agents.values() if a.logged_in]

    def supervisor_room(self, agent_id: str) -> tuple[Channel, ...]:
        """The channels in which a supervisor's offer (``ManualOffer``) fits the agent
        now, by the rule the offer itself is judged by: not-ready and wrap-up are
        overridden, capacity and channel blocks never."""
        return free_channels(self, self._agent(agent_id), self.now, supervisor=True)

    def agent_statuses(self) -> list[tuple[AgentStatus, str, int]]:
        """(status, site, skill mask) of every roster agent: the cheap form of
        ``agents()`` for statistics over thousands of agents."""
        now = self.now
        groups = self._pool.groups
        return [(a.status(now), a.spec.site, groups[a.group].mask) for a in self._agents.values()]

    def services(self) -> list[str]:
        """The names of the services, in configuration order."""
        return list(self._services)

    def service(self, name: str) -> ServiceSpec:
        svc = self._services.get(name)
        if svc is None:
            raise InvalidEvent(f"unknown service {name!r}")
        return svc

    @property
    def waiting_count(self) -> int:
        return len(self._queue)

    def estimate(
        self,
        contact_id: str,
        handle_s: float,
        abandon_share: float = 0.0,
        open_services: frozenset[str] | None = None,
    ) -> Estimate:
        """The published wait estimate for a waiting contact (see ``router.core.estimate``);
        an agent is shared among ``open_services`` only (None: every service), as in
        ``service_estimate``."""
        c = self._open_contact(contact_id)
        position = self._queue.rank(c) + 1
        # Agents across the region: most waits end after the contact has widened, and
        # counting only its current reach (its own station first) overstated them. Only
        # those serving: an agent on a break (not ready) finishes nobody's contact.
        share = self._service_share(open_services)
        servers = self._pool.servers(c.rid, REGION, share, c.channel, self._agents)
        return wait_range(position, servers, handle_s, abandon_share)

    def service_estimate(
        self,
        service: str,
        handle_s: float,
        abandon_share: float = 0.0,
        open_services: frozenset[str] | None = None,
        channel: Channel | None = Channel.VOICE,
        language: str | None = None,
    ) -> Estimate:
        """The wait estimate for a new contact of ``service`` arriving now in ``channel``
        (for public status: a call, unless asked otherwise), counting the agents who
        could take it as such a contact is matched: the service's requirement with its
        partner gate (a partner agent counts only while its cover is on), who take
        ``channel`` (None: any channel). Agents available now who meet it take the
        first contacts at once: with more of them than contacts waiting, the newcomer
        waits for nobody. ``open_services``: the services open now (None: all), so that
        an agent is not counted as a quarter of one for a service because it could also
        serve three that are closed. ``language``: the newcomer's, when known: only
        agents who speak it can answer (a Swedish caller's wait is not the service's,
        whose Finnish-speaking agents outnumber the Swedish-speaking)."""
        svc = self.service(service)
        waiting, _ = self.waiting_in("service", service)
        rid = service_rid(self, svc, language, None)
        share = self._service_share(open_services)
        pool = self._pool
        servers = pool.servers(rid, REGION, share, channel, self._agents)
        # Everyone logged in, the not ready too: whether anyone can answer at all.
        staff = pool.servers(rid, REGION, share, channel, self._agents, staff=True)
        reach_s = _reach_wait_s(svc)
        free = 0 if reach_s is None or channel is None else pool.available(rid, REGION, channel)
        return wait_range(
            waiting + 1, servers, handle_s, abandon_share, free, reach_s or 0.0, staff
        )

    def _service_share(self, open_services: frozenset[str] | None = None) -> dict[int, float]:
        """1 / the number of services each agent group can serve, of ``open_services``
        (None: every service; cached until the groups or services change)."""
        groups = self._pool.groups
        if self._share is None or len(self._share) != len(groups):
            self._share = self._shares_over(self._services.keys())
            self._open_shares.clear()
        if open_services is None:
            return self._share
        # Looked up first: the set of open services is the same object for a second of
        # the service's clock, and whether it holds every service is a walk over them
        # all, asked once per set (on every estimate before).
        cache = self._open_shares
        found = cache.get(open_services)
        if found is None:
            if len(cache) >= 64:  # opening hours change a few times a day: kept small
                cache.clear()
            found = cache[open_services] = (
                self._share
                if open_services >= self._services.keys()
                else self._shares_over(open_services & self._services.keys())
            )
        return found

    def _shares_over(self, names: Iterable[str]) -> dict[int, float]:
        # Gated as contacts are: a partner agent shares itself only among the services
        # its agreement names.
        services = self._services
        rids = [service_rid(self, services[name], None, None) for name in names]
        share: dict[int, float] = {}
        for g in self._pool.groups:
            n = sum(1 for rid in rids if self._reqs.matches(rid, g.mask))
            share[g.id] = 1.0 / n if n else 1.0
        return share

    def waiting_in(self, kind: str, name: str) -> tuple[int, float | None]:
        """How many contacts wait for a service (``kind="service"``) or at a caller's
        site (``kind="site"``), and the earliest arrival among them. O(1) amortised."""
        tally = self._queue.tally
        key = (kind, name)
        return tally.count(key), tally.oldest_arrival(key)

    # -------------------------------------------------------------------- timers

    def _on_timer(self, ev: TimerDue, now: float, out: Decisions) -> None:
        """Timers already fired in ``apply``; nothing else to do."""

    def _fire_timers(self, now: float, out: Decisions) -> None:
        timers = self._timers
        while (timer := timers.pop_due(now)) is not None:
            at, _, kind, ref, token = timer
            if kind is _WRAP_UP_TIMER:
                a = self._agents.get(ref)
                if a is not None and a.wrapup_until == token:
                    end_wrapup(self, a, at, out)
                continue
            if kind is _LIVENESS_TIMER:
                liveness_due(self, ref, at, token, out)
                continue
            if kind is _COVER_TIMER:
                cover_due(self, ref, at, token, out)
                continue
            if kind is _CUSTOMER_LIVENESS_TIMER:  # also forgets a closed contact's sighting
                customer_liveness_due(self, ref, at, token, out)
                continue
            c = self._contacts.get(ref)
            if c is None:
                continue
            if kind is _AWAY_TIMER:
                if c.away_token == token and c.state is not _ASSIGNED:
                    leave_unanswered(self, c.id, "abandoned", at, out)
                continue
            if kind is _OFFER_EXPIRY_TIMER:
                if c.state is _OFFERED and c.offer_no == token:
                    return_offer(self, c, "timeout", c.service.not_ready_on_timeout, at, out)
            elif kind is _STEP_TIMER:
                if c.epoch == token:
                    if c.state is _WAITING:
                        self._queue.remove(c)
                        enter_step(self, c, c.step_index + 1, at, out)
                    else:  # on offer or with an agent: widen if it comes back
                        c.restep = c.step_index + 1
            elif kind is _WARN_TIMER:
                if c.deadline_token == token:
                    c.warned = True
                    if c.state is not _ASSIGNED:
                        out.append(d.EscalationWarning(c.id, c.service.name, c.due_at))
                    self._timers.push(max(c.due_at, at), _DEADLINE_PLAIN, c.id, token)
            elif kind is _HOLD_TIMER:
                if c.state is _SCHEDULED and c.hold_token == token:
                    end_hold(self, c, at, out)
            elif kind is _DEADLINE_TIMER:
                if c.deadline_token == token and c.state is not _ASSIGNED:
                    c.missed = True
                    out.append(d.DeadlineMissed(c.id, c.service.name, c.due_at))
            elif kind is _COOLDOWN_TIMER and c.state is _WAITING and c.entry is not None:
                self._queue.remove(c)
                route(self, c, at, out, arriving=False)

    _handlers: ClassVar[dict[type, Callable[[Engine, Any, float, Decisions], None]]] = {
        ContactArrived: on_arrived,
        ContactCancelled: on_cancelled,
        ContactAbandoned: on_abandoned,
        AgentLoggedIn: on_logged_in,
        AgentLoggedOut: on_logged_out,
        CustomerAway: on_away,
        CustomerBack: on_back,
        PresenceChanged: on_presence,
        AgentsSeen: on_seen,
        CustomersSeen: on_customers_seen,
        OfferAccepted: on_accepted,
        OfferDeclined: on_declined,
        ContactCompleted: on_completed,
        WrapUpDone: on_wrapup_done,
        AgentUpdated: on_agent_updated,
        ServiceUpdated: on_service_updated,
        ContactMoved: on_moved,
        ManualOffer: on_manual_offer,
        ChannelSwitched: on_switched,
        CallbackAttempted: on_attempted,
        ContactMerged: on_merged,
        ContactReclassified: on_reclassified,
        TimerDue: _on_timer,
    }

    def contact_glance(
        self, contact_id: str
    ) -> tuple[ContactState, Channel, str, float, float] | None:
        """An open contact's state, channel, service, arrival and deadline (``due_at``),
        or None when it is not open: the few fields a webhook's answer and the audit's
        arrival record read, without building a ``ContactView`` (one per request)."""
        c = self._contacts.get(contact_id)
        if c is None:
            return None
        return c.state, c.channel, c.service.name, c.arrived_at, c.due_at

    def agent_shown(self, agent_id: str) -> AgentShown:
        """What an agent's desk shows of it (``AgentShown``), read off its record without
        building its view: the agent frame after each offer and close. The load is the
        record's own count per channel (channels at 0 included; the view leaves them
        out) and the contacts its own record of them: read them at once, never keep them."""
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agent(agent_id)  # raises UnknownAgent
        spec = a.spec
        return (
            a.id,
            spec.name,
            a.status(self.now),
            a.presence,
            a.reason,
            spec.site,
            spec.team,
            a.load,
            a.avail_channels,
            a.in_hand,
            a.wrapup_until,
        )

    def contact_shown(self, contact_id: str) -> ContactShown:
        """What an agent's desk shows of an open contact (``ContactShown``), read off its
        record without building its view: an offer's and an assignment's websocket
        frames, on every call. The same values as ``contact(contact_id)``'s fields."""
        c = self._contacts.get(contact_id)
        if c is None:
            raise UnknownContact(f"no open contact {contact_id!r}")
        state = c.state
        urgency = c.urgency
        return (
            c.id,
            c.channel,
            c.service.name,
            urgency,
            c.original_urgency or urgency,
            state,
            c.arrived_at,
            c.due_at,
            c.step_kind,
            c.spec,
            c.agent_id,
            c.offer_expires_at if state is _OFFERED else None,
        )

    def holder_glance(self, contact_id: str) -> tuple[ContactState, Channel, str, str] | None:
        """An open contact's state and channel, with the id and name of the agent it is
        offered or assigned to; None when it is not open or no agent holds it. What a
        phone call's ``connect`` answer says, without a view of the contact and of the
        agent (most calls are offered as they arrive)."""
        c = self._contacts.get(contact_id)
        if c is None or c.agent_id is None:
            return None
        a = self._agents.get(c.agent_id)
        if a is None:
            return None
        return c.state, c.channel, a.id, a.spec.name


# ``Engine.agent_shown``: an agent's id, name, status, presence, reason, site, team,
# load per channel, free channels, the ids of the contacts in hand (in the order taken)
# and end of wrap-up.
AgentShown = tuple[
    str,
    str,
    AgentStatus,
    Presence,
    str,
    str,
    str,
    Mapping[Channel, int],
    tuple[Channel, ...],
    Collection[str],
    float,
]

# ``Engine.contact_shown``: a contact's id, channel, service, urgency, original urgency,
# state, arrival, deadline, step, spec, agent and offer expiry, as its view has them.
ContactShown = tuple[
    str,
    Channel,
    str,
    str,
    str,
    ContactState,
    float,
    float,
    StepKind,
    ContactSpec,
    "str | None",
    "float | None",
]


def _reach_wait_s(svc: ServiceSpec) -> float | None:
    """How long a new contact of ``svc`` waits before its step reaches the whole region
    (its narrower steps' durations), or None when none does (it overflows instead)."""
    waited = 0.0
    for step in svc.steps:
        if step.kind is StepKind.REGION or step.kind is StepKind.RELAXED:
            return waited
        if step.kind is StepKind.OVERFLOW or step.duration_s is None:
            return None
        waited += step.duration_s
    return None


# ``Engine._handlers`` as a global for ``apply``: a class attribute read through the
# instance is not specialized on 3.11 (the generic attribute lookup on every event); the
# same dict, so a handler replaced in it (tests do) is the one called.
_HANDLERS = Engine._handlers
