"""What the fifth round of per-decision savings (#15 part 1) must keep: a completion's
drain offers nothing to an agent set not ready or wrapping up, and the next contact once
it is available again; an arriving contact offered straight to a free agent takes that
agent out of the available ones, so the next arrival goes to another; and the decisions
built without the class call are the same values, field for field, as those built with
it."""

from __future__ import annotations

from router.core import decisions as d
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
    PresenceChanged,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, Presence
from tests.builders import agent, engine, service


def _offers(out: list[d.Decision]) -> list[tuple[str, str]]:
    return [(x.contact_id, x.agent_id) for x in out if isinstance(x, d.Offered)]


def _arrive(cid: str) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.VOICE, "nurse"))


def test_a_completion_offers_nothing_to_an_agent_not_ready_then_the_next_when_ready() -> None:
    e = engine([service("nurse", "nursing")], [agent("a1", "x", {"nursing": 3})])
    e.apply(0, AgentLoggedIn("a1"))
    assert _offers(e.apply(1, _arrive("c1"))) == [("c1", "a1")]
    e.apply(2, OfferAccepted("c1", "a1"))
    e.apply(3, _arrive("c2"))  # waits: a1 is busy
    e.apply(4, PresenceChanged("a1", Presence.NOT_READY, "break"))
    assert _offers(e.apply(5, ContactCompleted("c1", "a1"))) == []
    assert _offers(e.apply(6, PresenceChanged("a1", Presence.AVAILABLE))) == [("c2", "a1")]


def test_a_completion_offers_nothing_during_wrap_up_and_the_next_after_it() -> None:
    e = engine([service("nurse", "nursing", wrapup_s=30.0)], [agent("a1", "x", {"nursing": 3})])
    e.apply(0, AgentLoggedIn("a1"))
    e.apply(1, _arrive("c1"))
    e.apply(2, OfferAccepted("c1", "a1"))
    e.apply(3, _arrive("c2"))
    assert _offers(e.apply(10, ContactCompleted("c1", "a1"))) == []
    assert _offers(e.apply(20, TimerDue())) == []  # still wrapping up
    assert _offers(e.apply(41, TimerDue())) == [("c2", "a1")]


def test_an_agent_offered_an_arrival_is_no_longer_available_to_the_next() -> None:
    e = engine(
        [service("nurse", "nursing")],
        [agent("a1", "x", {"nursing": 3}), agent("a2", "x", {"nursing": 3})],
    )
    e.apply(0, AgentLoggedIn("a1"))
    e.apply(1, AgentLoggedIn("a2"))
    assert _offers(e.apply(2, _arrive("c1"))) == [("c1", "a1")]  # idle the longest
    assert _offers(e.apply(3, _arrive("c2"))) == [("c2", "a2")]
    out = e.apply(4, _arrive("c3"))
    assert _offers(out) == []
    assert [type(x) for x in out] == [d.Queued]
    # a1 completes (accepted first): it takes the waiting contact, then is busy again.
    e.apply(5, OfferAccepted("c1", "a1"))
    assert _offers(e.apply(6, ContactCompleted("c1", "a1"))) == [("c3", "a1")]
    assert _offers(e.apply(7, _arrive("c4"))) == []


def test_decisions_built_without_the_class_call_equal_those_built_with_it() -> None:
    e = engine([service("nurse", "nursing")], [agent("a1", "x", {"nursing": 3})])
    e.apply(0, AgentLoggedIn("a1"))
    (offered,) = e.apply(1, _arrive("c1"))
    (queued,) = e.apply(2, _arrive("c2"))
    (assigned,) = e.apply(3, OfferAccepted("c1", "a1"))
    assert isinstance(offered, d.Offered)
    assert isinstance(queued, d.Queued)
    assert isinstance(assigned, d.Assigned)
    assert offered == d.Offered("c1", "a1", Channel.VOICE, 21.0, offered.trace)
    assert queued == d.Queued("c2", "nurse", queued.step, queued.due_at, queued.trace)
    assert assigned == d.Assigned("c1", "a1", "nurse", None, 1.0, assigned.due_at, Channel.VOICE)
    assert repr(offered).startswith("Offered(contact_id='c1', agent_id='a1'")
    assert e.contact("c2").service == "nurse"
