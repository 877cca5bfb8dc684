"""Callbacks in the engine: a caller who turns into a callback keeps its place; attempts
follow the service's policy; a scheduled callback is not offered before its window;
linked contacts close as merged."""

from __future__ import annotations

import pytest

from router.core.errors import Conflict, InvalidEvent
from router.core.events import (
    AgentLoggedIn,
    CallbackAttempted,
    ChannelSwitched,
    ContactAbandoned,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    ContactMerged,
    OfferAccepted,
)
from router.core.model import Channel, ContactSpec, ContactState
from tests.builders import Clock, agent, engine, service


def arrive(cid: str, channel: str = "voice", **kw: object) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel(channel), "nurse", urgency="P3", **kw))  # type: ignore[arg-type]


def callback_desk(callback_attempts: int = 3, callback_retry_s: float = 900.0) -> Clock:
    """One nurse who takes calls and callbacks, one at a time."""
    eng = engine(
        [
            service(
                "nurse",
                "nursing>=1",
                callback_attempts=callback_attempts,
                callback_retry_s=callback_retry_s,
            )
        ],
        [agent("n1", "vaasa", {"nursing": 3}, voice=1, callback=1)],
    )
    return Clock(eng)


def test_callers_who_turn_into_callbacks_are_called_back_in_their_original_order() -> None:
    clock = callback_desk()
    e = clock.engine
    for i in range(4):
        clock.at(10.0 * i, arrive(f"c{i}"))
    # c0 and c2 ask to be called back; c1 and c3 hold on the line.
    assert clock.at(40, ChannelSwitched("c0", Channel.CALLBACK, {"number": "+358401111111"})) == [
        ("switched", "c0", "callback")
    ]
    clock.at(50, ChannelSwitched("c2", Channel.CALLBACK))
    assert [c.id for c in e.waiting()] == ["c0", "c1", "c2", "c3"]  # same places
    view = e.contact("c0")
    assert view.channel is Channel.CALLBACK and view.arrived_at == 0.0
    assert view.spec.attributes == {"number": "+358401111111"}
    # The nurse logs in and is offered them earliest due first, whatever the channel.
    offered = []
    t = 60.0
    out = clock.at(t, AgentLoggedIn("n1"))
    for _ in range(4):
        (offer,) = [x for x in out if x[0] == "offer"]
        cid = str(offer[1])
        offered.append(cid)
        t += 10
        clock.at(t, OfferAccepted(cid, "n1"))
        t += 10
        out = clock.at(t, ContactCompleted(cid, "n1"))
    assert offered == ["c0", "c1", "c2", "c3"]


def test_an_offered_caller_who_asks_for_a_callback_is_withdrawn_and_keeps_the_place() -> None:
    clock = callback_desk()
    clock.at(0, AgentLoggedIn("n1"))
    assert clock.at(1, arrive("c0")) == [("offer", "c0", "n1")]
    out = clock.at(2, ChannelSwitched("c0", Channel.CALLBACK))
    # Withdrawn from the phone, then offered again to the same free nurse as a callback.
    assert out == [
        ("withdrawn", "c0", "n1", "channel_switched"),
        ("switched", "c0", "callback"),
        ("offer", "c0", "n1"),
    ]
    assert clock.engine.contact("c0").channel is Channel.CALLBACK


def test_three_failed_attempts_close_the_contact_as_unreachable_never_silently() -> None:
    clock = callback_desk(callback_attempts=3, callback_retry_s=900.0)
    e = clock.engine
    clock.at(0, AgentLoggedIn("n1"))
    clock.at(1, arrive("cb", "callback", attributes={"number": "+358401111111"}))
    clock.at(2, OfferAccepted("cb", "n1"))
    assert clock.at(60, CallbackAttempted("cb", "n1", "no_answer")) == [
        ("attempt", "cb", 1, "no_answer", 960.0),
        ("scheduled", "cb", 960.0),
    ]
    view = e.contact("cb")
    assert view.state is ContactState.SCHEDULED and view.attempts == 1
    assert e.agent("n1").contacts == ()  # the nurse is free for others meanwhile
    # Not offered again before its time, then offered in its old place.
    assert clock.at(959) == []
    clock.advance_to(960)
    assert clock.log[-1] == (960.0, ("offer", "cb", "n1"))
    clock.at(970, OfferAccepted("cb", "n1"))
    assert clock.at(1000, CallbackAttempted("cb", "n1", "busy"))[0] == (
        "attempt", "cb", 2, "busy", 1900.0,
    )  # fmt: skip
    clock.advance_to(1900)
    clock.at(1910, OfferAccepted("cb", "n1"))
    assert clock.at(1950, CallbackAttempted("cb", "n1", "no_answer")) == [
        ("attempt", "cb", 3, "no_answer", None),
        ("closed", "cb", "unreachable"),
    ]
    with pytest.raises(Exception, match="no open contact"):
        e.contact("cb")


def test_a_reached_callback_goes_on_as_a_call_and_an_invalid_number_ends_at_once() -> None:
    clock = callback_desk()
    clock.at(0, AgentLoggedIn("n1"))
    clock.at(1, arrive("a", "callback"), arrive("b", "callback"))
    clock.at(2, OfferAccepted("a", "n1"))
    assert clock.at(3, CallbackAttempted("a", "n1", "reached")) == [
        ("attempt", "a", 1, "reached", None)
    ]
    assert clock.engine.contact("a").state is ContactState.ASSIGNED
    out = clock.at(100, ContactCompleted("a", "n1"))
    assert ("closed", "a", "resolved") in out and ("offer", "b", "n1") in out
    clock.at(101, OfferAccepted("b", "n1"))
    assert clock.at(102, CallbackAttempted("b", "n1", "invalid_number")) == [
        ("attempt", "b", 1, "invalid_number", None),
        ("closed", "b", "unreachable"),
    ]


def test_attempts_are_refused_for_anything_but_an_assigned_callback() -> None:
    clock = callback_desk()
    clock.at(0, AgentLoggedIn("n1"))
    clock.at(1, arrive("v"), arrive("cb", "callback"))
    with pytest.raises(Conflict, match="not assigned"):
        clock.engine.apply(2, CallbackAttempted("cb", "n1", "no_answer"))
    clock.at(2, OfferAccepted("v", "n1"))
    with pytest.raises(Conflict, match="not a callback"):
        clock.engine.apply(3, CallbackAttempted("v", "n1", "no_answer"))
    clock.at(4, ContactCompleted("v", "n1"))
    clock.at(5, OfferAccepted("cb", "n1"))
    with pytest.raises(InvalidEvent, match="unknown result 'maybe'"):
        clock.engine.apply(6, CallbackAttempted("cb", "n1", "maybe"))
    assert clock.engine.contact("cb").attempts == 0  # refused: nothing changed


def test_a_scheduled_callback_is_not_offered_before_its_window_then_goes_first() -> None:
    clock = callback_desk()
    e = clock.engine
    clock.at(0, arrive("early"))  # waiting since 0, due at 3600
    out = clock.at(10, arrive("window", "callback", not_before=1800.0, due_at=1800.0))
    assert out == [("scheduled", "window", 1800.0)]
    assert e.contact("window").state is ContactState.SCHEDULED
    assert [c.id for c in e.waiting()] == ["early"]  # not in the queue yet
    clock.at(20, AgentLoggedIn("n1"), OfferAccepted("early", "n1"))
    clock.advance_to(1800)
    assert e.contact("window").state is ContactState.WAITING
    clock.at(1801, arrive("later"))  # due 5401
    clock.at(1802, ContactCompleted("early", "n1"))
    assert clock.log[-1] == (1802.0, ("offer", "window", "n1"))
    # Due the moment its window opens: no deadline alarms for it.
    assert not [x for _, x in clock.log if x[0] in ("warning", "missed") and x[1] == "window"]


def test_a_scheduled_contact_can_be_cancelled_and_merged_contacts_close_as_merged() -> None:
    clock = callback_desk()
    clock.at(0, arrive("w", "callback", not_before=600.0))
    # A callback's caller hanging up closes nothing; the caller's cancellation does.
    assert clock.at(1, ContactAbandoned("w")) == []
    assert clock.at(1, ContactCancelled("w")) == [("closed", "w", "cancelled")]
    clock.at(2, arrive("p1"), arrive("p2", "workitem"))
    assert clock.at(3, ContactMerged("p2", into="p1")) == [("closed", "p2", "merged")]
    with pytest.raises(InvalidEvent, match="itself"):
        clock.engine.apply(4, ContactMerged("p1", into="p1"))
    clock.at(5, AgentLoggedIn("n1"), OfferAccepted("p1", "n1"))
    clock.at(6, arrive("p3"))
    with pytest.raises(Conflict, match="assigned"):
        clock.engine.apply(7, ContactMerged("p1", into="p3"))


def test_a_caller_who_turned_into_a_callback_and_hung_up_keeps_the_place_and_attempts() -> None:
    """Issue 11.2: the hang-up after choosing a callback is expected; the callback goes
    on, in its place, through its attempts, whatever state it is in when it comes."""
    clock = callback_desk(callback_attempts=2, callback_retry_s=600.0)
    e = clock.engine
    clock.at(0, arrive("c0"), arrive("c1"))
    clock.at(10, ChannelSwitched("c0", Channel.CALLBACK, {"number": "+358401111111"}))
    assert clock.at(11, ContactAbandoned("c0")) == []  # waiting: stays, in its place
    assert [c.id for c in e.waiting()] == ["c0", "c1"]
    assert clock.at(12, AgentLoggedIn("n1")) == [("offer", "c0", "n1")]
    assert clock.at(13, ContactAbandoned("c0")) == []  # on offer: the offer stands
    clock.at(14, OfferAccepted("c0", "n1"))
    assert clock.at(15, ContactAbandoned("c0")) == []  # with the agent: no conflict
    out = clock.at(16, CallbackAttempted("c0", "n1", "no_answer"))
    assert ("attempt", "c0", 1, "no_answer") in [x[:4] for x in out]
    assert clock.at(17, ContactAbandoned("c0")) == []  # held for the next attempt
    assert e.contact("c0").state is ContactState.SCHEDULED
    # The voice call behind it still abandons as before.
    clock.at(18, OfferAccepted("c1", "n1"))
    clock.at(19, ContactCompleted("c1", "n1"))
    clock.advance_to(616)
    clock.at(617, OfferAccepted("c0", "n1"))
    out = clock.at(618, CallbackAttempted("c0", "n1", "busy"))
    assert out[-1][:3] == ("closed", "c0", "unreachable")
