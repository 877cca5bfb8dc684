"""Partner cover turning on and off (``router.core.partners``): the first event gives the
engine a time, and each agreement's cover is set as its schedule says then, with one
``COVER`` timer at its next change. At each change the partner's agents are regrouped
as by ``AgentUpdated`` (drain on, widen stranded contacts off) and a ``CoverChanged``
decision is made; offers and work in hand are never touched."""

from __future__ import annotations

from router.core import decisions as d
from router.core.agent_events import regroup
from router.core.engine_state import Decisions, EngineState
from router.core.partner_gates import mask_of
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_COVER_TIMER = TimerKind.COVER.value  # plain int (``TimerQueue.push``)


def start_cover(engine: EngineState, now: float, out: Decisions) -> None:
    """The first event gives the engine a time: each agreement's cover is set as the
    schedule says at ``now`` and a timer armed for its next change."""
    engine._cover_pending = False
    for name in engine.policy.agreements:
        cover_due(engine, name, now, now, out)


def cover_due(engine: EngineState, name: str, at: float, token: float, out: Decisions) -> None:
    """A cover change instant (or the start): partner agents of agreement ``name``
    gain or lose the gate; an offer in progress and work in hand are left alone."""
    if engine._cover_timer.get(name, token) != token:
        return  # a stale timer (cannot happen today: one per agreement)
    plan = engine.policy.agreements[name].cover
    on = plan.is_on(at)
    was = engine._cover.get(name, False)
    engine._cover[name] = on
    following = plan.next_change(at)
    if following is not None:
        engine._cover_timer[name] = following
        engine._timers.push(following, _COVER_TIMER, name, following)
    if on != was:
        out.append(d.CoverChanged(name, on))
        for a in engine._agents.values():
            if a.spec.partner == name:
                regroup(engine, a, a.spec, mask_of(engine, a.spec), at, out)
