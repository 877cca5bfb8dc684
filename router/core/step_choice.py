"""The step choice: which widening step of its service a contact is at, and so its
reach (own agent, team, site or the region) and how far its requirement is relaxed.

The service's steps are taken in order. A step whose preference the contact lacks (no
own agent, team or site), or which no logged-in agent could ever serve, is skipped at
once, except the last. An ``overflow`` step moves the contact to another service (its
requirement and steps), keeping its due time and place; a service already visited is
skipped, and an urgency class the new service lacks is mapped
(``router.core.urgency_map``).
"""

from __future__ import annotations

from router.core import decisions as d
from router.core.engine_state import Decisions, EngineState
from router.core.model import Step, StepKind
from router.core.partner_gates import base_rid
from router.core.queue import REGION, ScopeKey
from router.core.state import ContactRecord
from router.core.urgency_map import class_after_move

# Where a contact whose service's steps all fell away waits: the whole region.
_FALLBACK_STEP = Step(StepKind.REGION)


def choose_step(
    engine: EngineState,
    c: ContactRecord,
    index: int,
    skipped: list[StepKind],
    out: Decisions,
) -> tuple[int, Step, ScopeKey]:
    """The step ``c`` takes from step ``index`` of its service on (the first that
    applies), with its index and scope; the kinds of the steps passed over are added to
    ``skipped``, and an overflow to another service is decided (``Overflowed``)."""
    fallback: tuple[int, Step, ScopeKey] | None = None
    while True:
        steps = c.service.steps
        if index >= len(steps):
            return fallback or (len(steps) - 1, _FALLBACK_STEP, REGION)
        step = steps[index]
        if step.kind is StepKind.OVERFLOW:
            target = engine._services.get(step.overflow_to or "")
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
            c.base_rid = base_rid(engine, c.spec, target)
            index = 0
            continue
        scope = scope_of(step.kind, c)
        if scope is None:
            skipped.append(step.kind)
            index += 1
            continue
        candidate = (index, step, scope)
        fallback = candidate
        if index < len(steps) - 1 and not engine._pool.servable(
            engine._reqs.relaxed(c.base_rid, step.relax_levels), scope, c.channel, engine._agents
        ):
            skipped.append(step.kind)
            index += 1
            continue
        return candidate


def scope_of(kind: StepKind, c: ContactRecord) -> ScopeKey | None:
    """The reach of a step of ``kind`` for ``c``; None when ``c`` has no such preference."""
    spec = c.spec
    if kind is StepKind.OWN_AGENT:
        return ("agent", spec.preferred_agent) if spec.preferred_agent else None
    if kind is StepKind.OWN_TEAM:
        return ("team", spec.preferred_team) if spec.preferred_team else None
    if kind is StepKind.OWN_SITE:
        return ("site", spec.preferred_site) if spec.preferred_site else None
    return REGION
