"""Property test: which agent an arriving contact is offered to.

For random rosters (skills and levels, sites, teams, capacities; agents logged in or out,
available or not ready, busy, in wrap-up) and random arrivals at every step kind, the
agent the engine offers a new contact to is exactly the one an independent oracle picks
by the service's documented ``agent_choice`` (``router/core/pool.py``):

- ``longest_idle``: fewest contacts in hand; then the earliest time the agent's load,
  presence or wrap-up last changed (idle since); then login order;
- ``least_occupied``: lowest share of the agent's total capacity in use; then as above;
- ``highest_proficiency``: highest sum of the agent's levels in the skills of the best
  clause of the requirement (at the contact's step, relaxed or not) it meets; then as
  ``longest_idle``.

The oracle keeps its own login order and idle-since clock from the events and decisions,
and computes eligibility from the specs (``tests/engine_oracle.py``): no groups, masks or
indexes. When the contact is queued instead, nobody in its step's reach could take it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from router.core import decisions as d
from router.core.errors import RoutingError
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    ContactArrived,
    Event,
    PresenceChanged,
    TimerDue,
)
from router.core.model import (
    CHANNELS,
    AgentChoice,
    AgentSpec,
    AgentStatus,
    Channel,
    ContactSpec,
    Presence,
    StepKind,
)
from router.core.policy import RoutingPolicy
from router.core.state import AgentView, ContactView
from skills import AgentAbilities, Requirement
from tests.engine_oracle import expected_requirement, free_channels, in_reach, meets, wider
from tests.test_engine_properties import (
    CATALOGUE,
    LANGS,
    REQUIREMENTS,
    SITES,
    SKILLS,
    TEAMS,
    Run,
    agent_specs,
    make_service,
)

ARRIVAL_CHANNELS = (Channel.CHAT, Channel.CHAT, Channel.WORKITEM, Channel.VOICE, Channel.CALLBACK)
# Arrivals dominate, so that most choices are made among several idle and busy agents.
CHOICE_OPS = ("arrive",) * 6 + (
    "login",
    "login",
    "logout",
    "presence",
    "accept",
    "accept",
    "decline",
    "complete",
    "complete",
    "abandon",
    "wrapup",
    "update_agent",
    "tick",
)

_AGENT_CHANGES = (d.Offered, d.Requeued, d.OfferWithdrawn, d.AgentPresenceSet, d.WrapUpEnded)


@st.composite
def multi_channel_agents(draw: Any, agent_id: str) -> AgentSpec:
    """Agents taking several contacts at once (chat, work items), so that choices are
    often between agents with work in hand and different shares of their capacity."""
    team = draw(st.sampled_from(sorted(TEAMS)))
    skills = {s: lvl for s in SKILLS if (lvl := draw(st.integers(0, 5))) > 0}
    langs = frozenset(draw(st.sets(st.sampled_from(LANGS), min_size=1)))
    capacity = {
        Channel.VOICE: draw(st.integers(0, 1)),
        Channel.CHAT: draw(st.integers(0, 4)),
        Channel.WORKITEM: draw(st.integers(0, 3)),
        Channel.CALLBACK: draw(st.integers(0, 1)),
    }
    if not any(capacity.values()):
        capacity[Channel.CHAT] = 2
    return AgentSpec(agent_id, agent_id, TEAMS[team], team, AgentAbilities(skills, langs), capacity)


@st.composite
def rosters(draw: Any) -> RoutingPolicy:
    services = {n: make_service(n, draw) for n in REQUIREMENTS}
    n_agents = draw(st.integers(3, 10))
    agents = {
        f"a{i}": draw(st.one_of(agent_specs(f"a{i}"), multi_channel_agents(f"a{i}")))
        for i in range(n_agents)
    }
    return RoutingPolicy(CATALOGUE, services, agents)


def score(agent: AgentSpec, requirement: Requirement) -> int:
    """The highest sum of levels in the skills of a clause the agent meets (a clause it
    does not meet counts for nothing, however high its levels in that clause's skills)."""
    skills = agent.abilities.skills
    best = 0
    for clause in requirement.clauses:
        if meets(agent, Requirement((clause,))):
            best = max(best, sum(skills.get(t.name, 0) for t in clause if t.kind == "skill"))
    return best


def reach_of(view: ContactView) -> tuple[str, str]:
    spec = view.spec
    if view.step is StepKind.OWN_AGENT:
        return ("agent", spec.preferred_agent or "")
    if view.step is StepKind.OWN_TEAM:
        return ("team", spec.preferred_team or "")
    if view.step is StepKind.OWN_SITE:
        return ("site", spec.preferred_site or "")
    return ("region", "")


class ChoiceRun(Run):
    """Drives an engine like the invariant runs, and checks each arrival's agent."""

    def __init__(self, policy: RoutingPolicy) -> None:
        super().__init__(policy)
        self.login_no = 0
        self.login_order: dict[str, int] = {}
        self.idle_since: dict[str, float] = {}
        self.checked = 0

    def _apply(self, event: Event) -> None:
        e = self.engine
        now = self.now
        before = {a.id: a for a in e.agents()}
        self.log.append((now, event))
        try:
            out = e.apply(now, event)
        except RoutingError as exc:
            self.outputs.append(f"{type(exc).__name__}: {exc}")
            return
        self.outputs.append(out)
        self.track(out)  # the overflows' reach, for the oracle
        if isinstance(event, ContactArrived):
            try:
                self.check_choice(event, out, before)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n--- history ---\n{self.history(40)}") from None
        self.follow(event, out, before, now)

    def follow(
        self, event: Event, out: list[d.Decision], before: dict[str, AgentView], now: float
    ) -> None:
        """Keeps the oracle's login order and idle-since times."""
        if isinstance(event, AgentLoggedIn):
            was = before[event.agent_id]
            if was.status is AgentStatus.OFFLINE:
                self.login_no += 1
                self.login_order[event.agent_id] = self.login_no
                self.idle_since[event.agent_id] = now
            elif (was.presence, was.reason) != (event.presence, ""):
                self.idle_since[event.agent_id] = now
        elif isinstance(event, PresenceChanged):
            was = before[event.agent_id]
            reason = event.reason if event.presence is Presence.NOT_READY else ""
            if (was.presence, was.reason) != (event.presence, reason):
                self.idle_since[event.agent_id] = now
        for dec in out:
            # Its load changed (an offer made, returned, withdrawn, a contact closed in
            # its hands), or it became available again (presence, wrap-up over).
            holder = dec.agent_id if isinstance(dec, (*_AGENT_CHANGES, d.Closed)) else None
            if holder is not None:
                self.idle_since[holder] = now
        if isinstance(event, AgentLoggedOut):
            self.login_order.pop(event.agent_id, None)

    def rank(self, rule: AgentChoice, a: AgentView, requirement: Requirement) -> tuple[float, ...]:
        load = sum(a.load.values())
        tail = (load, self.idle_since[a.id], self.login_order[a.id])
        if rule is AgentChoice.LONGEST_IDLE:
            return tail
        if rule is AgentChoice.LEAST_OCCUPIED:
            total = max(1, sum(a.spec.capacity.get(ch, 0) for ch in CHANNELS))
            return (load / total, *tail)
        return (-score(a.spec, requirement), *tail)

    def check_choice(
        self, event: ContactArrived, out: list[d.Decision], before: dict[str, AgentView]
    ) -> None:
        e = self.engine
        cid = event.contact.id
        offers = [o for o in out if isinstance(o, d.Offered) and o.contact_id == cid]
        queued = [o for o in out if isinstance(o, d.Queued) and o.contact_id == cid]
        if not offers and not queued:
            return  # redirected or closed at the door
        view = e.contact(cid)
        reach = reach_of(view)
        carried = self.carried.get(cid)  # an overflow keeps the reach it had
        if carried is not None:
            reach = wider(reach, carried[1])
        assert view.scope == reach, f"{cid} at {view.step} waits in {view.scope}, not {reach}"
        requirement = expected_requirement(e, view, carried[0] if carried else None)
        candidates = [
            a
            for a in before.values()
            if view.channel in free_channels(e, a, self.now)
            and meets(a.spec, requirement)
            and in_reach(a.spec, reach)
        ]
        if queued:
            assert not candidates, (
                f"{cid} ({view.channel}, {view.step}) queued while "
                f"{[a.id for a in candidates]} could take it"
            )
            return
        rule = e.service(view.service).agent_choice
        (offer,) = offers
        assert offer.trace.rule == rule.value, offer.trace
        assert offer.trace.step is view.step, (offer.trace, view.step)
        ranked = sorted(candidates, key=lambda a: self.rank(rule, a, requirement))
        assert ranked, f"{cid} offered to {offer.agent_id}, who is not a candidate"
        keys = {a.id: self.rank(rule, a, requirement) for a in ranked}
        assert offer.agent_id == ranked[0].id, (
            f"{cid} ({view.channel}, {view.step} {reach}, {rule.value}) offered to "
            f"{offer.agent_id} {keys.get(offer.agent_id)}, expected {ranked[0].id}; "
            f"candidates {keys}"
        )
        self.checked += 1
        note_event(f"{view.step.value} / {rule.value} among {min(len(ranked), 3)}+")

    def step(self, draw: Any) -> None:
        # Run.step draws its own operation; bias it towards arrivals here.
        op = draw(st.sampled_from(CHOICE_OPS))
        if op != "arrive":
            super().step(_Forced(draw, op))
            return
        self.now += draw(st.sampled_from([0.0, 0.0, 1.0, 4.0, 13.0]))
        self.n += 1
        self.apply(
            ContactArrived(
                ContactSpec(
                    id=f"c{self.n}",
                    channel=draw(st.sampled_from(ARRIVAL_CHANNELS)),
                    service=draw(st.sampled_from(sorted(REQUIREMENTS))),
                    urgency=draw(st.sampled_from([None, "P1", "P3", "P5"])),
                    language=draw(st.sampled_from([None, None, "fi", "sv"])),
                    preferred_agent=draw(st.sampled_from([None, *sorted(self.policy.agents)])),
                    preferred_team=draw(st.sampled_from([None, *sorted(TEAMS)])),
                    preferred_site=draw(st.sampled_from([None, *SITES])),
                )
            )
        )


class _Forced:
    """A ``draw`` whose first call returns the operation already chosen."""

    def __init__(self, draw: Any, op: str) -> None:
        self._draw = draw
        self._op: str | None = op

    def __call__(self, strategy: Any) -> Any:
        if self._op is not None:
            op, self._op = self._op, None
            return op
        return self._draw(strategy)


def run_choices(data: st.DataObject, length: int) -> ChoiceRun:
    run = ChoiceRun(data.draw(rosters()))
    agents = sorted(run.policy.agents)
    # Most of the roster logs in first (available), so choices are among many.
    for aid in agents:
        if data.draw(st.integers(0, 3)) > 0:
            presence = data.draw(st.sampled_from([Presence.AVAILABLE] * 3 + [Presence.NOT_READY]))
            run.apply(AgentLoggedIn(aid, presence))
            run.now += data.draw(st.sampled_from([0.0, 1.0, 3.0]))
    for _ in range(length):
        run.step(data.draw)
    run.apply(TimerDue())
    return run


@given(st.data())
# No shrinking by default: a failure prints the run's last events at once instead of
# spending minutes (past the suite's per-test timeout) making the example smaller.
@settings(
    max_examples=80,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
def test_arriving_contact_goes_to_the_agent_the_rule_picks(data: st.DataObject) -> None:
    run_choices(data, 50)


@pytest.mark.slow
@pytest.mark.timeout(900)
@given(st.data())
@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow],
)
def test_arriving_contact_goes_to_the_agent_the_rule_picks_long(data: st.DataObject) -> None:
    run_choices(data, 200)
