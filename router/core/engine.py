"""The routing engine: applies events in order and returns decisions.

Pure and deterministic: no I/O and no clock — ``now`` comes with each event — so the same
engine runs the live service, the benchmarks and virtual-time simulations, and replaying
the same ``(now, event)`` sequence gives the same decisions.

Where each decision is made:

- a contact entering a step (arrival, widening, requeue) is offered to the best available
  eligible agent (``AgentPool.choose``) or queued in its bucket (``WaitingQueue``);
- an agent gaining capacity (login, available, offer answered, completion, wrap-up over,
  skills changed) drains the queue: it is offered the earliest-due contact it is eligible
  for (``WaitingQueue.best_for``), repeatedly while it has free capacity;
- timers (``TimerQueue``) fire offer expiries, step widening, escalation warnings,
  missed deadlines, cool-down ends and wrap-up ends before each event is applied.

After every event the invariant holds: no waiting contact has an eligible agent with free
capacity, other than agents in that contact's cool-down.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, ClassVar

from router.core import decisions as d
from router.core.errors import (
    Conflict,
    InvalidEvent,
    StaleUpdate,
    UnknownAgent,
    UnknownContact,
)
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
    Event,
    ManualOffer,
    OfferAccepted,
    OfferDeclined,
    PresenceChanged,
    ServiceUpdated,
    TimerDue,
    WrapUpDone,
)
from router.core.model import (
    CALLBACK_RESULTS,
    CHANNELS,
    AgentSpec,
    AgentStatus,
    Channel,
    ContactSpec,
    ContactState,
    Presence,
    ServiceSpec,
    Step,
    StepKind,
    place_and_deadline,
)
from router.core.partners import OWN_REGION, partner_authorisation, service_agreements
from router.core.policy import RoutingPolicy
from router.core.pool import AgentPool
from router.core.queue import REGION, ScopeKey, WaitingQueue
from router.core.requirements import RequirementTable
from router.core.service_rules import service_problems
from router.core.state import (
    AgentRecord,
    AgentView,
    ContactRecord,
    ContactView,
    agent_view,
    contact_view,
)
from router.core.timers import SLOT_S, TimerKind, TimerQueue
from router.core.urgency_map import class_after_move
from skills import CatalogueError, Requirement, RequirementError, Term

Decisions = list[d.Decision]
_INF = float("inf")
_FALLBACK_STEP = Step(StepKind.REGION)
# Decisions are values nobody mutates, so a trace that says nothing contact-specific is
# shared rather than built on every arrival.
_NO_AGENT_FREE = {kind: d.Trace(kind, "no_agent_free") for kind in StepKind}


def _in_order(contacts: list[ContactRecord]) -> list[ContactRecord]:
    """Contacts moved in bulk are re-routed in the one order (earliest target first)."""
    return sorted(contacts, key=lambda c: (c.target_at, c.seq))


class Engine:
    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self.catalogue = policy.catalogue
        self.now = float("-inf")
        self._services: dict[str, ServiceSpec] = dict(policy.services)
        self._blocks = policy.blocks
        self._reqs = RequirementTable(policy.catalogue)
        self._pool = AgentPool(self._reqs)
        self._queue = WaitingQueue()
        self._timers = TimerQueue()
        self._contacts: dict[str, ContactRecord] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._seq = 0
        self._tokens = 0
        self._agent_seq = 0
        self._share: dict[int, float] | None = None
        self._service_base: dict[tuple[str, str | None, str | None], int] = {}
        self._init_liveness()
        self._init_cover()
        for spec in policy.agents.values():
            self._add_agent(spec)

    def _init_liveness(self) -> None:
        # agent -> (seen until, how long its last sighting was valid for)
        self._seen: dict[str, tuple[float, float]] = {}
        # agent -> when its one pending LIVENESS timer fires
        self._live_timer: dict[str, float] = {}

    def _init_cover(self) -> None:
        agreements = getattr(self.policy, "agreements", None) or {}
        for name in (OWN_REGION, *map(partner_authorisation, agreements)):
            if agreements and not self.catalogue.has_authorisation(name):
                raise ValueError(
                    f"the catalogue lacks the partner gate authorisation {name!r}: build it "
                    "with router.core.partners.gate_authorisations"
                )
        # agreement -> whether its cover is on; empty until the first event gives a time.
        self._cover: dict[str, bool] = {}
        self._cover_timer: dict[str, float] = {}  # agreement -> its pending change
        self._cover_pending = bool(agreements)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A snapshot written before the liveness rule (or partner cover) lacks its
        state: it starts empty."""
        self.__dict__.update(state)
        if "_seen" not in state:
            self._init_liveness()
        if "_cover" not in state:
            self._init_cover()

    # ----------------------------------------------------------------- public API

    def apply(self, now: float, event: Event) -> Decisions:
        """Applies ``event`` at time ``now`` (timers due by then fire first) and returns
        the decisions. Time never runs backwards: an earlier ``now`` is taken as the
        latest time seen. A refused event raises a ``RoutingError`` and changes nothing
        (timers due by ``now`` have still fired; their decisions are in ``exc.fired``)."""
        if self.now < now < _INF:  # the usual case: time moved on
            self.now = now
        elif -_INF < now < _INF:
            now = self.now = max(now, self.now)
        else:
            raise InvalidEvent(f"the time of an event must be a finite number, got {now!r}")
        out: Decisions = []
        if self._cover_pending:
            self._start_cover(now, out)
        keys = self._timers.keys
        if keys and keys[0] * SLOT_S <= now:
            self._fire_timers(now, out)
        try:
            handler = self._handlers.get(type(event))
            if handler is None:
                raise InvalidEvent(f"unknown event type {type(event).__name__}")
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
        return agent_view(self._agent(agent_id), self.now)

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

    def estimate(self, contact_id: str, handle_s: float, abandon_share: float = 0.0) -> Estimate:
        """The published wait estimate for a waiting contact (see ``router.core.estimate``)."""
        c = self._open_contact(contact_id)
        position = self._queue.rank(c) + 1
        # Agents across the region: most waits end after the contact has widened, and
        # counting only its current reach (its own station first) overstated them.
        servers = self._pool.servers(c.rid, REGION, self._service_share(), c.channel, self._agents)
        return wait_range(position, servers, handle_s, abandon_share)

    def service_estimate(
        self, service: str, handle_s: float, abandon_share: float = 0.0
    ) -> Estimate:
        """The wait estimate for a new contact of ``service`` (for public status)."""
        svc = self.service(service)
        waiting, _ = self.waiting_in("service", service)
        rid = self._reqs.intern(svc.requirement)
        servers = self._pool.servers(rid, REGION, self._service_share(), None, self._agents)
        return wait_range(waiting + 1, servers, handle_s, abandon_share)

    def _service_share(self) -> dict[int, float]:
        """1 / the number of services each agent group can serve (cached until the
        groups or services change)."""
        groups = self._pool.groups
        if self._share is None or len(self._share) != len(groups):
            rids = [self._reqs.intern(s.requirement) for s in self._services.values()]
            share: dict[int, float] = {}
            for g in groups:
                n = sum(1 for rid in rids if self._reqs.matches(rid, g.mask))
                share[g.id] = 1.0 / n if n else 1.0
            self._share = share
        return self._share

    def waiting_in(self, kind: str, name: str) -> tuple[int, float | None]:
        """How many contacts wait for a service (``kind="service"``) or at a caller's
        site (``kind="site"``), and the earliest arrival among them. O(1) amortised."""
        tally = self._queue.tally
        key = (kind, name)
        return tally.count(key), tally.oldest_arrival(key)

    # ------------------------------------------------------------------ contacts

    def _on_arrived(self, ev: ContactArrived, now: float, out: Decisions) -> None:
        spec = ev.contact
        if spec.id in self._contacts:
            raise InvalidEvent(f"contact {spec.id!r} is already open")
        service = self._services.get(spec.service)
        if service is None:
            raise InvalidEvent(
                f"unknown service {spec.service!r}; known: {', '.join(self._services)}"
            )
        urgency_name = spec.urgency or service.default_urgency
        urgency = service.urgencies.get(urgency_name)
        if urgency is None:
            raise InvalidEvent(
                f"unknown urgency {urgency_name!r} for service {service.name!r}; "
                f"known: {', '.join(service.urgencies)}"
            )
        if spec.language is not None and not self.catalogue.has_language(spec.language):
            raise InvalidEvent(
                f"unknown language {spec.language!r}; known: {', '.join(self.catalogue.languages)}"
            )
        if spec.authorisation is not None and not self.catalogue.has_authorisation(
            spec.authorisation
        ):
            raise InvalidEvent(f"unknown authorisation {spec.authorisation!r}")
        if (
            spec.arrived_at is not None
            or spec.due_at is not None
            or spec.not_before is not None
            or spec.clock_from is not None
            or spec.same_day_by is not None
        ):
            for name in ("arrived_at", "due_at", "not_before", "clock_from", "same_day_by"):
                value = getattr(spec, name)
                if value is not None and not math.isfinite(value):
                    # The queue orders by due time: NaN or infinity has no place in it.
                    raise InvalidEvent(f"{name} must be a finite time, got {value!r}")
        redirect = urgency.redirect or spec.redirect_to
        if redirect is not None:
            out.append(d.Redirected(spec.id, redirect, urgency_name, service.name, spec.channel))
            out.append(d.Closed(spec.id, "redirected", None, service.name, spec.channel))
            return
        base = self._base_rid(spec, service)
        arrived = spec.arrived_at if spec.arrived_at is not None else now
        if spec.due_at is not None:  # a place kept or a window chosen: place and deadline
            target = due = spec.due_at
        else:
            clock = spec.clock_from if spec.clock_from is not None else arrived
            target, due = place_and_deadline(clock, spec.same_day_by, urgency.target_s)
        self._seq += 1
        c = ContactRecord(spec, service, urgency_name, self._seq, arrived, due, base, target)
        self._contacts[c.id] = c
        if spec.not_before is not None and spec.not_before > now:
            c.entered = False
            self._hold(c, spec.not_before, out)
            return
        self._push_deadline_timers(c, now)
        self._enter_step(c, 0, now, out, arriving=True)

    def _base_rid(self, spec: ContactSpec, service: ServiceSpec) -> int:
        if spec.requirement is not None:
            return self._reqs.contact_base(
                self._gated(spec.requirement, service.name), spec.language, spec.authorisation
            )
        # Most contacts take their service's requirement: a cheap key, no hashing of the
        # requirement itself on every arrival.
        key = (service.name, spec.language, spec.authorisation)
        rid = self._service_base.get(key)
        if rid is None:
            rid = self._reqs.contact_base(
                self._gated(service.requirement, service.name), spec.language, spec.authorisation
            )
            self._service_base[key] = rid
        return rid

    def _gated(self, requirement: Requirement, service: str) -> Requirement:
        """With partner agreements, ``requirement`` joined with its service's gate: the
        region's own agents, or the agents of an agreement naming the service."""
        agreements = self.policy.agreements
        if not agreements:
            return requirement
        gate = Requirement.term(Term("auth", OWN_REGION))
        for name in service_agreements(agreements, service):
            gate = gate.any_of(Requirement.term(Term("auth", partner_authorisation(name))))
        return requirement.all_of(gate)

    def _mask_of(self, spec: AgentSpec) -> int:
        """The agent's skill mask with its partner gate: ``own-region`` for the region's
        own agents, ``partner.<name>`` for a partner agent while its cover is on."""
        mask = self.catalogue.agent_mask(spec.abilities)  # raises on unknown names
        agreements = self.policy.agreements
        if not agreements:
            if spec.partner:  # never an ungated partner: it would serve every service
                raise InvalidEvent(
                    f"agent {spec.id!r}: partner agreement {spec.partner!r}, but the "
                    "region's engine has no partner agreements"
                )
            return mask
        if not spec.partner:
            return mask | self.catalogue.authorisation_bit(OWN_REGION)
        if spec.partner not in agreements:
            raise InvalidEvent(
                f"agent {spec.id!r}: unknown partner agreement {spec.partner!r}; "
                f"known: {', '.join(agreements)}"
            )
        if self._cover.get(spec.partner, False):
            return mask | self.catalogue.authorisation_bit(partner_authorisation(spec.partner))
        return mask

    # ------------------------------------------------------------------ partner cover

    def _start_cover(self, now: float, out: Decisions) -> None:
        """The first event gives the engine a time: each agreement's cover is set as the
        schedule says at ``now`` and a timer armed for its next change."""
        self._cover_pending = False
        for name in self.policy.agreements:
            self._cover_due(name, now, now, out)

    def _cover_due(self, name: str, at: float, token: float, out: Decisions) -> None:
        """A cover change instant (or the start): partner agents of agreement ``name``
        gain or lose the gate; an offer in progress and work in hand are left alone."""
        if self._cover_timer.get(name, token) != token:
            return  # a stale timer (cannot happen today: one per agreement)
        plan = self.policy.agreements[name].cover
        on = plan.is_on(at)
        was = self._cover.get(name, False)
        self._cover[name] = on
        following = plan.next_change(at)
        if following is not None:
            self._cover_timer[name] = following
            self._timers.push(following, TimerKind.COVER, name, following)
        if on != was:
            out.append(d.CoverChanged(name, on))
            for a in self._agents.values():
                if a.spec.partner == name:
                    self._regroup(a, a.spec, self._mask_of(a.spec), at, out)

    def _token(self) -> int:
        """A timer token never used before, so a timer can never match a later record
        with the same contact id, nor a later offer, step or deadline of the same one."""
        self._tokens += 1
        return self._tokens

    def _push_deadline_timers(self, c: ContactRecord, now: float) -> None:
        """(Re)arms the escalation warning and the deadline; each fires at most once."""
        service = self._services.get(c.due_service or "", c.service)
        urgency = service.urgencies.get(c.urgency)
        target = urgency.target_s if urgency else 0.0
        before = (
            urgency.warn_before_s
            if urgency is not None and urgency.warn_before_s is not None
            else target * service.warn_fraction
        )
        c.warn_at = c.due_at - before
        c.deadline_token = token = self._token()
        # One timer at a time per contact: the warning, whose firing arms the deadline.
        if not c.warned and before > 0 and c.warn_at > now:
            self._timers.push(c.warn_at, TimerKind.WARN, c.id, token)
        elif not c.missed:
            self._timers.push(max(c.due_at, now), TimerKind.DEADLINE, c.id, token)

    def _on_cancelled(self, ev: ContactCancelled, now: float, out: Decisions) -> None:
        self._leave_unanswered(ev.contact_id, "cancelled", now, out)

    def _on_abandoned(self, ev: ContactAbandoned, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        if c.channel is Channel.CALLBACK:
            # A caller who chose a callback hangs up by design: the request keeps its
            # place and goes on to its attempts. Only the caller's own cancellation
            # (``ContactCancelled``) or the attempts' end closes it.
            return
        self._leave_unanswered(ev.contact_id, "abandoned", now, out)

    def _on_away(self, ev: CustomerAway, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        grace = ev.grace_s
        if not 0.0 <= grace < _INF:
            raise InvalidEvent(f"grace_s must be a number of seconds >= 0, got {grace!r}")
        if c.channel is Channel.CALLBACK:
            return  # the caller is expected to be away: we call them (see _on_abandoned)
        if ev.epoch < c.away_epoch:
            return  # about a connection older than one that came back since
        c.away_epoch = ev.epoch
        c.away_grace = grace
        if c.state is not ContactState.ASSIGNED and c.away_token == 0:
            self._arm_away(c, now, out)

    def _on_back(self, ev: CustomerBack, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        if ev.epoch < c.away_epoch:
            return  # an older connection than the one that went since
        c.away_epoch = ev.epoch
        c.away_grace = None
        c.away_token = 0

    def _arm_away(self, c: ContactRecord, now: float, out: Decisions) -> None:
        """The grace period of a contact whose person is away starts now."""
        grace = c.away_grace or 0.0
        if grace <= 0.0:
            self._leave_unanswered(c.id, "abandoned", now, out)
            return
        c.away_token = token = self._token()
        self._timers.push(now + grace, TimerKind.AWAY, c.id, token)

    def _leave_unanswered(self, contact_id: str, outcome: str, now: float, out: Decisions) -> None:
        c = self._open_contact(contact_id)
        if c.state is ContactState.ASSIGNED:
            raise Conflict(
                f"contact {contact_id!r} is assigned to {c.agent_id!r}; complete it instead"
            )
        agent = None
        if c.state is ContactState.OFFERED:
            agent = self._agents[c.agent_id or ""]
            out.append(d.OfferWithdrawn(c.id, agent.id, outcome))
            self._pool.unindex(agent)
            self._release(agent, c, now)
        elif c.state is ContactState.WAITING:
            self._queue.remove(c)
        self._close(c, outcome, out)
        if agent is not None:
            self._drain(agent, now, out)

    def _on_merged(self, ev: ContactMerged, now: float, out: Decisions) -> None:
        if ev.contact_id == ev.into:
            raise InvalidEvent("a contact cannot be merged into itself")
        self._leave_unanswered(ev.contact_id, "merged", now, out)

    # ----------------------------------------------------------------- callbacks

    def _on_switched(self, ev: ChannelSwitched, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        if c.state is ContactState.ASSIGNED:
            raise Conflict(f"contact {c.id!r} is with {c.agent_id!r}; it cannot switch channel")
        if ev.channel is c.channel and not ev.attributes:
            return
        agent = None
        if c.state is ContactState.OFFERED:
            agent = self._agents[c.agent_id or ""]
            out.append(d.OfferWithdrawn(c.id, agent.id, "channel_switched"))
            self._pool.unindex(agent)
            self._release(agent, c, now)
            c.state = ContactState.WAITING
            c.agent_id = None
        elif c.state is ContactState.WAITING:
            self._queue.remove(c)
        old = c.channel
        c.channel = ev.channel
        c.spec = replace(
            c.spec, channel=ev.channel, attributes={**c.spec.attributes, **ev.attributes}
        )
        out.append(d.Switched(c.id, old, ev.channel))
        # Same seq and due time: the same place in the one order, now in the new channel.
        if c.state is ContactState.WAITING:
            if c.restep is not None:
                self._enter_step(c, c.restep, now, out)
            else:
                self._route(c, now, out, arriving=False)
        if agent is not None:
            self._drain(agent, now, out)

    def _on_attempted(self, ev: CallbackAttempted, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        if c.state is not ContactState.ASSIGNED or c.agent_id != ev.agent_id:
            raise Conflict(f"contact {c.id!r} is not assigned to {ev.agent_id!r}")
        if c.channel is not Channel.CALLBACK:
            raise Conflict(f"contact {c.id!r} is a {c.channel.value} contact, not a callback")
        if ev.result not in CALLBACK_RESULTS:
            raise InvalidEvent(
                f"unknown result {ev.result!r}; expected one of: {', '.join(CALLBACK_RESULTS)}"
            )
        c.attempts += 1
        if ev.result == "reached":
            out.append(d.CallbackAttempt(c.id, ev.agent_id, c.attempts, ev.result, None))
            return
        a = self._agents[ev.agent_id]
        self._pool.unindex(a)
        self._release(a, c, now)
        last = ev.result == "invalid_number" or c.attempts >= c.service.callback_attempts
        retry_at = None if last else now + c.service.callback_retry_s
        out.append(d.CallbackAttempt(c.id, ev.agent_id, c.attempts, ev.result, retry_at))
        if retry_at is None:
            self._close(c, "unreachable", out)
        else:
            c.agent_id = None
            self._hold(c, retry_at, out)
        self._drain(a, now, out)

    def _on_reclassified(self, ev: ContactReclassified, now: float, out: Decisions) -> None:
        """Only the agent handling the contact may change its class (after contacting
        the person). It keeps its arrival and arrival number; its place and deadline follow
        the new class by the door's rule (``place_and_deadline`` from the same clock start
        and same-day cap; ``ev.due_at``, when given, is both), and the warning and
        deadline are re-armed for it. Both classes stay on the record."""
        c = self._assigned_to(
            ev.contact_id, ev.agent_id, ": only the professional handling it may re-classify it"
        )
        urgency = c.service.urgencies.get(ev.urgency)
        if urgency is None:
            raise InvalidEvent(
                f"unknown urgency {ev.urgency!r} for service {c.service.name!r}; "
                f"known: {', '.join(c.service.urgencies)}"
            )
        if ev.due_at is not None and not math.isfinite(ev.due_at):
            raise InvalidEvent(f"due_at must be a finite time, got {ev.due_at!r}")
        if ev.urgency == c.urgency:
            return
        old = c.urgency
        if c.original_urgency is None:
            c.original_urgency = old
        c.urgency = ev.urgency
        # Assigned, so not in the queue: its key may change.
        if ev.due_at is None:
            c.target_at, c.due_at = place_and_deadline(
                c.clock_from, c.same_day_by, urgency.target_s
            )
            c.due_service = c.service.name
        else:
            c.target_at = c.due_at = ev.due_at
            c.due_service = None
        self._push_deadline_timers(c, now)
        out.append(
            d.Reclassified(
                c.id, ev.agent_id, c.service.name, c.original_urgency, old, c.urgency, c.due_at
            )
        )

    def _hold(self, c: ContactRecord, until: float, out: Decisions) -> None:
        """Keeps ``c`` (not in the queue, not with an agent) out of offers until ``until``;
        its place (due time, arrival order) is kept for when it comes back."""
        c.state = ContactState.SCHEDULED
        c.hold_until = until
        c.hold_token = token = self._token()
        self._timers.push(until, TimerKind.HOLD, c.id, token)
        out.append(d.Scheduled(c.id, until))

    def _end_hold(self, c: ContactRecord, now: float, out: Decisions) -> None:
        c.hold_until = None
        c.state = ContactState.WAITING
        if c.entered:  # a callback back for its next attempt, in its old place
            self._requeue(c, now, out)
            return
        c.entered = True
        # A scheduled window is due when it opens: at the front, no deadline to warn of.
        if c.due_at > now:
            self._push_deadline_timers(c, now)
        self._enter_step(c, 0, now, out, arriving=True)

    def _on_accepted(self, ev: OfferAccepted, now: float, out: Decisions) -> None:
        c = self._offered_to(ev.contact_id, ev.agent_id)
        c.state = ContactState.ASSIGNED
        c.away_token = 0  # with an agent, an away person's chat is not abandoned
        out.append(
            d.Assigned(
                c.id, ev.agent_id, c.service.name, c.spec.preferred_site, c.arrived_at, c.due_at
            )
        )

    def _on_declined(self, ev: OfferDeclined, now: float, out: Decisions) -> None:
        c = self._offered_to(ev.contact_id, ev.agent_id)
        self._return_offer(c, "declined", c.service.not_ready_on_decline, now, out)

    def _assigned_to(self, contact_id: str, agent_id: str, why: str = "") -> ContactRecord:
        """The open contact, which must be assigned to ``agent_id`` (else ``Conflict``)."""
        c = self._open_contact(contact_id)
        if c.state is not ContactState.ASSIGNED or c.agent_id != agent_id:
            raise Conflict(
                f"contact {c.id!r} is {c.state.value}"
                + (f" with {c.agent_id!r}" if c.agent_id else "")
                + f", not assigned to {agent_id!r}{why}"
            )
        return c

    def _on_completed(self, ev: ContactCompleted, now: float, out: Decisions) -> None:
        c = self._assigned_to(ev.contact_id, ev.agent_id)
        a = self._agents[ev.agent_id]
        if a.avail_entry is not None:
            self._pool.unindex(a)
        self._release(a, c, now)
        self._close(c, ev.outcome or "resolved", out)
        wrapup = c.service.wrapup_s
        if wrapup > 0:
            until = max(a.wrapup_until, now + wrapup)
            a.wrapup_until = until
            self._timers.push(until, TimerKind.WRAP_UP, a.id, until)
            out.append(d.WrapUpStarted(a.id, until))
        self._drain(a, now, out)

    # -------------------------------------------------------------------- agents

    def _on_logged_in(self, ev: AgentLoggedIn, now: float, out: Decisions) -> None:
        a = self._agent(ev.agent_id)
        if ev.presence is Presence.OFFLINE:
            raise InvalidEvent("log in as available or not_ready, not offline")
        if a.logged_in:
            # Logging in again (a second device, a reconnect) only sets the presence.
            self._set_presence(a, ev.presence, "", now, out)
            return
        a.logged_in = True
        self._agent_seq += 1
        a.seq = self._agent_seq  # ties between equally idle agents go by login order
        a.presence = ev.presence
        a.reason = ""
        a.since = now
        self._pool.groups[a.group].logged_in += 1
        self._pool.roster_changed()
        self._drain(a, now, out)

    def _on_logged_out(self, ev: AgentLoggedOut, now: float, out: Decisions) -> None:
        a = self._agent(ev.agent_id)
        if not a.logged_in:
            return
        assigned = [cid for cid in a.in_hand if self._contacts[cid].state is ContactState.ASSIGNED]
        if assigned and not ev.force:
            raise Conflict(
                f"agent {a.id!r} has {len(assigned)} assigned contact(s) in hand "
                f"({', '.join(assigned)}); complete them first or log out with force"
            )
        self._pool.unindex(a)
        returned = []
        for cid in list(a.in_hand):
            c = self._contacts[cid]
            if c.state is ContactState.OFFERED:
                out.append(d.OfferWithdrawn(c.id, a.id, "agent_logged_out"))
            else:
                out.append(d.Requeued(c.id, a.id, "agent_logged_out"))
            self._release(a, c, now)
            returned.append(c)
        a.logged_in = False
        a.presence = Presence.OFFLINE
        a.wrapup_until = 0.0
        self._seen.pop(a.id, None)
        self._live_timer.pop(a.id, None)
        self._pool.groups[a.group].logged_in -= 1
        self._pool.roster_changed()
        for c in _in_order(returned):
            self._requeue(c, now, out)
        self._widen_stranded(a.scopes, now, out)

    def _on_presence(self, ev: PresenceChanged, now: float, out: Decisions) -> None:
        a = self._agent(ev.agent_id)
        if not a.logged_in:
            raise Conflict(f"agent {a.id!r} is not logged in")
        if ev.presence is Presence.OFFLINE:
            raise InvalidEvent("to go offline, log out (AgentLoggedOut)")
        self._set_presence(a, ev.presence, ev.reason, now, out)

    def _set_presence(
        self, a: AgentRecord, presence: Presence, reason: str, now: float, out: Decisions
    ) -> None:
        # Only not-ready keeps a reason: an available agent told it is available (with
        # whatever reason) has nothing changed and keeps its place in the idle order.
        reason = reason if presence is Presence.NOT_READY else ""
        if a.presence is presence and a.reason == reason:
            return
        self._pool.unindex(a)
        a.presence = presence
        a.reason = reason
        a.since = now
        if presence is Presence.AVAILABLE:
            self._renew_if_lapsed(a.id, now)
        self._drain(a, now, out)

    # ------------------------------------------------------------------ liveness

    def _on_seen(self, ev: AgentsSeen, now: float, out: Decisions) -> None:
        valid = ev.valid_s
        if not valid > 0.0:  # NaN too
            raise InvalidEvent(f"valid_s must be a positive number of seconds, got {valid!r}")
        # An instance reports every socket it holds; one of an agent since taken off the
        # roster must not cost the others their sighting, so unknown ids are passed over.
        agents = self._agents
        for aid in ev.agent_ids:
            a = agents.get(aid)
            if a is not None and a.logged_in:
                self._mark_seen(aid, now + valid, valid)

    def _mark_seen(self, agent_id: str, until: float, valid: float) -> None:
        self._seen[agent_id] = (until, valid)
        # One timer per agent: a sighting only moves the time; the timer, when it fires
        # early, re-arms at the latest sighting's end (none while a sighting is open-ended).
        if agent_id not in self._live_timer and until < _INF:
            self._live_timer[agent_id] = until
            self._timers.push(until, TimerKind.LIVENESS, agent_id, until)

    def _renew_if_lapsed(self, agent_id: str, now: float) -> None:
        """An agent made available after its last sighting ran out (by a supervisor, or
        on a device that then went away) gets one sighting's time from now."""
        seen = self._seen.get(agent_id)
        if seen is not None and seen[0] <= now:
            self._mark_seen(agent_id, now + seen[1], seen[1])

    def _liveness_due(self, agent_id: str, at: float, token: float, out: Decisions) -> None:
        if self._live_timer.get(agent_id) != token:
            return
        del self._live_timer[agent_id]
        a = self._agents.get(agent_id)
        seen = self._seen.get(agent_id)
        if a is None or seen is None or not a.logged_in:
            return
        if seen[0] > at:  # seen again since the timer was armed
            if seen[0] < _INF:
                self._live_timer[agent_id] = seen[0]
                self._timers.push(seen[0], TimerKind.LIVENESS, agent_id, seen[0])
        elif a.presence is Presence.AVAILABLE:
            self._pool.unindex(a)
            a.presence = Presence.NOT_READY
            a.reason = "no_heartbeat"
            a.since = at
            out.append(d.AgentPresenceSet(a.id, Presence.NOT_READY, a.reason))

    def _on_wrapup_done(self, ev: WrapUpDone, now: float, out: Decisions) -> None:
        a = self._agent(ev.agent_id)
        if a.wrapup_until > now:
            self._end_wrapup(a, now, out)

    def _end_wrapup(self, a: AgentRecord, now: float, out: Decisions) -> None:
        self._pool.unindex(a)
        a.wrapup_until = 0.0
        a.since = now
        out.append(d.WrapUpEnded(a.id))
        self._drain(a, now, out)

    def _on_agent_updated(self, ev: AgentUpdated, now: float, out: Decisions) -> None:
        spec = ev.agent
        for ch, n in spec.capacity.items():
            if ch not in CHANNELS or n < 0:
                raise InvalidEvent(f"capacity for {ch!r} must be a channel and >= 0, got {n}")
        mask = self._mask_of(spec)
        a = self._agents.get(spec.id)
        if a is None:
            self._add_agent(spec)
            return
        self._regroup(a, spec, mask, now, out)

    def _regroup(
        self, a: AgentRecord, spec: AgentSpec, mask: int, now: float, out: Decisions
    ) -> None:
        """The agent's spec or mask changed: it moves to its new group, drains the queue
        with what it can now serve, and contacts nobody logged in can serve widen."""
        self._pool.unindex(a)
        old_scopes = a.scopes
        old_group = a.group
        a.spec = spec
        a.scopes = (("agent", spec.id), ("team", spec.team), ("site", spec.site), REGION)
        a.group = self._pool.group_for(spec, mask)
        if a.logged_in:
            self._pool.groups[old_group].logged_in -= 1
            self._pool.groups[a.group].logged_in += 1
            self._pool.roster_changed()
            self._drain(a, now, out)
            self._widen_stranded(old_scopes, now, out)

    def _add_agent(self, spec: AgentSpec) -> None:
        self._agent_seq += 1
        a = AgentRecord(spec, self._agent_seq)
        a.group = self._pool.group_for(spec, self._mask_of(spec))
        self._agents[spec.id] = a

    # ------------------------------------------------------------------ services

    def _on_service_updated(self, ev: ServiceUpdated, now: float, out: Decisions) -> None:
        """A supervisor's change takes effect at once: contacts whose due times come from
        this service's targets are re-keyed (and their warnings re-armed), and contacts in
        this service whose requirement or steps changed are re-routed, earliest due first.
        Contacts nothing changed for keep their step and its timer."""
        svc = ev.service
        old = self._services.get(svc.name)
        if old is None:
            raise InvalidEvent(f"unknown service {svc.name!r}; services are added in config")
        if ev.expected is not None and ev.expected != old:
            raise StaleUpdate(f"service {svc.name!r} changed since the edit was made")
        problems = service_problems(svc, self._services)
        if problems:
            raise InvalidEvent(f"service {svc.name!r}: " + "; ".join(problems))
        self._reqs.intern(svc.requirement)  # compiles now: unknown names raise here
        keyed = [c for c in self._contacts.values() if c.due_service == svc.name]
        missing = {c.urgency for c in keyed} - set(svc.urgencies)
        if missing:
            raise Conflict(
                f"open contacts are in urgency class(es) {', '.join(sorted(missing))}, "
                "which the new settings drop"
            )
        routed = [c for c in self._contacts.values() if c.service.name == svc.name]
        self._services[svc.name] = svc
        self._share = None
        self._service_base = {k: v for k, v in self._service_base.items() if k[0] != svc.name}
        for c in keyed:
            target, due = place_and_deadline(
                c.clock_from, c.same_day_by, svc.urgencies[c.urgency].target_s
            )
            if due == c.due_at and target == c.target_at:
                continue
            queued = c.entry is not None
            if queued:
                self._queue.remove(c)
            c.target_at, c.due_at = target, due
            self._push_deadline_timers(c, now)
            if queued:
                self._queue.add(c)
        steps_changed = svc.steps != old.steps
        for c in _in_order(routed):
            c.service = svc
            base = self._base_rid(c.spec, svc)
            if base == c.base_rid and not steps_changed:
                continue
            c.base_rid = base
            index = min(c.step_index, len(svc.steps) - 1)
            if c.state is not ContactState.WAITING:
                c.restep = index
                continue
            self._queue.remove(c)
            if steps_changed:
                self._enter_step(c, index, now, out)
            else:
                step = svc.steps[c.step_index]
                relax = step.relax_levels if step.kind is c.step_kind else 0
                c.rid = self._reqs.relaxed(base, relax)
                self._route(c, now, out, arriving=False)

    def _on_moved(self, ev: ContactMoved, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        target = self._services.get(ev.service)
        if target is None:
            raise InvalidEvent(
                f"unknown service {ev.service!r}; known: {', '.join(self._services)}"
            )
        if c.state is not ContactState.WAITING:
            raise Conflict(f"contact {c.id!r} is {c.state.value}; only waiting contacts move")
        if target.name == c.service.name:
            return
        base = self._base_rid(c.spec, target)
        urgency = class_after_move(c.service, c.urgency, target)
        self._queue.remove(c)
        changed = urgency if urgency != c.urgency else None
        out.append(d.Moved(c.id, c.service.name, target.name, ev.by or None, changed))
        c.urgency = urgency
        c.service = target
        c.visited = (target.name,)
        c.due_service = None  # it keeps its due time: its place in the one order
        c.base_rid = base
        self._enter_step(c, 0, now, out)

    def _on_manual_offer(self, ev: ManualOffer, now: float, out: Decisions) -> None:
        c = self._open_contact(ev.contact_id)
        a = self._agent(ev.agent_id)
        if c.state is not ContactState.WAITING:
            raise Conflict(
                f"contact {c.id!r} is {c.state.value}; only waiting contacts can be offered"
            )
        if not a.logged_in:
            raise Conflict(f"agent {a.id!r} is not logged in")
        mask = self._pool.groups[a.group].mask
        if not self._reqs.matches(c.rid, mask):
            raise Conflict(
                f"agent {a.id!r} does not meet {c.id!r}'s requirement "
                f"{self._reqs.compiled[c.rid].requirement}"
            )
        # A supervisor overrides not-ready and wrap-up, never capacity or channel blocks.
        if c.channel not in self._free_channels(a, now, supervisor=True):
            raise Conflict(f"agent {a.id!r} has no free {c.channel.value} capacity")
        self._queue.remove(c)
        self._offer(c, a, now, out, d.Trace(c.step_kind, "supervisor", 1, ev.by or None))

    # -------------------------------------------------------------------- steps

    def _enter_step(
        self,
        c: ContactRecord,
        index: int,
        now: float,
        out: Decisions,
        arriving: bool = False,
    ) -> None:
        """Puts a waiting contact at step ``index`` of its service (or the first later
        step that applies), then offers it or queues it."""
        skipped: list[StepKind] = []
        fallback: tuple[int, Step, ScopeKey] | None = None
        chosen: tuple[int, Step, ScopeKey] | None = None
        while chosen is None:
            steps = c.service.steps
            if index >= len(steps):
                chosen = fallback or (len(steps) - 1, _FALLBACK_STEP, REGION)
                break
            step = steps[index]
            if step.kind is StepKind.OVERFLOW:
                target = self._services.get(step.overflow_to or "")
                if target is None or target.name in c.visited:
                    skipped.append(step.kind)
                    index += 1
                    continue
                urgency = class_after_move(c.service, c.urgency, target)
                changed = urgency if urgency != c.urgency else None
                out.append(d.Overflowed(c.id, c.service.name, target.name, changed))
                fallback = None  # the old service's steps no longer apply
                c.due_service = None  # the place was earned in the first service; keep it
                c.urgency = urgency
                c.service = target
                c.visited = (*c.visited, target.name)
                c.base_rid = self._base_rid(c.spec, target)
                index = 0
                continue
            scope = self._scope_of(step.kind, c)
            if scope is None:
                skipped.append(step.kind)
                index += 1
                continue
            candidate = (index, step, scope)
            fallback = candidate
            if index < len(steps) - 1 and not self._pool.servable(
                self._reqs.relaxed(c.base_rid, step.relax_levels), scope, c.channel, self._agents
            ):
                skipped.append(step.kind)
                index += 1
                continue
            chosen = candidate
        index, step, scope = chosen
        c.step_index = index
        c.step_kind = step.kind
        c.scope = scope
        c.rid = (
            self._reqs.relaxed(c.base_rid, step.relax_levels) if step.relax_levels else c.base_rid
        )
        self._tokens += 1
        c.epoch = self._tokens  # a fresh token (_token, inlined on the arrival path)
        c.restep = None
        if step.duration_s is not None and index < len(c.service.steps) - 1:
            self._timers.push(now + step.duration_s, TimerKind.STEP, c.id, c.epoch)
        if not arriving:
            out.append(d.Widened(c.id, step.kind, tuple(skipped), d.Trace(step.kind, "widening")))
        self._route(c, now, out, arriving)

    def _scope_of(self, kind: StepKind, c: ContactRecord) -> ScopeKey | None:
        spec = c.spec
        if kind is StepKind.OWN_AGENT:
            return ("agent", spec.preferred_agent) if spec.preferred_agent else None
        if kind is StepKind.OWN_TEAM:
            return ("team", spec.preferred_team) if spec.preferred_team else None
        if kind is StepKind.OWN_SITE:
            return ("site", spec.preferred_site) if spec.preferred_site else None
        return REGION

    def _route(self, c: ContactRecord, now: float, out: Decisions, arriving: bool) -> None:
        """Offers a waiting contact to the best available agent, or queues it."""
        agent, weighed = self._pool.choose(c, c.service.agent_choice, self._agents, now)
        if agent is not None:
            self._offer(
                c, agent, now, out, d.Trace(c.step_kind, c.service.agent_choice.value, weighed)
            )
            return
        self._queue.add(c)
        if arriving:
            out.append(
                d.Queued(c.id, c.service.name, c.step_kind, c.due_at, _NO_AGENT_FREE[c.step_kind])
            )

    def _widen_stranded(self, scopes: tuple[ScopeKey, ...], now: float, out: Decisions) -> None:
        """After an agent left (or lost skills), moves on contacts waiting in a step that
        no logged-in agent can serve any more, earliest due first."""
        stranded: list[ContactRecord] = []
        for scope in scopes:
            for channel, rid in self._queue.signatures(scope):
                if not self._pool.servable(rid, scope, channel, self._agents):
                    stranded.extend(self._queue.contacts_in(scope, channel, rid))
        for c in _in_order(stranded):
            if c.step_index < len(c.service.steps) - 1:
                self._queue.remove(c)
                self._enter_step(c, c.step_index + 1, now, out)

    # -------------------------------------------------------------------- offers

    def _offer(
        self, c: ContactRecord, a: AgentRecord, now: float, out: Decisions, trace: d.Trace
    ) -> None:
        """Reserves capacity on ``a`` for ``c`` (``a`` must be unindexed or is re-indexed)."""
        reindex = a.avail_entry is not None
        if reindex:
            self._pool.unindex(a)
        c.state = ContactState.OFFERED
        c.agent_id = a.id
        c.offer_no = self._token()
        c.offer_expires_at = now + c.service.offer_timeout_s
        a.load[c.channel] = a.load.get(c.channel, 0) + 1
        a.in_hand[c.id] = c.channel
        a.since = now
        self._timers.push(c.offer_expires_at, TimerKind.OFFER_EXPIRY, c.id, c.offer_no)
        out.append(d.Offered(c.id, a.id, c.channel, c.offer_expires_at, trace))
        if reindex:
            self._pool.index(a, self._free_channels(a, now))

    def _return_offer(
        self, c: ContactRecord, reason: str, not_ready: bool, now: float, out: Decisions
    ) -> None:
        a = self._agents[c.agent_id or ""]
        self._pool.unindex(a)
        self._release(a, c, now)
        cooldown = c.service.decline_cooldown_s
        if reason == "timeout" and c.service.timeout_cooldown_s is not None:
            cooldown = c.service.timeout_cooldown_s
        until = None
        if cooldown > 0:
            until = now + cooldown
            if c.cooldowns is None:
                c.cooldowns = {}
            c.cooldowns[a.id] = until
            self._timers.push(until, TimerKind.COOLDOWN, c.id, until)
        out.append(d.Requeued(c.id, a.id, reason, until))
        if not_ready and a.presence is Presence.AVAILABLE:
            a.presence = Presence.NOT_READY
            a.reason = f"offer_{reason}"
            out.append(d.AgentPresenceSet(a.id, Presence.NOT_READY, a.reason))
        self._requeue(c, now, out)
        self._drain(a, now, out)

    def _requeue(self, c: ContactRecord, now: float, out: Decisions) -> None:
        """Back to waiting with the same due time and arrival order, at its step."""
        was_assigned = c.state is ContactState.ASSIGNED
        c.state = ContactState.WAITING
        c.agent_id = None
        if was_assigned and c.away_grace is not None and c.away_token == 0:
            # Its person went away while an agent had it: the grace period starts now.
            c.away_token = token = self._token()
            self._timers.push(now + c.away_grace, TimerKind.AWAY, c.id, token)
        if c.restep is not None:
            self._enter_step(c, c.restep, now, out)
        else:
            self._route(c, now, out, arriving=False)

    def _release(self, a: AgentRecord, c: ContactRecord, now: float) -> None:
        """Frees the capacity ``c`` held on ``a`` (``a`` must be unindexed)."""
        ch = a.in_hand.pop(c.id)
        a.load[ch] -= 1
        a.since = now

    def _free_channels(
        self, a: AgentRecord, now: float, supervisor: bool = False
    ) -> tuple[Channel, ...]:
        """Channels in which ``a`` may be offered a new contact now (in channel order)."""
        if not a.logged_in:
            return ()
        if not supervisor and (a.presence is not Presence.AVAILABLE or a.wrapup_until > now):
            return ()
        load = a.load
        items = self._pool.groups[a.group].cap_items
        if len(items) == 1:  # most agents take one channel: no generator, no set union
            ch, cap = items[0]
            if load.get(ch, 0) >= cap:
                return ()
            if a.in_hand:
                blocks = self._blocks
                for held in a.in_hand.values():
                    b = blocks.get(held)
                    if b and ch in b:
                        return ()
            return (ch,)
        blocked: frozenset[Channel] | None = None
        if a.in_hand:
            blocks = self._blocks
            for held in a.in_hand.values():
                b = blocks.get(held)
                if b:
                    blocked = b if blocked is None else blocked | b
        return tuple(
            ch
            for ch, cap in items
            if load.get(ch, 0) < cap and (blocked is None or ch not in blocked)
        )

    def _drain(self, a: AgentRecord, now: float, out: Decisions) -> None:
        """Offers ``a`` (unindexed) the earliest-due contacts it can take, then indexes it."""
        queue = self._queue
        channels = self._free_channels(a, now)
        while channels and len(queue):
            c, weighed = queue.best_for(a.scopes, channels, self._pool.reqs_of(a.group), a.id, now)
            if c is None:
                break
            queue.remove(c)
            self._offer(c, a, now, out, d.Trace(c.step_kind, "earliest_due", weighed))
            channels = self._free_channels(a, now)
        if channels:  # still current: nothing changed since it was computed
            self._pool.index(a, channels)

    def _close(self, c: ContactRecord, outcome: str, out: Decisions) -> None:
        c.state = ContactState.CLOSED
        del self._contacts[c.id]
        out.append(d.Closed(c.id, outcome, c.agent_id, c.service.name, c.channel))
        c.agent_id = None

    # -------------------------------------------------------------------- timers

    def _on_timer(self, ev: TimerDue, now: float, out: Decisions) -> None:
        """Timers already fired in ``apply``; nothing else to do."""

    def _fire_timers(self, now: float, out: Decisions) -> None:
        timers = self._timers
        while (timer := timers.pop_due(now)) is not None:
            at, _, kind, ref, token = timer
            if kind is TimerKind.WRAP_UP:
                a = self._agents.get(ref)
                if a is not None and a.wrapup_until == token:
                    self._end_wrapup(a, at, out)
                continue
            if kind is TimerKind.LIVENESS:
                self._liveness_due(ref, at, token, out)
                continue
            if kind is TimerKind.COVER:
                self._cover_due(ref, at, token, out)
                continue
            c = self._contacts.get(ref)
            if c is None:
                continue
            if kind is TimerKind.AWAY:
                if c.away_token == token and c.state is not ContactState.ASSIGNED:
                    self._leave_unanswered(c.id, "abandoned", at, out)
                continue
            if kind is TimerKind.OFFER_EXPIRY:
                if c.state is ContactState.OFFERED and c.offer_no == token:
                    self._return_offer(c, "timeout", c.service.not_ready_on_timeout, at, out)
            elif kind is TimerKind.STEP:
                if c.epoch == token:
                    if c.state is ContactState.WAITING:
                        self._queue.remove(c)
                        self._enter_step(c, c.step_index + 1, at, out)
                    else:  # on offer or with an agent: widen if it comes back
                        c.restep = c.step_index + 1
            elif kind is TimerKind.WARN:
                if c.deadline_token == token:
                    c.warned = True
                    if c.state is not ContactState.ASSIGNED:
                        out.append(d.EscalationWarning(c.id, c.service.name, c.due_at))
                    self._timers.push(max(c.due_at, at), TimerKind.DEADLINE, c.id, token)
            elif kind is TimerKind.HOLD:
                if c.state is ContactState.SCHEDULED and c.hold_token == token:
                    self._end_hold(c, at, out)
            elif kind is TimerKind.DEADLINE:
                if c.deadline_token == token and c.state is not ContactState.ASSIGNED:
                    c.missed = True
                    out.append(d.DeadlineMissed(c.id, c.service.name, c.due_at))
            elif (
                kind is TimerKind.COOLDOWN
                and c.state is ContactState.WAITING
                and c.entry is not None
            ):
                self._queue.remove(c)
                self._route(c, at, out, arriving=False)

    # ------------------------------------------------------------------- helpers

    def _agent(self, agent_id: str) -> AgentRecord:
        a = self._agents.get(agent_id)
        if a is None:
            raise UnknownAgent(f"no agent {agent_id!r} in the roster")
        return a

    def _open_contact(self, contact_id: str) -> ContactRecord:
        c = self._contacts.get(contact_id)
        if c is None:
            raise UnknownContact(f"no open contact {contact_id!r}")
        return c

    def _offered_to(self, contact_id: str, agent_id: str) -> ContactRecord:
        self._agent(agent_id)
        c = self._open_contact(contact_id)
        if c.state is not ContactState.OFFERED or c.agent_id != agent_id:
            raise Conflict(
                f"contact {contact_id!r} has no pending offer to {agent_id!r} "
                f"(it is {c.state.value}; the offer may have expired)"
            )
        return c

    _handlers: ClassVar[dict[type, Callable[[Engine, Any, float, Decisions], None]]] = {
        ContactArrived: _on_arrived,
        ContactCancelled: _on_cancelled,
        ContactAbandoned: _on_abandoned,
        AgentLoggedIn: _on_logged_in,
        AgentLoggedOut: _on_logged_out,
        CustomerAway: _on_away,
        CustomerBack: _on_back,
        PresenceChanged: _on_presence,
        AgentsSeen: _on_seen,
        OfferAccepted: _on_accepted,
        OfferDeclined: _on_declined,
        ContactCompleted: _on_completed,
        WrapUpDone: _on_wrapup_done,
        AgentUpdated: _on_agent_updated,
        ServiceUpdated: _on_service_updated,
        ContactMoved: _on_moved,
        ManualOffer: _on_manual_offer,
        ChannelSwitched: _on_switched,
        CallbackAttempted: _on_attempted,
        ContactMerged: _on_merged,
        ContactReclassified: _on_reclassified,
        TimerDue: _on_timer,
    }
