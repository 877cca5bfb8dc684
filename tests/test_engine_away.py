"""A contact whose person has gone (a chat customer's connection closed) is abandoned
after its grace period unless they come back or an agent has it: a timer on the
region's clock, the same on every instance and in virtual time."""

from __future__ import annotations

import pytest

from router.core.errors import InvalidEvent
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    ContactArrived,
    CustomerAway,
    CustomerBack,
    OfferAccepted,
)
from router.core.model import Channel, ContactSpec
from tests.builders import Clock, agent, engine, service


def clock() -> Clock:
    nurses = [agent("a", "x", {"nursing": 2}, chat=2)]
    return Clock(engine([service("nurse", "nursing")], nurses))


def chat(cid: str) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.CHAT, "nurse"))


def test_a_waiting_chat_whose_customer_went_is_abandoned_after_the_grace() -> None:
    c = clock()
    c.at(0, chat("k"), CustomerAway("k", 60.0))
    assert c.engine.contact("k").customer_away
    c.advance_to(59.0)
    assert c.engine.contact("k").state.value == "waiting"
    c.advance_to(60.0)
    assert c.log[-1] == (60.0, ("closed", "k", "abandoned"))


def test_coming_back_cancels_the_grace_and_going_again_starts_it_anew() -> None:
    c = clock()
    c.at(0, chat("k"), CustomerAway("k", 60.0))
    c.at(30, CustomerBack("k"))
    assert not c.engine.contact("k").customer_away
    c.advance_to(200.0)
    assert c.engine.contact("k").state.value == "waiting"
    c.at(200, CustomerAway("k", 60.0))
    c.advance_to(259.0)
    assert c.engine.contact("k").state.value == "waiting"
    c.advance_to(260.0)
    assert ("closed", "k", "abandoned") in [x for _, x in c.log]


def test_with_an_agent_it_is_kept_and_the_grace_starts_when_it_leaves_the_agents_hands() -> None:
    c = clock()
    c.at(0, chat("k"), AgentLoggedIn("a"))
    c.at(1, OfferAccepted("k", "a"), CustomerAway("k", 60.0))
    c.advance_to(1000.0)
    assert c.engine.contact("k").state.value == "assigned"  # the agent may write back
    # The agent logs out with it in hand: back in the queue, and 60 s from then it goes.
    c.at(1000, AgentLoggedOut("a", force=True))
    c.advance_to(1059.0)
    assert c.engine.contact("k").state.value == "waiting"
    c.advance_to(1060.0)
    assert c.log[-1] == (1060.0, ("closed", "k", "abandoned"))


def test_an_offer_made_while_away_is_withdrawn_when_the_grace_ends() -> None:
    c = clock()
    c.at(0, chat("k"), CustomerAway("k", 20.0))
    c.at(10, AgentLoggedIn("a"))  # offered, not yet accepted (the offer lasts 30 s)
    assert c.engine.contact("k").state.value == "offered"
    c.advance_to(20.0)
    assert [x for t, x in c.log if t == 20.0][-2:] == [
        ("withdrawn", "k", "a", "abandoned"),
        ("closed", "k", "abandoned"),
    ]


def test_a_zero_grace_abandons_at_once_and_a_bad_one_is_refused() -> None:
    c = clock()
    c.at(0, chat("k"), chat("j"))
    assert c.at(1, CustomerAway("k", 0.0)) == [("closed", "k", "abandoned")]
    with pytest.raises(InvalidEvent):
        c.at(2, CustomerAway("j", -1.0))
    with pytest.raises(InvalidEvent):
        c.at(2, CustomerAway("j", float("inf")))
    assert not c.engine.contact("j").customer_away


def test_a_late_report_about_an_older_connection_is_ignored() -> None:
    # Redis mode: the customer resumed on another instance (connection 2) before the
    # first instance's report that connection 1 went reached the log.
    c = clock()
    c.at(0, chat("k"))
    c.at(5, CustomerBack("k", epoch=2), CustomerAway("k", 60.0, epoch=1))
    assert not c.engine.contact("k").customer_away
    c.advance_to(1000.0)
    assert c.engine.contact("k").state.value == "waiting"
    c.at(1000, CustomerAway("k", 60.0, epoch=2))  # the resumed connection goes: counted
    c.advance_to(1060.0)
    assert c.log[-1] == (1060.0, ("closed", "k", "abandoned"))
