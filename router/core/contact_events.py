"""The handlers of a contact's events: it arrives (or is redirected), its person leaves
or goes away, an offer of it is accepted, declined or times out (``return_offer``: back
with its place, the agent in a cool-down for it), it is completed, re-classified or
merged. Each checks the event before it changes anything."""

from __future__ import annotations

import math

from router.core import decisions as d
from router.core.capacity import release, start_wrapup
from router.core.deadlines import push_deadline_timers
from router.core.engine_state import INF, Decisions, EngineState
from router.core.errors import Conflict, InvalidEvent
from router.core.events import (
    ContactAbandoned,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    ContactMerged,
    ContactReclassified,
    CustomerAway,
    CustomerBack,
    OfferAccepted,
    OfferDeclined,
)
from router.core.liveness import set_not_ready_by_engine
from router.core.matching import close, drain, route
from router.core.model import Channel, ContactState, Presence, StepKind, place_and_deadline
from router.core.partner_gates import base_rid
from router.core.scheduled import hold
from router.core.state import ContactRecord
from router.core.step_choice import enter_step, requeue
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_AVAILABLE = Presence.AVAILABLE
_AWAY_TIMER = TimerKind.AWAY.value  # plain int (``TimerQueue.push``)
_CALLBACK = Channel.CALLBACK
_CLOSED = ContactState.CLOSED
_COOLDOWN_TIMER = TimerKind.COOLDOWN.value  # plain int (``TimerQueue.push``)
_DEADLINE_TIMER = TimerKind.DEADLINE.value  # plain int (``TimerQueue.push``)
_OFFERED = ContactState.OFFERED
_REGION_STEP = StepKind.REGION
_WAITING = ContactState.WAITING
_WARN_TIMER = TimerKind.WARN.value  # plain int (``TimerQueue.push``)

# ``matching`` says why records and decisions are built this way.
_new = object.__new__
_init_contact = ContactRecord.__init__
_init_assigned = d.Assigned.__init__
_init_closed = d.Closed.__init__


def on_arrived(engine: EngineState, ev: ContactArrived, now: float, out: Decisions) -> None:
    spec = ev.contact
    if spec.id in engine._contacts:
        raise InvalidEvent(f"contact {spec.id!r} is already open")
    try:  # a subscript, not ``get``: cheaper on a hit (``Engine.apply``)
        service = engine._services[spec.service]
    except KeyError:
        raise InvalidEvent(
            f"unknown service {spec.service!r}; known: {', '.join(engine._services)}"
        ) from None
    urgency_name = spec.urgency or service.default_urgency
    try:
        urgency = service.urgencies[urgency_name]
    except KeyError:
        raise InvalidEvent(
            f"unknown urgency {urgency_name!r} for service {service.name!r}; "
            f"known: {', '.join(service.urgencies)}"
        ) from None
    catalogue = engine.catalogue
    # ``has_language``'s test, inlined (every arrival names a language).
    if spec.language is not None and spec.language not in catalogue._lang_bit:
        raise InvalidEvent(
            f"unknown language {spec.language!r}; known: {', '.join(catalogue.languages)}"
        )
    if spec.authorisation is not None and not catalogue.has_authorisation(spec.authorisation):
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
    base = base_rid(engine, spec, service)
    arrived = spec.arrived_at if spec.arrived_at is not None else now
    if spec.due_at is not None:  # a place kept or a window chosen: place and deadline
        target = due = spec.due_at
    else:
        clock = spec.clock_from if spec.clock_from is not None else arrived
        if spec.same_day_by is None:  # ``place_and_deadline`` without a cap, inlined
            target = due = clock + urgency.target_s
        else:
            target, due = place_and_deadline(clock, spec.same_day_by, urgency.target_s)
    engine._seq += 1
    # Built as ``object.__new__`` and then ``ContactRecord.__init__`` called as a plain
    # function (``matching`` says why: the class call's way through C costs more).
    c = _new(ContactRecord)
    _init_contact(c, spec, service, urgency_name, engine._seq, arrived, due, base, target)
    engine._contacts[c.id] = c
    if spec.not_before is not None and spec.not_before > now:
        c.entered = False
        hold(engine, c, spec.not_before, out)
        return
    # ``push_deadline_timers``, inlined for a new contact (every arrival): its service
    # and class are the ones just looked up, it is neither warned nor missed yet.
    before = urgency.warn_before_s
    if before is None:
        before = urgency.target_s * service.warn_fraction
    c.warn_at = warn_at = due - before
    engine._tokens += 1
    c.deadline_token = token = engine._tokens
    if before > 0.0 and warn_at > now:
        engine._timers.push(warn_at, _WARN_TIMER, c.id, token)
    else:
        engine._timers.push(max(due, now), _DEADLINE_TIMER, c.id, token)
    steps = service.steps
    if len(steps) == 1 and steps[0].kind is _REGION_STEP and not steps[0].relax_levels:
        # ``enter_step``'s work for a service of one step reaching the region (most
        # arrivals), without its call: the record starts at that step (its index,
        # kind, scope and requirement); it needs a fresh epoch, and no step timer.
        engine._tokens += 1
        c.epoch = engine._tokens
        route(engine, c, now, out, True)
        return
    enter_step(engine, c, 0, now, out, True)  # arriving (positional: a cheaper call)


def on_cancelled(engine: EngineState, ev: ContactCancelled, now: float, out: Decisions) -> None:
    leave_unanswered(engine, ev.contact_id, "cancelled", now, out)


def on_abandoned(engine: EngineState, ev: ContactAbandoned, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    if c.channel is _CALLBACK:
        # A caller who chose a callback hangs up by design: the request keeps its
        # place and goes on to its attempts. Only the caller's own cancellation
        # (``ContactCancelled``) or the attempts' end closes it.
        return
    leave_unanswered(engine, ev.contact_id, "abandoned", now, out)


def on_away(engine: EngineState, ev: CustomerAway, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    grace = ev.grace_s
    if not 0.0 <= grace < INF:
        raise InvalidEvent(f"grace_s must be a number of seconds >= 0, got {grace!r}")
    if c.channel is _CALLBACK:
        return  # the caller is expected to be away: we call them (see on_abandoned)
    if ev.epoch < c.away_epoch:
        return  # about a connection older than one that came back since
    c.away_epoch = ev.epoch
    c.away_grace = grace
    if c.state is not _ASSIGNED and c.away_token == 0:
        arm_away(engine, c, now, out)


def on_back(engine: EngineState, ev: CustomerBack, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    if ev.epoch < c.away_epoch:
        return  # an older connection than the one that went since
    c.away_epoch = ev.epoch
    c.away_grace = None
    c.away_token = 0


def arm_away(engine: EngineState, c: ContactRecord, now: float, out: Decisions) -> None:
    """The grace period of a contact whose person is away starts now."""
    grace = c.away_grace or 0.0
    if grace <= 0.0:
        leave_unanswered(engine, c.id, "abandoned", now, out)
        return
    c.away_token = token = engine._token()
    engine._timers.push(now + grace, _AWAY_TIMER, c.id, token)


def leave_unanswered(
    engine: EngineState, contact_id: str, outcome: str, now: float, out: Decisions
) -> None:
    """A contact not with an agent closes with ``outcome``; an offer of it is withdrawn."""
    c = engine._open_contact(contact_id)
    if c.state is _ASSIGNED:
        raise Conflict(f"contact {contact_id!r} is assigned to {c.agent_id!r}; complete it instead")
    agent = None
    if c.state is _OFFERED:
        agent = engine._agents[c.agent_id or ""]
        out.append(d.OfferWithdrawn(c.id, agent.id, outcome))
        engine._pool.unindex(agent)
        release(agent, c, now)
    elif c.state is _WAITING:
        engine._queue.remove(c)
    close(engine, c, outcome, out)
    if agent is not None:
        drain(engine, agent, now, out)


def on_merged(engine: EngineState, ev: ContactMerged, now: float, out: Decisions) -> None:
    if ev.contact_id == ev.into:
        raise InvalidEvent("a contact cannot be merged into itself")
    leave_unanswered(engine, ev.contact_id, "merged", now, out)


def on_accepted(engine: EngineState, ev: OfferAccepted, now: float, out: Decisions) -> None:
    try:  # ``_offered_to``'s checks, inlined for the usual case (every accept)
        c = engine._contacts[ev.contact_id]
    except KeyError:
        c = None
    # Offered to ``ev.agent_id``, it names an agent on the roster (offers are made to
    # agents of the roster, and none is ever taken off it), so ``_offered_to``'s test
    # that the agent exists is left to it on the way to its error.
    if c is None or c.state is not _OFFERED or c.agent_id != ev.agent_id:
        c = engine._offered_to(ev.contact_id, ev.agent_id)  # raises
    c.state = _ASSIGNED
    c.away_token = 0  # with an agent, an away person's chat is not abandoned
    assigned = _new(d.Assigned)
    _init_assigned(
        assigned,
        c.id,
        ev.agent_id,
        c.service.name,
        c.spec.preferred_site,
        c.arrived_at,
        c.due_at,
        c.channel,
    )
    out.append(assigned)


def on_declined(engine: EngineState, ev: OfferDeclined, now: float, out: Decisions) -> None:
    c = engine._offered_to(ev.contact_id, ev.agent_id)
    return_offer(engine, c, "declined", c.service.not_ready_on_decline, now, out)


def return_offer(
    engine: EngineState,
    c: ContactRecord,
    reason: str,
    not_ready: bool,
    now: float,
    out: Decisions,
) -> None:
    """An offer declined or timed out: the contact goes back with its place, the agent
    gets a cool-down for it (and is set not ready when the service says so)."""
    a = engine._agents[c.agent_id or ""]
    engine._pool.unindex(a)
    release(a, c, now)
    cooldown = c.service.decline_cooldown_s
    if reason == "timeout" and c.service.timeout_cooldown_s is not None:
        cooldown = c.service.timeout_cooldown_s
    until = None
    if cooldown > 0:
        until = now + cooldown
        if c.cooldowns is None:
            c.cooldowns = {}
        c.cooldowns[a.id] = until
        engine._timers.push(until, _COOLDOWN_TIMER, c.id, until)
    out.append(d.Requeued(c.id, a.id, reason, until))
    if not_ready and a.presence is _AVAILABLE:
        set_not_ready_by_engine(engine, a, f"offer_{reason}", out)
    requeue(engine, c, now, out)
    drain(engine, a, now, out)


def on_completed(engine: EngineState, ev: ContactCompleted, now: float, out: Decisions) -> None:
    agent_id = ev.agent_id
    try:  # ``_assigned_to``'s checks, inlined for the usual case (every completion)
        c = engine._contacts[ev.contact_id]
    except KeyError:
        c = None
    if c is None or c.state is not _ASSIGNED or c.agent_id != agent_id:
        c = engine._assigned_to(ev.contact_id, agent_id)  # raises
    a = engine._agents[agent_id]
    if a.avail_entry is not None:
        engine._pool.unindex(a)
    # ``release``, inlined (every completion).
    a.load[a.in_hand.pop(c.id)] -= 1
    a.since = now
    a.version += 1
    # ``close``, inlined (every completion).
    c.state = _CLOSED
    del engine._contacts[c.id]
    closed = _new(d.Closed)
    _init_closed(
        closed, c.id, ev.outcome or "resolved", c.agent_id, c.service.name, c.channel, True
    )
    out.append(closed)
    c.agent_id = None
    wrapup_s = c.service.wrapup_s
    if wrapup_s > 0:
        start_wrapup(engine, a, now + wrapup_s, out)
    drain(engine, a, now, out)


def on_reclassified(
    engine: EngineState, ev: ContactReclassified, now: float, out: Decisions
) -> None:
    """Only the agent handling the contact may change its class (after contacting
    the person). It keeps its arrival and arrival number; its place and deadline follow
    the new class by the door's rule (``place_and_deadline`` from the same clock start
    and same-day cap; ``ev.due_at``, when given, is both), and the warning and
    deadline are re-armed for it. Both classes stay on the record."""
    c = engine._assigned_to(
        ev.contact_id, ev.agent_id, ": only the professional handling it may re-classify it"
    )
    urgency = c.service.urgencies.get(ev.urgency)
    if urgency is None:
        raise InvalidEvent(
            f"unknown urgency {ev.urgency!r} for service {c.service.name!r}; "
            f"known: {', '.join(c.service.urgencies)}"
        )
    if urgency.redirect is not None:
        # Such a class is never queued: a contact re-classified into it would wait (at
        # the front, past its deadline) for a service that sends it elsewhere.
        raise InvalidEvent(
            f"urgency {ev.urgency!r} of service {c.service.name!r} redirects to "
            f"{urgency.redirect} and is never queued; direct the person there and "
            "complete the contact instead"
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
        c.target_at, c.due_at = place_and_deadline(c.clock_from, c.same_day_by, urgency.target_s)
        c.due_service = c.service.name
    else:
        c.target_at = c.due_at = ev.due_at
        c.due_service = None
    push_deadline_timers(engine, c, now)
    out.append(
        d.Reclassified(
            c.id, ev.agent_id, c.service.name, c.original_urgency, old, c.urgency, c.due_at
        )
    )
