"""The step choice: which widening step of its service a contact is at, and so its
reach (own agent, team, site or the region) and how far its requirement is relaxed.

The service's steps are taken in order. A step whose preference the contact lacks (no
own agent, team or site), or which no logged-in agent could ever serve, is skipped at
once, except the last. An ``overflow`` step moves the contact to another service (its
requirement and steps), keeping its due time and place; a service already visited is
skipped, and an urgency class the new service lacks is mapped
(``router.core.urgency_map``). Each step's duration is a timer; a contact on offer or
with an agent when it fires moves on when it comes back (``restep``).

An overflow is a widening step like the others, so it never narrows who may take the
contact: it carries its reach in the service it leaves (``overflow_reach``: the widest
step it reached there, its scope and its requirement as relaxed at that step) into every
step of the new service, as the union of the two requirements and the wider of the two
scopes (a step of the new service narrower than the carried scope, but the last, is
passed like one whose preference the contact lacks). Without that, a contact whose first
service had nobody logged in overflowed at once and then never reached the worker of
that service who logged in a moment later.
Each part of the union keeps the contact's language, authorisation and partner gate
(``partner_gates.base_rid``), so the union never lets in an agent either forbids. What
the contact is (its service: statistics, wrap-up, the agent-choice rule, the relax
levels of later steps) is the new service's; only who may take it widens. A second
overflow adds the second service's reach to the first's; a supervisor's move starts
afresh.

Once at its step, the contact is offered or queued (``matching.route``).
"""

from __future__ import annotations

from collections.abc import Sequence

from router.core import decisions as d
from router.core.engine_state import Decisions, EngineState, in_order
from router.core.matching import route
from router.core.model import ContactState, Step, StepKind
from router.core.partner_gates import base_rid
from router.core.queue import REGION, ScopeKey
from router.core.state import ContactRecord
from router.core.timers import TimerKind
from router.core.urgency_map import move_class

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_AWAY_TIMER = TimerKind.AWAY.value  # plain int (``TimerQueue.push``)
_OVERFLOW_STEP = StepKind.OVERFLOW
_OWN_AGENT_STEP = StepKind.OWN_AGENT
_OWN_SITE_STEP = StepKind.OWN_SITE
_OWN_TEAM_STEP = StepKind.OWN_TEAM
_REGION_STEP = StepKind.REGION
_RELAXED_STEP = StepKind.RELAXED
_STEP_TIMER = TimerKind.STEP.value  # plain int (``TimerQueue.push``)
_WAITING = ContactState.WAITING

# Where a contact whose service's steps all fell away waits: the whole region.
_FALLBACK_STEP = Step(_REGION_STEP)


def enter_step(
    engine: EngineState,
    c: ContactRecord,
    index: int,
    now: float,
    out: Decisions,
    arriving: bool = False,
) -> None:
    """Puts a waiting contact at step ``index`` of its service (or the first later
    step that applies), then offers it or queues it."""
    steps = c.service.steps
    step = steps[-1] if steps else _FALLBACK_STEP
    skipped: Sequence[StepKind] = ()
    if index != len(steps) - 1 or (
        step.kind is not _REGION_STEP and step.kind is not _RELAXED_STEP
    ):
        # Not the usual arrival (at a service's last step, and it reaches the region:
        # the last step always applies, so there is nothing to search).
        index, step, scope, rid, skipped = _find_step(engine, c, index, out)
    else:
        scope, rid = step_reach(engine, c, step.relax_levels, REGION)
    c.step_index = index
    c.step_kind = step.kind
    c.scope = scope
    c.rid = rid
    engine._tokens += 1
    c.epoch = engine._tokens  # a fresh token (_token, inlined on the arrival path)
    c.restep = None
    if step.duration_s is not None and index < len(c.service.steps) - 1:
        engine._timers.push(now + step.duration_s, _STEP_TIMER, c.id, c.epoch)
    if not arriving:
        out.append(d.Widened(c.id, step.kind, tuple(skipped), d.Trace(step.kind, "widening")))
    route(engine, c, now, out, arriving)


def _find_step(
    engine: EngineState, c: ContactRecord, index: int, out: Decisions
) -> tuple[int, Step, ScopeKey, int, Sequence[StepKind]]:
    """The step at or after ``index`` that applies (overflowing when a step says so),
    its reach (scope and requirement id), and the kinds of the steps skipped on the way."""
    skipped: list[StepKind] = []
    fallback: tuple[int, Step, ScopeKey, int] | None = None
    chosen: tuple[int, Step, ScopeKey, int] | None = None
    while chosen is None:
        steps = c.service.steps
        if index >= len(steps):
            if fallback is None:
                scope, rid = step_reach(engine, c, 0, REGION)
                fallback = (len(steps) - 1, _FALLBACK_STEP, scope, rid)
            chosen = fallback
            break
        step = steps[index]
        if step.kind is _OVERFLOW_STEP:
            target = engine._services.get(step.overflow_to or "")
            if target is None or target.name == c.service.name or target.name in c.visited:
                skipped.append(step.kind)
                index += 1
                continue
            changed = move_class(c, target)
            out.append(d.Overflowed(c.id, c.service.name, target.name, changed))
            fallback = None  # the old service's steps no longer apply
            c.overflow_reach = _reach_before(engine, c, index)  # before the service changes
            c.due_service = None  # the place was earned in the first service; keep it
            c.visited = (*c.visited, c.service.name)
            c.service = target
            c.base_rid = base_rid(engine, c.spec, target)
            index = 0
            continue
        own_scope = scope_of(step.kind, c)
        carried = c.overflow_reach
        if own_scope is None or (
            carried is not None
            and index < len(steps) - 1
            and _WIDTH[own_scope[0]] < _WIDTH[carried[0][0]]
        ):
            # No such preference, or narrower than the reach it carries from the service
            # it overflowed from (reach never narrows: such a step is passed).
            skipped.append(step.kind)
            index += 1
            continue
        scope, rid = step_reach(engine, c, step.relax_levels, own_scope)
        candidate = (index, step, scope, rid)
        fallback = candidate
        if index < len(steps) - 1 and not engine._pool.servable(
            rid, scope, c.channel, engine._agents
        ):
            skipped.append(step.kind)
            index += 1
            continue
        chosen = candidate
    index, step, scope, rid = chosen
    return index, step, scope, rid, skipped


def step_reach(
    engine: EngineState, c: ContactRecord, relax_levels: int, scope: ScopeKey
) -> tuple[ScopeKey, int]:
    """Who may take ``c`` at a step of its service reaching ``scope`` and relaxing its
    requirement by ``relax_levels``: that, widened by its reach in the services it
    overflowed from, if any (the module's docstring says why)."""
    rid = engine._reqs.relaxed(c.base_rid, relax_levels) if relax_levels else c.base_rid
    carried = c.overflow_reach
    if carried is None:
        return scope, rid
    carried_scope, carried_rid = carried
    return _wider(scope, carried_scope), engine._reqs.union(rid, carried_rid)


def _reach_before(engine: EngineState, c: ContactRecord, index: int) -> tuple[ScopeKey, int] | None:
    """``c``'s reach at the widest step of its service before the overflow step at
    ``index``: the last one that applies to it (it has passed through each on the way,
    waited out or skipped as nobody logged in could serve it), with what it carried in.
    None when no step before applies (nothing was reached)."""
    steps = c.service.steps
    for i in range(index - 1, -1, -1):
        step = steps[i]
        if step.kind is _OVERFLOW_STEP:
            continue
        scope = scope_of(step.kind, c)
        if scope is not None:
            return step_reach(engine, c, step.relax_levels, scope)
    return c.overflow_reach


# How far each kind of scope reaches, to keep the wider of two. The two scopes joined
# are the contact's own (its preferred agent, team or site) or the region, so two of a
# kind are the same scope.
_WIDTH = {"agent": 0, "team": 1, "site": 2, "region": 3}


def _wider(first: ScopeKey, second: ScopeKey) -> ScopeKey:
    return first if _WIDTH[first[0]] >= _WIDTH[second[0]] else second


def scope_of(kind: StepKind, c: ContactRecord) -> ScopeKey | None:
    """The reach of a step of ``kind`` for ``c``; None when ``c`` has no such preference."""
    spec = c.spec
    if kind is _OWN_AGENT_STEP:
        return ("agent", spec.preferred_agent) if spec.preferred_agent else None
    if kind is _OWN_TEAM_STEP:
        return ("team", spec.preferred_team) if spec.preferred_team else None
    if kind is _OWN_SITE_STEP:
        return ("site", spec.preferred_site) if spec.preferred_site else None
    return REGION


def requeue(engine: EngineState, c: ContactRecord, now: float, out: Decisions) -> None:
    """Back to waiting with the same due time and arrival order, at its step (the next
    one if its step's time ran out meanwhile)."""
    was_assigned = c.state is _ASSIGNED
    c.state = _WAITING
    c.agent_id = None
    if was_assigned and c.away_grace is not None and c.away_token == 0:
        # Its person went away while an agent had it: the grace period starts now.
        c.away_token = token = engine._token()
        engine._timers.push(now + c.away_grace, _AWAY_TIMER, c.id, token)
    if c.restep is not None:
        enter_step(engine, c, c.restep, now, out)
    else:
        route(engine, c, now, out, arriving=False)


def widen_stranded(
    engine: EngineState, scopes: tuple[ScopeKey, ...], now: float, out: Decisions
) -> None:
    """After an agent left (or lost skills), moves on contacts waiting in a step that
    no logged-in agent can serve any more, earliest due first."""
    queue = engine._queue
    stranded: list[ContactRecord] = []
    for scope in scopes:
        for channel, rid in queue.signatures(scope):
            if not engine._pool.servable(rid, scope, channel, engine._agents):
                stranded.extend(queue.contacts_in(scope, channel, rid))
    for c in in_order(stranded):
        if c.step_index < len(c.service.steps) - 1:
            queue.remove(c)
            enter_step(engine, c, c.step_index + 1, now, out)
