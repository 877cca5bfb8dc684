"""Agent liveness: an ``AgentsSeen(agents, valid_s)`` sighting counts until
``now + valid_s``; one ``LIVENESS`` timer per agent fires at the latest sighting's end
(re-arming if a later one came), and a logged-in available agent is then set not ready
(``no_heartbeat``), work in hand kept. An agent never reported is never judged; one
made available after its sighting ran out gets one sighting's time."""

from __future__ import annotations

from router.core import decisions as d
from router.core.engine_state import INF, Decisions, EngineState
from router.core.errors import InvalidEvent
from router.core.events import AgentsSeen
from router.core.model import Presence
from router.core.state import AgentRecord
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_AVAILABLE = Presence.AVAILABLE
_LIVENESS_TIMER = TimerKind.LIVENESS.value  # plain int (``TimerQueue.push``)
_NOT_READY = Presence.NOT_READY


def on_seen(engine: EngineState, ev: AgentsSeen, now: float, out: Decisions) -> None:
    valid = ev.valid_s
    if not valid > 0.0:  # NaN too
        raise InvalidEvent(f"valid_s must be a positive number of seconds, got {valid!r}")
    # An instance reports every socket it holds; one of an agent since taken off the
    # roster must not cost the others their sighting, so unknown ids are passed over.
    agents = engine._agents
    for aid in ev.agent_ids:
        a = agents.get(aid)
        if a is not None and a.logged_in:
            mark_seen(engine, aid, now + valid, valid)


def mark_seen(engine: EngineState, agent_id: str, until: float, valid: float) -> None:
    engine._seen[agent_id] = (until, valid)
    arm_sighting_timer(engine, engine._live_timer, _LIVENESS_TIMER, agent_id, until)


def arm_sighting_timer(
    engine: EngineState, pending: dict[str, float], kind: int, ref: str, until: float
) -> None:
    """One timer per sighted key (an agent, a chat customer's contact): a sighting only
    moves the time; the timer, when it fires early, re-arms at the latest sighting's end
    (none while a sighting is open-ended). ``pending``: key -> when its timer fires."""
    if ref not in pending and until < INF:
        pending[ref] = until
        engine._timers.push(until, kind, ref, until)


def take_sighting_timer(pending: dict[str, float], ref: str, token: float) -> bool:
    """Whether a fired timer is the key's pending one (it is pending no more); a timer
    replaced since is passed over."""
    if pending.get(ref) != token:
        return False
    del pending[ref]
    return True


def renew_if_lapsed(engine: EngineState, agent_id: str, now: float) -> None:
    """An agent made available after its last sighting ran out (by a supervisor, or
    on a device that then went away) gets one sighting's time from now."""
    seen = engine._seen.get(agent_id)
    if seen is not None and seen[0] <= now:
        mark_seen(engine, agent_id, now + seen[1], seen[1])


def liveness_due(
    engine: EngineState, agent_id: str, at: float, token: float, out: Decisions
) -> None:
    """An agent's ``LIVENESS`` timer fired: not ready unless seen again since."""
    if not take_sighting_timer(engine._live_timer, agent_id, token):
        return
    a = engine._agents.get(agent_id)
    seen = engine._seen.get(agent_id)
    if a is None or seen is None or not a.logged_in:
        return
    if seen[0] > at:  # seen again since the timer was armed
        arm_sighting_timer(engine, engine._live_timer, _LIVENESS_TIMER, agent_id, seen[0])
    elif a.presence is _AVAILABLE:
        engine._pool.unindex(a)
        a.since = at
        set_not_ready_by_engine(engine, a, "no_heartbeat", out)


def set_not_ready_by_engine(
    engine: EngineState, a: AgentRecord, reason: str, out: Decisions
) -> None:
    """The engine sets an available agent not ready on its own (a lost desk, a missed
    offer): one server fewer for the wait estimates, a new version of its view, and an
    ``AgentPresenceSet`` saying so. The caller takes it out of the available ones."""
    engine._pool.groups[a.group].ready -= 1
    a.presence = _NOT_READY
    a.reason = reason
    a.version += 1
    out.append(d.AgentPresenceSet(a.id, _NOT_READY, reason))
