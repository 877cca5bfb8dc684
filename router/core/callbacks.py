"""The handlers of a contact changing channel (a caller who chooses a callback) and of a
callback attempt. A callback keeps the caller's place: an attempt that does not reach
the caller holds the request until its next try (``scheduled``), and only the last
attempt, or an invalid number, closes it (``unreachable``)."""

from __future__ import annotations

from dataclasses import replace

from router.core import decisions as d
from router.core.capacity import release
from router.core.engine_state import Decisions, EngineState
from router.core.errors import Conflict, InvalidEvent
from router.core.events import CallbackAttempted, ChannelSwitched
from router.core.matching import close, drain, route
from router.core.model import CALLBACK_RESULTS, Channel, ContactState
from router.core.scheduled import hold
from router.core.step_choice import enter_step

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_CALLBACK = Channel.CALLBACK
_OFFERED = ContactState.OFFERED
_WAITING = ContactState.WAITING


def on_switched(engine: EngineState, ev: ChannelSwitched, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    if c.state is _ASSIGNED:
        raise Conflict(f"contact {c.id!r} is with {c.agent_id!r}; it cannot switch channel")
    if ev.channel is c.channel and not ev.attributes:
        return
    agent = None
    if c.state is _OFFERED:
        agent = engine._agents[c.agent_id or ""]
        out.append(d.OfferWithdrawn(c.id, agent.id, "channel_switched"))
        engine._pool.unindex(agent)
        release(agent, c, now)
        c.state = _WAITING
        c.agent_id = None
    elif c.state is _WAITING:
        engine._queue.remove(c)
    old = c.channel
    c.channel = ev.channel
    c.spec = replace(c.spec, channel=ev.channel, attributes={**c.spec.attributes, **ev.attributes})
    out.append(d.Switched(c.id, old, ev.channel))
    # Same seq and due time: the same place in the one order, now in the new channel.
    if c.state is _WAITING:
        if c.restep is not None:
            enter_step(engine, c, c.restep, now, out)
        else:
            route(engine, c, now, out, arriving=False)
    if agent is not None:
        drain(engine, agent, now, out)


def on_attempted(engine: EngineState, ev: CallbackAttempted, now: float, out: Decisions) -> None:
    c = engine._open_contact(ev.contact_id)
    if c.state is not _ASSIGNED or c.agent_id != ev.agent_id:
        raise Conflict(f"contact {c.id!r} is not assigned to {ev.agent_id!r}")
    if c.channel is not _CALLBACK:
        raise Conflict(f"contact {c.id!r} is a {c.channel.value} contact, not a callback")
    if ev.result not in CALLBACK_RESULTS:
        raise InvalidEvent(
            f"unknown result {ev.result!r}; expected one of: {', '.join(CALLBACK_RESULTS)}"
        )
    c.attempts += 1
    if ev.result == "reached":
        out.append(d.CallbackAttempt(c.id, ev.agent_id, c.attempts, ev.result, None))
        return
    a = engine._agents[ev.agent_id]
    engine._pool.unindex(a)
    release(a, c, now)
    last = ev.result == "invalid_number" or c.attempts >= c.service.callback_attempts
    retry_at = None if last else now + c.service.callback_retry_s
    out.append(d.CallbackAttempt(c.id, ev.agent_id, c.attempts, ev.result, retry_at))
    if retry_at is None:
        close(engine, c, "unreachable", out)
    else:
        c.agent_id = None
        hold(engine, c, retry_at, out)
    drain(engine, a, now, out)
