"""What the fourth round of per-decision savings (#15 part 1) must keep: offers share
their traces, yet each carries the candidates weighed for it; a contact's requirement
object is looked up by identity, yet the same object with another language (or an equal
object) gets the right requirement; that look-up is bounded and never in a snapshot;
timers at times before zero fire when due (a time's slot is its floor, not its
truncation); and an agent's place in the idle order counts the contacts it holds."""

from __future__ import annotations

import pickle

from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
    PresenceChanged,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, Presence, Step, StepKind
from router.core.partner_gates import _KEPT_BY_IDENTITY, base_rid
from skills import parse_requirement
from tests.builders import CATALOGUE, agent, engine, service


def _offers(out: list[d.Decision]) -> list[d.Offered]:
    return [x for x in out if isinstance(x, d.Offered)]


def test_shared_traces_carry_each_offers_own_candidate_count() -> None:
    # Three agents of three skill sets (three kinds): an arrival any of them can serve
    # weighs three heads, one only the dentist can serve weighs one.
    nurse = service("nurse", "nursing")
    e = engine(
        [nurse],
        [
            agent("a1", "x", {"nursing": 3}),
            agent("a2", "x", {"nursing": 3, "dental": 3}),
            agent("a3", "x", {"nursing": 3, "social": 3}),
            agent("a4", "x", {"nursing": 3, "dental": 3}),
        ],
    )
    for a in ("a1", "a2", "a3", "a4"):
        e.apply(0, AgentLoggedIn(a))
    dental = parse_requirement("dental", CATALOGUE)
    (first,) = _offers(e.apply(1, ContactArrived(ContactSpec("c1", Channel.VOICE, "nurse"))))
    (second,) = _offers(
        e.apply(2, ContactArrived(ContactSpec("c2", Channel.VOICE, "nurse", requirement=dental)))
    )
    (third,) = _offers(e.apply(3, ContactArrived(ContactSpec("c3", Channel.VOICE, "nurse"))))
    assert first.trace == d.Trace(first.trace.step, "longest_idle", 3)
    assert second.trace == d.Trace(second.trace.step, "longest_idle", 1)
    assert third.trace == d.Trace(third.trace.step, "longest_idle", 2)  # a1 and a2 taken


def test_a_requirement_seen_before_with_another_language_gets_its_own() -> None:
    nurse = service("nurse", "nursing")
    e = engine(
        [nurse],
        [agent("fi", "x", {"dental": 3}, languages="fi"), agent("sv", "x", {"dental": 3}, "sv")],
    )
    e.apply(0, AgentLoggedIn("fi"))
    e.apply(0, AgentLoggedIn("sv"))
    dental = parse_requirement("dental", CATALOGUE)
    twin = parse_requirement("dental", CATALOGUE)  # equal, another object
    got = []
    for i, (cid, req, lang) in enumerate(
        [("c1", dental, "sv"), ("c2", dental, "fi"), ("c3", twin, "sv")], start=1
    ):
        spec = ContactSpec(cid, Channel.VOICE, "nurse", requirement=req, language=lang)
        got += [(o.contact_id, o.agent_id) for o in _offers(e.apply(i, ContactArrived(spec)))]
        if got and got[-1][0] == cid:
            e.apply(i, OfferAccepted(cid, got[-1][1]))
            e.apply(i, ContactCompleted(cid, got[-1][1]))
    assert got == [("c1", "sv"), ("c2", "fi"), ("c3", "sv")]


def test_the_look_up_by_identity_is_bounded_and_not_in_a_snapshot() -> None:
    nurse = service("nurse", "nursing")
    e = engine([nurse], [agent("a1", "x", {"nursing": 3})])
    for i in range(_KEPT_BY_IDENTITY + 10):
        # A new object per contact, as requests parsed one by one give.
        req = parse_requirement("nursing", CATALOGUE)
        e.apply(i, ContactArrived(ContactSpec(f"c{i}", Channel.VOICE, "nurse", requirement=req)))
        assert sum(map(len, e._base_by_identity.values())) <= _KEPT_BY_IDENTITY
    restored: Engine = pickle.loads(pickle.dumps(e))
    assert restored._base_by_identity == {}
    assert "_base_by_identity" not in e.__getstate__()
    req = parse_requirement("nursing", CATALOGUE)
    spec = ContactSpec("late", Channel.VOICE, "nurse", requirement=req)
    assert isinstance(restored.apply(10**6, ContactArrived(spec))[-1], d.Queued)


def test_a_timer_due_before_zero_fires_when_its_time_has_come() -> None:
    # A contact whose deadline is -0.5 has missed it at -0.2. A slot key taken by
    # truncation (0, not -1) would leave the timer waiting until time 0.
    nurse = service("nurse", "nursing")
    e = engine([nurse], [agent("a1", "x", {"nursing": 3})])
    spec = ContactSpec("c1", Channel.VOICE, "nurse", due_at=-0.5)
    assert [type(x) for x in e.apply(-10, ContactArrived(spec))] == [d.Queued]
    assert e.next_timer_at() == -0.5
    assert e.apply(-0.2, TimerDue()) == [d.DeadlineMissed("c1", "nurse", -0.5)]


def test_an_agent_holding_a_contact_comes_after_an_idle_one_whatever_its_idle_time() -> None:
    # Two-chat agents: a2 became available earlier but holds a chat; a1 holds nothing.
    nurse = service("nurse", "nursing")
    e = engine(
        [nurse],
        [agent("a2", "x", {"nursing": 3}, chat=2), agent("a1", "x", {"nursing": 3}, chat=2)],
    )
    e.apply(0, AgentLoggedIn("a2"))
    (first,) = _offers(e.apply(1, ContactArrived(ContactSpec("c1", Channel.CHAT, "nurse"))))
    assert first.agent_id == "a2"
    e.apply(2, AgentLoggedIn("a1"))
    (second,) = _offers(e.apply(3, ContactArrived(ContactSpec("c2", Channel.CHAT, "nurse"))))
    assert second.agent_id == "a1"


def test_a_contact_waiting_only_at_its_site_is_found_by_an_agent_of_the_site() -> None:
    # The queue's only shelf is the site's: an agent's drain must look there too.
    nurse = service(
        "nurse", "nursing", steps=(Step(StepKind.OWN_SITE, 60.0), Step(StepKind.REGION))
    )
    e = engine([nurse], [agent("a1", "x", {"nursing": 3})])
    e.apply(0, AgentLoggedIn("a1", Presence.NOT_READY))  # logged in: the site step applies
    spec = ContactSpec("c1", Channel.VOICE, "nurse", preferred_site="x")
    assert [x.step for x in e.apply(1, ContactArrived(spec)) if isinstance(x, d.Queued)] == [
        StepKind.OWN_SITE
    ]
    assert [
        (o.contact_id, o.agent_id)
        for o in _offers(e.apply(2, PresenceChanged("a1", Presence.AVAILABLE)))
    ] == [("c1", "a1")]


def test_a_requirement_seen_before_with_another_authorisation_gets_its_own() -> None:
    e = engine([service("nurse", "nursing")], [agent("a1", "x", {"dental": 3})])
    dental = parse_requirement("dental", CATALOGUE)
    nurse = e._services["nurse"]
    for auth in (None, "omaolo", "omaolo", None, "omaolo"):
        spec = ContactSpec(
            "c", Channel.VOICE, "nurse", requirement=dental, language="fi", authorisation=auth
        )
        assert base_rid(e, spec, nurse) == e._reqs.contact_base(dental, "fi", auth)
    assert e._reqs.contact_base(dental, "fi", None) != e._reqs.contact_base(dental, "fi", "omaolo")
