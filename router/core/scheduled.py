"""Contacts kept out of offers until a time: a window the person chose (``not_before``)
or a callback's next attempt. A held contact is neither queued nor with an agent; it
keeps its place (due time, arrival order) for when it comes back."""

from __future__ import annotations

from router.core import decisions as d
from router.core.deadlines import push_deadline_timers
from router.core.engine_state import Decisions, EngineState
from router.core.model import ContactState
from router.core.state import ContactRecord
from router.core.step_choice import enter_step, requeue
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_HOLD_TIMER = TimerKind.HOLD.value  # plain int (``TimerQueue.push``)
_SCHEDULED = ContactState.SCHEDULED
_WAITING = ContactState.WAITING


def hold(engine: EngineState, c: ContactRecord, until: float, out: Decisions) -> None:
    """Keeps ``c`` (not in the queue, not with an agent) out of offers until ``until``;
    its place (due time, arrival order) is kept for when it comes back."""
    c.state = _SCHEDULED
    c.hold_until = until
    c.hold_token = token = engine._token()
    engine._timers.push(until, _HOLD_TIMER, c.id, token)
    out.append(d.Scheduled(c.id, until))


def end_hold(engine: EngineState, c: ContactRecord, now: float, out: Decisions) -> None:
    """The hold is over: a callback goes back to its old place, a window enters its
    first step."""
    c.hold_until = None
    c.state = _WAITING
    if c.entered:  # a callback back for its next attempt, in its old place
        requeue(engine, c, now, out)
        return
    c.entered = True
    # A scheduled window is due when it opens: at the front, no deadline to warn of.
    if c.due_at > now:
        push_deadline_timers(engine, c, now)
    enter_step(engine, c, 0, now, out, arriving=True)
