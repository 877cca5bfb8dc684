"""A contact's escalation warning and deadline, armed as one chain of timers.

The warning fires at ``due_at - warn_before_s`` (or ``warn_fraction`` x the class's
target), and its firing arms the deadline at ``due_at``; each fires at most once. A
contact whose place comes from a service's targets takes them from ``due_service``."""

from __future__ import annotations

from router.core.engine_state import EngineState
from router.core.model import ServiceSpec
from router.core.state import ContactRecord
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_DEADLINE_TIMER = TimerKind.DEADLINE.value  # plain int (``TimerQueue.push``)
_WARN_TIMER = TimerKind.WARN.value  # plain int (``TimerQueue.push``)


def warn_before(service: ServiceSpec, urgency: str) -> float:
    """How long before its deadline a contact of class ``urgency`` in ``service`` is
    warned (0: never): the class's ``warn_before_s``, else the service's
    ``warn_fraction`` of the class's target."""
    cls = service.urgencies.get(urgency)
    if cls is None:
        return 0.0
    if cls.warn_before_s is not None:
        return cls.warn_before_s
    return cls.target_s * service.warn_fraction


def push_deadline_timers(engine: EngineState, c: ContactRecord, now: float) -> None:
    """(Re)arms the escalation warning and the deadline; each fires at most once."""
    service = engine._services.get(c.due_service or "", c.service)
    before = warn_before(service, c.urgency)
    c.warn_at = c.due_at - before
    engine._tokens += 1
    c.deadline_token = token = engine._tokens  # a fresh token (_token, inlined: every arrival)
    # One timer at a time per contact: the warning, whose firing arms the deadline.
    if not c.warned and before > 0 and c.warn_at > now:
        engine._timers.push(c.warn_at, _WARN_TIMER, c.id, token)
    elif not c.missed:
        engine._timers.push(max(c.due_at, now), _DEADLINE_TIMER, c.id, token)
