"""The capacity rules: what an agent has room for now.

Capacity is per channel (e.g. one call, or up to three chats); an offer counts against
it (an offer is a reservation). A contact in hand may block channels (the region's
``blocks``; by default a call or callback blocks every new offer, a chat does not block
a call). After a contact the agent wraps up: no new offers until ``wrapup_s`` passes or
the agent says it is done (ended in ``agent_events``).
"""

from __future__ import annotations

from router.core import decisions as d
from router.core.engine_state import Decisions, EngineState
from router.core.model import Channel, Presence
from router.core.state import AgentRecord, ContactRecord
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_AVAILABLE = Presence.AVAILABLE
_WRAP_UP_TIMER = TimerKind.WRAP_UP.value  # plain int (``TimerQueue.push``)

# One shared tuple per channel for the common answer: no allocation on every offer and
# completion, and nothing new for the collector (a tuple holding an enum member stays
# tracked) in the record of every available agent.
_ONLY = {ch: (ch,) for ch in Channel}


def free_channels(
    engine: EngineState, a: AgentRecord, now: float, supervisor: bool = False
) -> tuple[Channel, ...]:
    """Channels in which ``a`` may be offered a new contact now (in channel order). A
    supervisor overrides not-ready and wrap-up, never capacity or channel blocks."""
    if not a.logged_in:
        return ()
    if not supervisor and (a.presence is not _AVAILABLE or a.wrapup_until > now):
        return ()
    load = a.load
    items = engine._pool.groups[a.group].cap_items
    if len(items) == 1:  # most agents take one channel: no generator, no set union
        ch, cap = items[0]
        if load.get(ch, 0) >= cap:
            return ()
        if a.in_hand:
            blocks = engine._blocks
            for held in a.in_hand.values():
                b = blocks.get(held)
                if b and ch in b:
                    return ()
        return _ONLY[ch]
    blocked: frozenset[Channel] | None = None
    if a.in_hand:
        blocks = engine._blocks
        for held in a.in_hand.values():
            b = blocks.get(held)
            if b:
                blocked = b if blocked is None else blocked | b
    return _room_in(items, load, blocked)


def _room_in(
    items: tuple[tuple[Channel, int], ...],
    load: dict[Channel, int],
    blocked: frozenset[Channel] | None,
) -> tuple[Channel, ...]:
    # Its own function: a generator in ``free_channels`` made ``load`` and ``blocked``
    # closure cells, allocated on every call (every drain), even one that returns early.
    return tuple(
        ch for ch, cap in items if load.get(ch, 0) < cap and (blocked is None or ch not in blocked)
    )


def release(a: AgentRecord, c: ContactRecord, now: float) -> None:
    """Frees the capacity ``c`` held on ``a`` (``a`` must be unindexed)."""
    ch = a.in_hand.pop(c.id)
    a.load[ch] -= 1
    a.since = now
    a.version += 1


def start_wrapup(engine: EngineState, a: AgentRecord, until: float, out: Decisions) -> None:
    """After a contact of a service with a wrap-up time, ``a`` takes no new offers until
    ``until`` (or later, if a wrap-up already runs that long)."""
    until = max(a.wrapup_until, until)
    a.wrapup_until = until
    a.version += 1
    engine._timers.push(until, _WRAP_UP_TIMER, a.id, until)
    out.append(d.WrapUpStarted(a.id, until))
