"""Supervisors' live changes: a service's settings edited (``ServiceUpdated``), a
waiting contact moved to another service (``ContactMoved``) or offered to a chosen agent
(``ManualOffer``). Each takes effect at once and is refused whole when it cannot."""

from __future__ import annotations

from router.core import decisions as d
from router.core.capacity import free_channels
from router.core.deadlines import push_deadline_timers
from router.core.engine_state import Decisions, EngineState, in_order
from router.core.errors import Conflict, InvalidEvent, StaleUpdate
from router.core.events import ContactMoved, ManualOffer, ServiceUpdated
from router.core.matching import offer, route
from router.core.model import ContactState, place_and_deadline
from router.core.partner_gates import base_rid
from router.core.service_rules import service_problems, urgencies_in_use_lost
from router.core.step_choice import enter_step, step_reach
from router.core.urgency_map import move_class

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_WAITING = ContactState.WAITING


def on_service_updated(engine: EngineState, ev: ServiceUpdated, now: float, out: Decisions) -> None:
    """A supervisor's change takes effect at once: contacts whose due times come from
    this service's targets are re-keyed (and their warnings re-armed), and contacts in
    this service whose requirement or steps changed are re-routed, earliest due first.
    Contacts nothing changed for keep their step and its timer."""
    svc = ev.service
    old = engine._services.get(svc.name)
    if old is None:
        raise InvalidEvent(f"unknown service {svc.name!r}; services are added in config")
    if ev.expected is not None and ev.expected != old:
        raise StaleUpdate(f"service {svc.name!r} changed since the edit was made")
    problems = service_problems(svc, engine._services)
    if problems:
        raise InvalidEvent(f"service {svc.name!r}: " + "; ".join(problems))
    engine._reqs.intern(svc.requirement)  # compiles now: unknown names raise here
    keyed = [c for c in engine._contacts.values() if c.due_service == svc.name]
    missing = urgencies_in_use_lost(svc, (c.urgency for c in keyed))
    if missing:
        raise Conflict(
            f"open contacts are in urgency class(es) {', '.join(missing)}, "
            "which the new settings drop or turn into a redirect"
        )
    routed = [c for c in engine._contacts.values() if c.service.name == svc.name]
    engine._services[svc.name] = svc
    engine._share = None
    engine._service_base = {k: v for k, v in engine._service_base.items() if k[0] != svc.name}
    queue = engine._queue
    for c in keyed:
        target, due = place_and_deadline(
            c.clock_from, c.same_day_by, svc.urgencies[c.urgency].target_s
        )
        if due == c.due_at and target == c.target_at:
            continue
        queued = c.entry is not None
        if queued:
            queue.remove(c)
        c.target_at, c.due_at = target, due
        push_deadline_timers(engine, c, now)
        if queued:
            queue.add(c)
    steps_changed = svc.steps != old.steps
    for c in in_order(routed):
        c.service = svc
        base = base_rid(engine, c.spec, svc)
        if base == c.base_rid and not steps_changed:
            continue
        c.base_rid = base
        index = min(c.step_index, len(svc.steps) - 1)
        if c.state is not _WAITING:
            c.restep = index
            continue
        queue.remove(c)
        if steps_changed:
            enter_step(engine, c, index, now, out)
        else:
            step = svc.steps[c.step_index]
            relax = step.relax_levels if step.kind is c.step_kind else 0
            c.rid = step_reach(engine, c, relax, c.scope)[1]
            route(engine, c, now, out, arriving=False)


def on_moved(engine: EngineState, ev: ContactMoved, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    target = engine._services.get(ev.service)
    if target is None:
        raise InvalidEvent(f"unknown service {ev.service!r}; known: {', '.join(engine._services)}")
    if c.state is not _WAITING:
        raise Conflict(f"contact {c.id!r} is {c.state.value}; only waiting contacts move")
    if target.name == c.service.name:
        return
    base = base_rid(engine, c.spec, target)
    engine._queue.remove(c)
    changed = move_class(c, target)
    out.append(d.Moved(c.id, c.service.name, target.name, ev.by or None, changed))
    c.service = target
    c.visited = ()  # a supervisor's move starts its overflow history afresh
    c.overflow_reach = None
    c.due_service = None  # it keeps its due time: its place in the one order
    c.base_rid = base
    enter_step(engine, c, 0, now, out)


def on_manual_offer(engine: EngineState, ev: ManualOffer, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    a = engine._agent(ev.agent_id)
    if c.state is not _WAITING:
        raise Conflict(f"contact {c.id!r} is {c.state.value}; only waiting contacts can be offered")
    if not a.logged_in:
        raise Conflict(f"agent {a.id!r} is not logged in")
    mask = engine._pool.groups[a.group].mask
    if not engine._reqs.matches(c.rid, mask):
        raise Conflict(
            f"agent {a.id!r} does not meet {c.id!r}'s requirement "
            f"{engine._reqs.compiled[c.rid].requirement}"
        )
    # A supervisor overrides not-ready and wrap-up, never capacity or channel blocks.
    if c.channel not in free_channels(engine, a, now, supervisor=True):
        raise Conflict(f"agent {a.id!r} has no free {c.channel.value} capacity")
    engine._queue.remove(c)
    offer(engine, c, a, now, out, d.Trace(c.step_kind, "supervisor", 1, ev.by or None))
