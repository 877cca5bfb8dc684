"""Matching: a contact to an agent, and an agent to waiting work.

- A contact at its step (``step_choice``: on arrival, widening or requeue) is offered to
  the best available eligible agent in the step's reach (``AgentPool.choose``, by the
  service's ``agent_choice``), or queued in its bucket (``WaitingQueue``): ``route``.
- An agent gaining capacity drains the queue (``drain``): it is offered the contact with
  the smallest ``(target_at, seq)`` it is eligible for at that contact's current step,
  in a channel where it has free capacity, not in its cool-down; repeated while it has
  capacity (``WaitingQueue.best_for``).
- An offer is a reservation of capacity on the agent (``offer``).
"""

from __future__ import annotations

from router.core import decisions as d
from router.core.capacity import free_channels
from router.core.engine_state import Decisions, EngineState
from router.core.model import ContactState, StepKind
from router.core.state import AgentRecord, ContactRecord
from router.core.timers import TimerKind

# Decisions are values nobody mutates, so a trace that says nothing contact-specific is
# shared rather than built on every arrival.
_NO_AGENT_FREE = {kind: d.Trace(kind, "no_agent_free") for kind in StepKind}


def route(
    engine: EngineState, c: ContactRecord, now: float, out: Decisions, arriving: bool
) -> None:
    """Offers a waiting contact to the best available agent, or queues it."""
    pool = engine._pool
    # With a long queue no agent is available most of the time: then ``choose`` (which
    # returns at once on this test) is not called.
    if pool._avail[c.channel]:
        agent, weighed = pool.choose(c, c.service.agent_choice, engine._agents, now)
    else:
        agent = None
    if agent is not None:
        offer(
            engine, c, agent, now, out, d.Trace(c.step_kind, c.service.agent_choice.value, weighed)
        )
        return
    engine._queue.add(c)
    if arriving:
        out.append(
            d.Queued(c.id, c.service.name, c.step_kind, c.due_at, _NO_AGENT_FREE[c.step_kind])
        )


def offer(
    engine: EngineState,
    c: ContactRecord,
    a: AgentRecord,
    now: float,
    out: Decisions,
    trace: d.Trace,
) -> None:
    """Reserves capacity on ``a`` for ``c`` (``a`` must be unindexed or is re-indexed)."""
    reindex = a.avail_entry is not None
    if reindex:
        engine._pool.unindex(a)
    c.state = ContactState.OFFERED
    c.agent_id = a.id
    engine._tokens += 1
    c.offer_no = engine._tokens  # a fresh token (_token, inlined: every offer)
    c.offer_expires_at = now + c.service.offer_timeout_s
    a.load[c.channel] = a.load.get(c.channel, 0) + 1
    a.in_hand[c.id] = c.channel
    a.since = now
    engine._timers.push(c.offer_expires_at, TimerKind.OFFER_EXPIRY, c.id, c.offer_no)
    out.append(d.Offered(c.id, a.id, c.channel, c.offer_expires_at, trace))
    if reindex:
        channels = free_channels(engine, a, now)
        if channels:  # a one-channel agent is full now: ``index`` would do nothing
            engine._pool.index(a, channels)


def drain(engine: EngineState, a: AgentRecord, now: float, out: Decisions) -> None:
    """Offers ``a`` (unindexed) the earliest-due contacts it can take, then indexes it."""
    queue = engine._queue
    channels = free_channels(engine, a, now)
    while channels and queue._size:  # ``len(queue)``, without the method call
        pool = engine._pool
        group = pool.groups[a.group]
        # ``reqs_of``'s answer when the group is caught up (nearly always), inlined.
        reqs = group.rids if group.checked == len(pool._reqs.compiled) else pool.reqs_of(a.group)
        c, weighed = queue.best_for(a.scopes, channels, reqs, a.id, now)
        if c is None:
            break
        queue.remove(c)
        offer(engine, c, a, now, out, d.Trace(c.step_kind, "earliest_due", weighed))
        channels = free_channels(engine, a, now)
    if channels:  # still current: nothing changed since it was computed
        engine._pool.index(a, channels)


def close(engine: EngineState, c: ContactRecord, outcome: str, out: Decisions) -> None:
    """The contact is closed with ``outcome`` and forgotten."""
    c.state = ContactState.CLOSED
    del engine._contacts[c.id]
    out.append(d.Closed(c.id, outcome, c.agent_id, c.service.name, c.channel))
    c.agent_id = None
