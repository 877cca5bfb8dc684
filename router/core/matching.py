"""Matching: a contact to an agent, and an agent to waiting work.

- A contact entering a step (arrival, widening, requeue) is offered to the best
  available eligible agent in the step's reach (``AgentPool.choose``, by the service's
  ``agent_choice``), or queued in its bucket (``WaitingQueue``).
- An agent gaining capacity drains the queue (``drain``): it is offered the contact with
  the smallest ``(target_at, seq)`` it is eligible for at that contact's current step,
  in a channel where it has free capacity, not in its cool-down; repeated while it has
  capacity (``WaitingQueue.best_for``).
- An offer is a reservation; one declined or timed out goes back with its place
  (``return_offer``), and the agent is not offered it again during the cool-down.
"""

from __future__ import annotations

from router.core import decisions as d
from router.core.capacity import free_channels, release
from router.core.engine_state import Decisions, EngineState, in_order
from router.core.model import ContactState, Presence, StepKind
from router.core.queue import ScopeKey
from router.core.state import AgentRecord, ContactRecord
from router.core.step_choice import choose_step
from router.core.timers import TimerKind

# Decisions are values nobody mutates, so a trace that says nothing contact-specific is
# shared rather than built on every arrival.
_NO_AGENT_FREE = {kind: d.Trace(kind, "no_agent_free") for kind in StepKind}


def enter_step(
    engine: EngineState,
    c: ContactRecord,
    index: int,
    now: float,
    out: Decisions,
    arriving: bool = False,
) -> None:
    """Puts a waiting contact at step ``index`` of its service (or the first later
    step that applies, ``step_choice``), then offers it or queues it."""
    skipped: list[StepKind] = []
    index, step, scope = choose_step(engine, c, index, skipped, out)
    c.step_index = index
    c.step_kind = step.kind
    c.scope = scope
    c.rid = engine._reqs.relaxed(c.base_rid, step.relax_levels) if step.relax_levels else c.base_rid
    engine._tokens += 1
    c.epoch = engine._tokens  # a fresh token (_token, inlined on the arrival path)
    c.restep = None
    if step.duration_s is not None and index < len(c.service.steps) - 1:
        engine._timers.push(now + step.duration_s, TimerKind.STEP, c.id, c.epoch)
    if not arriving:
        out.append(d.Widened(c.id, step.kind, tuple(skipped), d.Trace(step.kind, "widening")))
    route(engine, c, now, out, arriving)


def route(
    engine: EngineState, c: ContactRecord, now: float, out: Decisions, arriving: bool
) -> None:
    """Offers a waiting contact to the best available agent, or queues it."""
    agent, weighed = engine._pool.choose(c, c.service.agent_choice, engine._agents, now)
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


def widen_stranded(
    engine: EngineState, scopes: tuple[ScopeKey, ...], now: float, out: Decisions
) -> None:
    """After an agent left (or lost skills), moves on contacts waiting in a step that
    no logged-in agent can serve any more, earliest due first."""
    queue = engine._queue
    stranded: list[ContactRecord] = []
    for scope in scopes:
        for channel, rid in queue.signatures(scope):
            if not engine._pool.servable(rid, scope, channel, engine._agents):
                stranded.extend(queue.contacts_in(scope, channel, rid))
    for c in in_order(stranded):
        if c.step_index < len(c.service.steps) - 1:
            queue.remove(c)
            enter_step(engine, c, c.step_index + 1, now, out)


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
    c.offer_no = engine._token()
    c.offer_expires_at = now + c.service.offer_timeout_s
    a.load[c.channel] = a.load.get(c.channel, 0) + 1
    a.in_hand[c.id] = c.channel
    a.since = now
    engine._timers.push(c.offer_expires_at, TimerKind.OFFER_EXPIRY, c.id, c.offer_no)
    out.append(d.Offered(c.id, a.id, c.channel, c.offer_expires_at, trace))
    if reindex:
        engine._pool.index(a, free_channels(engine, a, now))


def return_offer(
    engine: EngineState,
    c: ContactRecord,
    reason: str,
    not_ready: bool,
    now: float,
    out: Decisions,
) -> None:
    """An offer declined or timed out: the contact goes back with its place, the agent
    gets a cool-down for it (and is set not ready when the service says so)."""
    a = engine._agents[c.agent_id or ""]
    engine._pool.unindex(a)
    release(a, c, now)
    cooldown = c.service.decline_cooldown_s
    if reason == "timeout" and c.service.timeout_cooldown_s is not None:
        cooldown = c.service.timeout_cooldown_s
    until = None
    if cooldown > 0:
        until = now + cooldown
        if c.cooldowns is None:
            c.cooldowns = {}
        c.cooldowns[a.id] = until
        engine._timers.push(until, TimerKind.COOLDOWN, c.id, until)
    out.append(d.Requeued(c.id, a.id, reason, until))
    if not_ready and a.presence is Presence.AVAILABLE:
        a.presence = Presence.NOT_READY
        a.reason = f"offer_{reason}"
        out.append(d.AgentPresenceSet(a.id, Presence.NOT_READY, a.reason))
    requeue(engine, c, now, out)
    drain(engine, a, now, out)


def requeue(engine: EngineState, c: ContactRecord, now: float, out: Decisions) -> None:
    """Back to waiting with the same due time and arrival order, at its step."""
    was_assigned = c.state is ContactState.ASSIGNED
    c.state = ContactState.WAITING
    c.agent_id = None
    if was_assigned and c.away_grace is not None and c.away_token == 0:
        # Its person went away while an agent had it: the grace period starts now.
        c.away_token = token = engine._token()
        engine._timers.push(now + c.away_grace, TimerKind.AWAY, c.id, token)
    if c.restep is not None:
        enter_step(engine, c, c.restep, now, out)
    else:
        route(engine, c, now, out, arriving=False)


def drain(engine: EngineState, a: AgentRecord, now: float, out: Decisions) -> None:
    """Offers ``a`` (unindexed) the earliest-due contacts it can take, then indexes it."""
    queue = engine._queue
    channels = free_channels(engine, a, now)
    while channels and len(queue):
        c, weighed = queue.best_for(a.scopes, channels, engine._pool.reqs_of(a.group), a.id, now)
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
