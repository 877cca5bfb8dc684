"""Chat customers' liveness: a ``CustomersSeen(contacts, valid_s, grace_s)`` sighting
counts until ``now + valid_s``; one ``CUSTOMER_LIVENESS`` timer per contact fires at the
latest sighting's end (re-arming if a later one came), and the contact is then handled
exactly as a ``CustomerAway(grace_s)`` at that moment (``contact_events.on_away``): its
away grace starts, or, with an agent, starts when it leaves the agent's hands. A
``CustomerGone`` decision says so, unless the person was away already (their socket's
close said so): the agent who has the chat hears it from nobody else. A contact never
reported is never judged.

A sighting after a lapse shows that some instance holds the person's socket after all
(one cut off from the store for longer than a sighting, which reports again once it is
back): the person is back (``contact_events.on_back``; a ``CustomerSeenAgain`` decision
says so when they had been taken as away), unless events about a newer connection of
theirs came since (the ``CustomerAway`` / ``CustomerBack`` epochs). The
timers are the agents' (``liveness``): one per key, stale ones passed over."""

from __future__ import annotations

from router.core import decisions as d
from router.core.contact_events import on_away, on_back
from router.core.engine_state import INF, Decisions, EngineState
from router.core.errors import InvalidEvent
from router.core.events import CustomerAway, CustomerBack, CustomersSeen
from router.core.liveness import arm_sighting_timer, take_sighting_timer
from router.core.model import ContactState
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why).
_ASSIGNED = ContactState.ASSIGNED
_CUSTOMER_LIVENESS_TIMER = TimerKind.CUSTOMER_LIVENESS.value  # plain int (``TimerQueue.push``)

_NOT_LAPSED = -1


def on_customers_seen(engine: EngineState, ev: CustomersSeen, now: float, out: Decisions) -> None:
    valid, grace = ev.valid_s, ev.grace_s
    # Finite: an open-ended sighting would judge nobody, as no sighting at all does, and
    # every sighting's timer is what forgets it once its contact closes.
    if not 0.0 < valid < INF:  # NaN too
        raise InvalidEvent(f"valid_s must be a positive number of seconds, got {valid!r}")
    if not 0.0 <= grace < INF:
        raise InvalidEvent(f"grace_s must be a number of seconds >= 0, got {grace!r}")
    until = now + valid
    contacts, seen, pending = engine._contacts, engine._customers_seen, engine._customer_timer
    # An instance reports every socket it holds; one whose chat has just closed must not
    # cost the others their sighting, so contacts no longer open are passed over.
    for cid in ev.contact_ids:
        c = contacts.get(cid)
        if c is None:
            continue
        last = seen.get(cid)
        if last is not None and last[3] == c.seq and last[4] == c.away_epoch:
            away = c.away_grace is not None
            on_back(engine, CustomerBack(cid, c.away_epoch), now, out)
            if away:  # whoever was told they had gone hears they are back
                agent_id = c.agent_id if c.state is _ASSIGNED else None
                out.append(d.CustomerSeenAgain(cid, agent_id))
        seen[cid] = (until, valid, grace, c.seq, _NOT_LAPSED)
        arm_sighting_timer(engine, pending, _CUSTOMER_LIVENESS_TIMER, cid, until)


def customer_liveness_due(
    engine: EngineState, contact_id: str, at: float, token: float, out: Decisions
) -> None:
    """A contact's ``CUSTOMER_LIVENESS`` timer fired: its person is away unless seen
    again since."""
    pending = engine._customer_timer
    if not take_sighting_timer(pending, contact_id, token):
        return
    seen = engine._customers_seen
    last = seen.get(contact_id)
    if last is None:
        return
    until, valid, grace, seq, lapsed = last
    c = engine._contacts.get(contact_id)
    if c is None or c.seq != seq:  # closed: nothing left to judge
        del seen[contact_id]
        return
    if until > at:  # seen again since the timer was armed
        arm_sighting_timer(engine, pending, _CUSTOMER_LIVENESS_TIMER, contact_id, until)
        return
    if lapsed == _NOT_LAPSED:
        epoch = c.away_epoch
        seen[contact_id] = (until, valid, grace, seq, epoch)
        # Away already: the close of their socket said so, and told whoever has the chat.
        news = c.away_grace is None
        on_away(engine, CustomerAway(contact_id, grace, epoch), at, out)
        if contact_id not in engine._contacts:  # abandoned at once (no grace)
            del seen[contact_id]
            return
        if news and c.away_grace is not None:  # (a callback's person is never away)
            agent_id = c.agent_id if c.state is _ASSIGNED else None
            out.append(d.CustomerGone(contact_id, agent_id))
    # Kept while the contact is open, so that a later sighting finds it lapsed, and
    # looked at again a sighting's time on, to be forgotten once the contact closes.
    arm_sighting_timer(engine, pending, _CUSTOMER_LIVENESS_TIMER, contact_id, at + valid)
