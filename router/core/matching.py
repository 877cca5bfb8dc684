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
from router.core.model import AgentChoice, ContactState, StepKind
from router.core.pool import picker_of
from router.core.queue import REGION
from router.core.state import AgentRecord, ContactRecord
from router.core.timers import TimerKind

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_CLOSED = ContactState.CLOSED
_OFFERED = ContactState.OFFERED
_OFFER_EXPIRY_TIMER = TimerKind.OFFER_EXPIRY.value  # plain int (``TimerQueue.push``)

# The hot decisions are built as ``object.__new__`` and then their class's own
# ``__init__`` called as a plain function: the same fields set by the same code, without
# the class call's way through C (``type_call``, ``slot_tp_init``) into a fresh
# evaluation loop, which costs more than the fields on Python 3.11.
_new = object.__new__
_init_offered = d.Offered.__init__
_init_queued = d.Queued.__init__
_init_closed = d.Closed.__init__

# Decisions are values nobody mutates, so a trace that says nothing contact-specific is
# shared rather than built on every arrival.
_NO_AGENT_FREE = {kind: d.Trace(kind, "no_agent_free") for kind in StepKind}
# A rule's name for the trace: ``AgentChoice.value`` is a property, two Python calls on
# every offer made on arrival.
_RULE_NAME = {rule: rule.value for rule in AgentChoice}
# The traces of offers, shared the same way: one per (step, rule, candidates weighed),
# built on first use. Building a slotted object costs ~2,000 instructions on Python 3.11
# (the class call, ``object.__new__``, the ``__init__`` frame): as much as a tenth of
# a decision's cost, on every offer. Candidate counts stay below the number of agent
# groups or queue buckets; past ``_TRACES_KEPT`` a table starts again.
_TRACES_KEPT = 4096
# Keyed by rule, then step: two lookups by members held, where a ``(step, rule)`` key was
# a tuple built, hashed and compared on every offer made on arrival.
_OFFER_TRACES: dict[AgentChoice, dict[StepKind, dict[int, d.Trace]]] = {
    rule: {kind: {} for kind in StepKind} for rule in AgentChoice
}
_DRAIN_TRACES: dict[StepKind, dict[int, d.Trace]] = {kind: {} for kind in StepKind}


def shared_trace(traces: dict[int, d.Trace], step: StepKind, rule: str, weighed: int) -> d.Trace:
    """The trace in ``traces`` for ``weighed`` candidates, built and kept on first use."""
    if len(traces) >= _TRACES_KEPT:
        traces.clear()
    trace = traces[weighed] = d.Trace(step, rule, weighed)
    return trace


def route(
    engine: EngineState, c: ContactRecord, now: float, out: Decisions, arriving: bool
) -> None:
    """Offers a waiting contact to the best available agent, or queues it."""
    pool = engine._pool
    # With a long queue no agent is available most of the time: then ``choose`` (which
    # returns at once on this test) is not called.
    if pool._avail[c.channel]:
        rule = c.service.agent_choice
        if c.scope is REGION and c.cooldowns is None:
            # ``choose``'s answer for a step reaching the region, without its call (most
            # offers on arrival); a scope equal to REGION but not it (loaded) goes there.
            agent, weighed = pool._choose_region(c.rid, c.channel, rule)
        else:
            agent, weighed = pool.choose(c, rule, engine._agents, now)
    else:
        agent = None
    if agent is not None:
        traces = _OFFER_TRACES[rule][c.step_kind]
        try:
            trace = traces[weighed]
        except KeyError:
            trace = shared_trace(traces, c.step_kind, _RULE_NAME[rule], weighed)
        offer(engine, c, agent, now, out, trace)
        return
    engine._queue.add(c)
    if arriving:
        q = _new(d.Queued)
        _init_queued(q, c.id, c.service.name, c.step_kind, c.due_at, _NO_AGENT_FREE[c.step_kind])
        out.append(q)


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
        # Which moves its version on (``Engine.agent_version``, compared between
        # events): the changes below are covered by it, with no second increment.
        engine._pool.unindex(a)
    else:
        a.version += 1  # its load, contacts and idle time change below
    c.state = _OFFERED
    c.agent_id = a.id
    # A fresh token (``_token``, inlined: every offer).
    c.offer_no = token = engine._tokens = engine._tokens + 1
    c.offer_expires_at = expires = now + c.service.offer_timeout_s
    ch = c.channel
    loads = a.load
    try:  # a subscript, not ``get``: a channel once used keeps its entry (0 when free)
        load = loads[ch] + 1
    except KeyError:
        load = 1
    loads[ch] = load
    a.in_hand[c.id] = ch
    a.since = now
    engine._timers.push(expires, _OFFER_EXPIRY_TIMER, c.id, token)
    o = _new(d.Offered)
    _init_offered(o, c.id, a.id, ch, expires, trace)
    out.append(o)
    # A one-channel agent whose one place this offer took (most agents) has nothing to
    # index: ``free_channels`` would say so, after a call. (Its offers are all in that
    # channel: it is indexed, and offered, only where it has room.)
    if reindex and load < engine._pool.groups[a.group].full_at:
        channels = free_channels(engine, a, now)
        if channels:
            engine._pool.index(a, channels)


def drain(engine: EngineState, a: AgentRecord, now: float, out: Decisions) -> None:
    """Offers ``a`` (unindexed) the earliest-due contacts it can take, then indexes it."""
    queue = engine._queue
    pool = engine._pool
    group = pool.groups[a.group]
    channels = free_channels(engine, a, now)
    while channels and queue._size:  # ``len(queue)``, without the method call
        # ``reqs_of``, inlined: the ids are shared by the groups of one mask and caught
        # up for all masks at once when a requirement was interned since.
        if pool._known != len(pool._reqs.compiled):
            pool.catch_up()
        # The ids, their bits and their picker, shared by the groups of the mask (a
        # picker is made once per mask whose ids changed, not once per group).
        held = group.shared
        reqs = held.rids
        pick = held.pick
        if pick is None:
            pick = held.pick = picker_of(reqs)
        c, weighed = queue.best_for(a.scopes, channels, reqs, a.id, now, pick, held.bits)
        if c is None:
            break
        queue.remove(c)
        traces = _DRAIN_TRACES[c.step_kind]
        try:
            trace = traces[weighed]
        except KeyError:
            trace = shared_trace(traces, c.step_kind, "earliest_due", weighed)
        offer(engine, c, a, now, out, trace)
        # Its one channel full (most agents): as ``free_channels`` says, without the call.
        channels = () if a.load[c.channel] >= group.full_at else free_channels(engine, a, now)
    if channels:  # still current: nothing changed since it was computed
        pool.index(a, channels)


def close(engine: EngineState, c: ContactRecord, outcome: str, out: Decisions) -> None:
    """The contact is closed with ``outcome`` and forgotten."""
    in_hand = c.state is _ASSIGNED
    c.state = _CLOSED
    del engine._contacts[c.id]
    closed = _new(d.Closed)
    _init_closed(closed, c.id, outcome, c.agent_id, c.service.name, c.channel, in_hand)
    out.append(closed)
    c.agent_id = None
