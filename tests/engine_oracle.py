"""Independent checks of the engine's promises, used by the property tests.

Eligibility is recomputed here from the specs by direct evaluation of requirement terms
(no bitmasks, no agent groups), so a bug in the engine's indexes cannot hide itself.
"""

from __future__ import annotations

from router.core import decisions as d
from router.core.engine import Engine
from router.core.model import (
    CHANNELS,
    AgentSpec,
    AgentStatus,
    Channel,
    ContactSpec,
    ContactState,
    Presence,
    ServiceSpec,
    StepKind,
)
from router.core.state import AgentView, ContactView
from skills import Requirement, Term, parse_requirement


def expected_requirement(
    engine: Engine, view: ContactView, carried: Requirement | None = None
) -> Requirement:
    """The requirement a contact should have at its current step, from its specs, with
    ``carried``: who could take it in the services it overflowed from (``reach_left``)."""
    service = engine.service(view.service)
    req = _base(view.spec, service)
    if view.step is StepKind.RELAXED:
        levels = next(s.relax_levels for s in service.steps if s.kind is StepKind.RELAXED)
        req = req.relaxed(levels)
    return req if carried is None else req.any_of(carried)


Scope = tuple[str, str]


def reach_left(
    engine: Engine, spec: ContactSpec, left: str, to: str
) -> tuple[Requirement, Scope] | None:
    """Who could take a contact at the widest step it reached in service ``left`` before
    its steps overflowed it to ``to`` (the last step before that overflow step that
    applies to it): the requirement with that step's relaxing, and the step's reach.
    None when no step before applies."""
    service = engine.service(left)
    steps = service.steps
    at = next(i for i, s in enumerate(steps) if s.overflow_to == to)
    for step in reversed(steps[:at]):
        if step.kind is StepKind.OVERFLOW:
            continue
        scope = {
            StepKind.OWN_AGENT: ("agent", spec.preferred_agent),
            StepKind.OWN_TEAM: ("team", spec.preferred_team),
            StepKind.OWN_SITE: ("site", spec.preferred_site),
        }.get(step.kind, ("region", ""))
        if scope[0] != "region" and not scope[1]:
            continue
        return _base(spec, service).relaxed(step.relax_levels), (scope[0], scope[1] or "")
    return None


def wider(first: Scope, second: Scope) -> Scope:
    """The wider of two reaches of one contact (its own agent, team, site, or region)."""
    order = ["agent", "team", "site", "region"]
    return first if order.index(first[0]) >= order.index(second[0]) else second


def _base(spec: ContactSpec, service: ServiceSpec) -> Requirement:
    req = spec.requirement if spec.requirement is not None else service.requirement
    if spec.language is not None:
        req = req.all_of(Requirement.term(Term("lang", spec.language)))
    if spec.authorisation is not None:
        req = req.all_of(Requirement.term(Term("auth", spec.authorisation)))
    return req


def meets(agent: AgentSpec, requirement: Requirement) -> bool:
    if not requirement.clauses:
        return True
    ab = agent.abilities
    for clause in requirement.clauses:
        if all(
            (t.kind == "skill" and ab.skills.get(t.name, 0) >= t.level)
            or (t.kind == "lang" and t.name in ab.languages)
            or (t.kind == "auth" and t.name in ab.authorisations)
            for t in clause
        ):
            return True
    return False


def in_reach(agent: AgentSpec, scope: tuple[str, str]) -> bool:
    kind, value = scope
    return (
        kind == "region"
        or (kind == "site" and agent.site == value)
        or (kind == "team" and agent.team == value)
        or (kind == "agent" and agent.id == value)
    )


def eligible(engine: Engine, agent: AgentSpec, view: ContactView) -> bool:
    req = parse_requirement(view.requirement) if view.requirement != "*" else Requirement.anyone()
    return meets(agent, req) and in_reach(agent, view.scope)


def free_channels(engine: Engine, view: AgentView, now: float) -> set[Channel]:
    """Channels in which the agent could take a new contact, from first principles."""
    if view.status is AgentStatus.OFFLINE or view.presence is not Presence.AVAILABLE:
        return set()
    if view.wrapup_until > now:
        return set()
    blocks = engine.policy.blocks
    blocked: set[Channel] = set()
    for ch, n in view.load.items():
        if n > 0:
            blocked |= blocks.get(ch, frozenset())
    return {
        ch
        for ch in CHANNELS
        if view.spec.capacity.get(ch, 0) > view.load.get(ch, 0) and ch not in blocked
    }


def check_consistency(engine: Engine, open_ids: set[str]) -> None:
    """No contact lost or duplicated: each open contact is in exactly one place."""
    contacts = {v.id: v for v in engine.contacts()}
    assert set(contacts) == open_ids, set(contacts) ^ open_ids
    waiting = [v.id for v in engine.waiting()]
    assert len(waiting) == len(set(waiting)), "a contact is queued twice"
    held: dict[str, str] = {}
    for a in engine.agents():
        for cid in a.contacts:
            assert cid not in held, f"{cid} held by {held[cid]} and {a.id}"
            held[cid] = a.id
    for cid, v in contacts.items():
        if v.state is ContactState.WAITING:
            assert cid in waiting and cid not in held, v
        else:
            assert v.state in (ContactState.OFFERED, ContactState.ASSIGNED), v
            assert cid not in waiting and held.get(cid) == v.agent_id, v
    assert set(waiting) <= set(contacts)
    assert engine.waiting_count == len(waiting)
    # The O(1) tallies agree with a count of the queue, per service and per site.
    views = engine.waiting()
    keys = {("service", v.service) for v in views} | {
        ("site", v.spec.preferred_site) for v in views if v.spec.preferred_site
    }
    for kind, name in keys | {("service", s) for s in engine.services()}:
        mine = [
            v.arrived_at
            for v in views
            if (v.service if kind == "service" else v.spec.preferred_site) == name
        ]
        assert engine.waiting_in(kind, name) == (len(mine), min(mine) if mine else None), (
            kind,
            name,
        )
    for a in engine.agents():
        if a.status is AgentStatus.OFFLINE:
            assert not a.contacts
    check_group_counts(engine)


def check_group_counts(engine: Engine) -> None:
    """Each agent group's counts, kept where agents log in and out, move and change
    presence, equal a recount from the agents: those logged in, and of them those
    serving (not set not ready: the wait estimates' servers)."""
    groups = engine._pool.groups
    logged_in = [0] * len(groups)
    ready = [0] * len(groups)
    for a in engine.agents():
        if a.status is AgentStatus.OFFLINE:
            continue
        gid = engine._agents[a.id].group
        logged_in[gid] += 1
        if a.presence is not Presence.NOT_READY:
            ready[gid] += 1
    assert [g.logged_in for g in groups] == logged_in
    assert [g.ready for g in groups] == ready, ([g.ready for g in groups], ready)


def check_no_idle_pair(engine: Engine, now: float, cooled: dict[tuple[str, str], float]) -> None:
    """Nobody able to serve a waiting contact sits idle in that contact's channel."""
    agents = [(a, free_channels(engine, a, now)) for a in engine.agents()]
    for w in engine.waiting():
        for a, channels in agents:
            if w.channel in channels and eligible(engine, a.spec, w):
                assert cooled.get((w.id, a.id), -1.0) > now, (
                    f"{w.id} waits while {a.id} could take it at t={now}"
                )


def check_decisions(
    engine: Engine,
    decisions: list[object],
    held_before: dict[str, dict[str, Channel]],
) -> None:
    """Replays one apply's decisions over the agents' work in hand before it: every offer
    goes to an eligible agent, within its capacity and the channel blocking rules."""
    held = {aid: dict(h) for aid, h in held_before.items()}
    for dec in decisions:
        if isinstance(dec, d.Offered):
            hand = held.setdefault(dec.agent_id, {})
            a = engine.agent(dec.agent_id)
            in_channel = sum(1 for ch in hand.values() if ch is dec.channel)
            assert in_channel < a.spec.capacity.get(dec.channel, 0), (
                f"{dec.agent_id} over capacity in {dec.channel}: {hand}"
            )
            for ch in hand.values():
                assert dec.channel not in engine.policy.blocks.get(ch, frozenset()), (
                    f"{dec.channel} offered to {dec.agent_id} while holding {ch}"
                )
            hand[dec.contact_id] = dec.channel
            try:
                c = engine.contact(dec.contact_id)
            except KeyError:
                continue
            if c.agent_id == dec.agent_id:
                if dec.trace.rule == "supervisor":
                    # A supervisor overrides reach, never skills, language or authorisation.
                    assert meets(
                        a.spec,
                        parse_requirement(c.requirement)
                        if c.requirement != "*"
                        else Requirement.anyone(),
                    )
                else:
                    assert eligible(engine, a.spec, c), f"{c.id} offered to ineligible {a.id}"
        elif isinstance(dec, (d.Requeued, d.OfferWithdrawn, d.Closed)):
            holder = dec.agent_id
            if holder is not None:
                held.get(holder, {}).pop(dec.contact_id, None)
