"""The handlers of an agent's events: logging in and out, presence, the end of
wrap-up, and a changed roster entry (skills, site, team, capacities). Every change that
gives an agent capacity drains the queue at once (``matching.drain``); an agent leaving
or losing skills widens the contacts nobody logged in can serve any more."""

from __future__ import annotations

from router.core import decisions as d
from router.core.capacity import release
from router.core.engine_state import Decisions, EngineState, in_order
from router.core.errors import Conflict, InvalidEvent, StaleUpdate
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    PresenceChanged,
    WrapUpDone,
)
from router.core.liveness import renew_if_lapsed
from router.core.matching import drain
from router.core.model import CHANNELS, AgentSpec, ContactState, Presence
from router.core.partner_gates import mask_of
from router.core.queue import REGION
from router.core.state import AgentRecord
from router.core.step_choice import requeue, widen_stranded

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_AVAILABLE = Presence.AVAILABLE
_NOT_READY = Presence.NOT_READY
_OFFERED = ContactState.OFFERED
_OFFLINE = Presence.OFFLINE


def on_logged_in(engine: EngineState, ev: AgentLoggedIn, now: float, out: Decisions) -> None:
    a = engine._agent(ev.agent_id)
    if ev.presence is _OFFLINE:
        raise InvalidEvent("log in as available or not_ready, not offline")
    if a.logged_in:
        # Logging in again (a second device, a reconnect) only sets the presence.
        set_presence(engine, a, ev.presence, "", now, out)
        return
    a.logged_in = True
    engine._agent_seq += 1
    a.seq = engine._agent_seq  # ties between equally idle agents go by login order
    a.presence = ev.presence
    a.reason = ""
    a.since = now
    a.version += 1
    group = engine._pool.groups[a.group]
    group.logged_in += 1
    if ev.presence is not _NOT_READY:
        group.ready += 1
    engine._pool.roster_changed()
    drain(engine, a, now, out)


def on_logged_out(engine: EngineState, ev: AgentLoggedOut, now: float, out: Decisions) -> None:
    a = engine._agent(ev.agent_id)
    if not a.logged_in:
        return
    contacts = engine._contacts
    assigned = [cid for cid in a.in_hand if contacts[cid].state is _ASSIGNED]
    if assigned and not ev.force:
        raise Conflict(
            f"agent {a.id!r} has {len(assigned)} assigned contact(s) in hand "
            f"({', '.join(assigned)}); complete them first or log out with force"
        )
    engine._pool.unindex(a)
    returned = []
    for cid in list(a.in_hand):
        c = contacts[cid]
        if c.state is _OFFERED:
            out.append(d.OfferWithdrawn(c.id, a.id, "agent_logged_out"))
        else:
            out.append(d.Requeued(c.id, a.id, "agent_logged_out"))
        release(a, c, now)
        returned.append(c)
    group = engine._pool.groups[a.group]
    group.logged_in -= 1
    if a.presence is not _NOT_READY:
        group.ready -= 1
    a.logged_in = False
    a.presence = _OFFLINE
    a.wrapup_until = 0.0
    a.version += 1
    engine._seen.pop(a.id, None)
    engine._live_timer.pop(a.id, None)
    engine._pool.roster_changed()
    for c in in_order(returned):
        requeue(engine, c, now, out)
    widen_stranded(engine, a.scopes, now, out)


def on_presence(engine: EngineState, ev: PresenceChanged, now: float, out: Decisions) -> None:
    a = engine._agent(ev.agent_id)
    if not a.logged_in:
        raise Conflict(f"agent {a.id!r} is not logged in")
    if ev.presence is _OFFLINE:
        raise InvalidEvent("to go offline, log out (AgentLoggedOut)")
    set_presence(engine, a, ev.presence, ev.reason, now, out)


def set_presence(
    engine: EngineState,
    a: AgentRecord,
    presence: Presence,
    reason: str,
    now: float,
    out: Decisions,
) -> None:
    # Only not-ready keeps a reason: an available agent told it is available (with
    # whatever reason) has nothing changed and keeps its place in the idle order.
    reason = reason if presence is _NOT_READY else ""
    if a.presence is presence and a.reason == reason:
        return
    engine._pool.unindex(a)
    if (a.presence is _NOT_READY) is not (presence is _NOT_READY):
        # Into or out of not ready: one server fewer or more for the wait estimates.
        engine._pool.groups[a.group].ready += 1 if a.presence is _NOT_READY else -1
    a.presence = presence
    a.reason = reason
    a.since = now
    a.version += 1
    if presence is _AVAILABLE:
        renew_if_lapsed(engine, a.id, now)
    drain(engine, a, now, out)


def on_wrapup_done(engine: EngineState, ev: WrapUpDone, now: float, out: Decisions) -> None:
    a = engine._agent(ev.agent_id)
    if a.wrapup_until > now:
        end_wrapup(engine, a, now, out)


def end_wrapup(engine: EngineState, a: AgentRecord, now: float, out: Decisions) -> None:
    engine._pool.unindex(a)
    a.wrapup_until = 0.0
    a.since = now
    a.version += 1
    out.append(d.WrapUpEnded(a.id))
    drain(engine, a, now, out)


def on_agent_updated(engine: EngineState, ev: AgentUpdated, now: float, out: Decisions) -> None:
    spec = ev.agent
    for ch, n in spec.capacity.items():
        if ch not in CHANNELS or n < 0:
            raise InvalidEvent(f"capacity for {ch!r} must be a channel and >= 0, got {n}")
    a = engine._agents.get(spec.id)
    if ev.expected is not None and (a is None or a.spec != ev.expected):
        raise StaleUpdate(f"agent {spec.id!r} changed since the edit was made")
    mask = mask_of(engine, spec)
    if a is None:
        add_agent(engine, spec)
        return
    regroup(engine, a, spec, mask, now, out)


def regroup(
    engine: EngineState, a: AgentRecord, spec: AgentSpec, mask: int, now: float, out: Decisions
) -> None:
    """The agent's spec or mask changed: it moves to its new group, drains the queue
    with what it can now serve, and contacts nobody logged in can serve widen."""
    pool = engine._pool
    pool.unindex(a)
    old_scopes = a.scopes
    old_group = a.group
    a.spec = spec
    a.version += 1
    a.scopes = (("agent", spec.id), ("team", spec.team), ("site", spec.site), REGION)
    a.group = pool.group_for(spec, mask)
    if a.logged_in:
        pool.groups[old_group].logged_in -= 1
        pool.groups[a.group].logged_in += 1
        if a.presence is not _NOT_READY:
            pool.groups[old_group].ready -= 1
            pool.groups[a.group].ready += 1
        pool.roster_changed()
        drain(engine, a, now, out)
        widen_stranded(engine, old_scopes, now, out)


def add_agent(engine: EngineState, spec: AgentSpec) -> None:
    """A new roster agent, logged out."""
    engine._agent_seq += 1
    a = AgentRecord(spec, engine._agent_seq)
    a.group = engine._pool.group_for(spec, mask_of(engine, spec))
    engine._agents[spec.id] = a
