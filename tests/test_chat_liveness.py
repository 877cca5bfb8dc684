"""Chat customers' liveness in the engine: a sighting (``CustomersSeen``) counts for its
time, and a chat whose person is not seen again by then is handled as if the person had
gone (``CustomerAway``) at that moment: abandoned after the grace unless they come back or
an agent has it. A timer on the region's clock, so every instance and virtual time judge
it the same; this is what ends a chat whose customer's socket died with its instance."""

from __future__ import annotations

import pickle

import pytest

from router.core.errors import InvalidEvent
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    ContactArrived,
    ContactCancelled,
    CustomerAway,
    CustomerBack,
    CustomersSeen,
    OfferAccepted,
)
from router.core.model import Channel, ContactSpec
from router.store.codec import decode, encode
from tests.builders import Clock, agent, engine, service


def clock() -> Clock:
    nurses = [agent("a", "x", {"nursing": 2}, chat=2)]
    return Clock(engine([service("nurse", "nursing")], nurses))


def chat(cid: str, not_before: float | None = None) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.CHAT, "nurse", not_before=not_before))


def seen(*cids: str) -> CustomersSeen:
    return CustomersSeen(cids, 30.0, 60.0)


def state(c: Clock, cid: str) -> str:
    return c.engine.contact(cid).state.value


def closed(c: Clock) -> list[tuple[float, tuple[object, ...]]]:
    return [(t, x) for t, x in c.log if x[0] == "closed"]


def test_a_chat_not_seen_again_is_taken_as_gone_and_abandoned_after_the_grace() -> None:
    c = clock()
    c.at(0, chat("k"), chat("j"), seen("k", "j"))
    c.at(20, seen("j"))  # j's socket is still held somewhere; k's instance died
    c.advance_to(29.9)
    assert not c.engine.contact("k").customer_away
    c.advance_to(30.0)
    assert c.engine.contact("k").customer_away  # the away grace starts now
    assert not c.engine.contact("j").customer_away
    c.advance_to(89.9)
    assert state(c, "k") == "waiting"
    c.advance_to(90.0)
    assert closed(c) == [(90.0, ("closed", "k", "abandoned"))]
    c.advance_to(110.0)  # j's sighting ran out at 50: its grace ends at 110
    assert closed(c)[-1] == (110.0, ("closed", "j", "abandoned"))


def test_sighted_again_in_time_nothing_happens_with_one_timer_per_chat() -> None:
    c = clock()
    c.at(0, chat("k"))
    for t in range(0, 300, 10):
        c.at(float(t), seen("k"))
    # Timers: the chat's deadline and warning, plus one sighting timer re-armed as it
    # fired early; never one per sighting.
    assert len(c.engine._timers) <= 4
    c.advance_to(319.0)
    assert not c.engine.contact("k").customer_away
    assert state(c, "k") == "waiting"
    assert closed(c) == []


def test_a_customer_who_reconnects_within_the_grace_carries_on() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"))
    c.advance_to(30.0)
    assert c.engine.contact("k").customer_away
    # The customer resumes on another instance (a newer connection), which reports it.
    c.at(50, CustomerBack("k", epoch=2), seen("k"))
    assert not c.engine.contact("k").customer_away
    for t in range(60, 500, 10):
        c.at(float(t), seen("k"))
    assert state(c, "k") == "waiting"
    assert closed(c) == []


def test_a_chat_never_reported_is_never_judged() -> None:
    c = clock()
    c.at(0, chat("k"))
    c.advance_to(100_000.0)
    assert state(c, "k") == "waiting"
    assert not c.engine.contact("k").customer_away
    assert closed(c) == []


def test_seen_again_after_a_lapse_the_person_is_back() -> None:
    """An instance cut off from the store for longer than a sighting still holds the
    socket: its next report ends the away grace the lapse started."""
    c = clock()
    c.at(0, chat("k"), seen("k"))
    c.advance_to(30.0)
    assert c.engine.contact("k").customer_away
    c.at(70, seen("k"))
    assert not c.engine.contact("k").customer_away
    c.advance_to(99.0)  # reported no more: away again at 100, abandoned at 160
    assert state(c, "k") == "waiting"
    c.advance_to(159.9)
    assert state(c, "k") == "waiting"
    c.advance_to(160.0)
    assert closed(c) == [(160.0, ("closed", "k", "abandoned"))]


def test_a_stale_report_after_the_close_of_a_newer_connection_brings_nobody_back() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"))
    c.advance_to(30.0)  # lapsed: away, abandoned at 90 unless back
    c.at(40, CustomerAway("k", 60.0, epoch=1))  # the close, said late
    c.at(50, seen("k"))  # a report made before that close
    assert c.engine.contact("k").customer_away
    c.advance_to(90.0)
    assert closed(c) == [(90.0, ("closed", "k", "abandoned"))]


def test_a_socket_closed_normally_then_lapsing_keeps_the_grace_of_the_close() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"))
    c.at(10, CustomerAway("k", 60.0, epoch=1))  # the instance saw the socket close
    c.advance_to(69.9)  # the lapse at 30 starts no second grace
    assert state(c, "k") == "waiting"
    c.advance_to(70.0)
    assert closed(c) == [(70.0, ("closed", "k", "abandoned"))]


def test_a_newer_connection_back_before_the_lapse_is_still_judged_by_sightings() -> None:
    """Back on another instance after the old one's last report: the new instance's
    reports keep it; without them it lapses like any other."""
    c = clock()
    c.at(0, chat("k"), seen("k"))
    c.at(10, CustomerAway("k", 60.0, epoch=1), CustomerBack("k", epoch=2), seen("k"))
    c.advance_to(39.9)
    assert not c.engine.contact("k").customer_away
    c.advance_to(40.0)
    assert c.engine.contact("k").customer_away
    c.advance_to(100.0)
    assert closed(c) == [(100.0, ("closed", "k", "abandoned"))]


def test_with_an_agent_a_lapse_is_kept_until_the_chat_leaves_the_agents_hands() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"), AgentLoggedIn("a"))
    c.at(1, OfferAccepted("k", "a"))
    c.advance_to(1000.0)
    assert state(c, "k") == "assigned"  # the agent may still write back
    assert c.engine.contact("k").customer_away
    c.at(1000, AgentLoggedOut("a", force=True))
    c.advance_to(1059.0)
    assert state(c, "k") == "waiting"
    c.advance_to(1060.0)
    assert closed(c) == [(1060.0, ("closed", "k", "abandoned"))]


def gone(c: Clock) -> list[tuple[float, tuple[object, ...]]]:
    return [(t, x) for t, x in c.log if x[0] == "gone"]


def test_a_lapse_says_the_customer_is_gone_once_naming_the_agent_who_has_the_chat() -> None:
    """Nobody else tells the agent: the socket that would have said so died unheard."""
    c = clock()
    c.at(0, chat("k"), chat("j"), seen("k", "j"), AgentLoggedIn("a"))
    c.at(1, OfferAccepted("k", "a"))
    c.at(20, seen("j"))
    c.advance_to(29.9)
    assert gone(c) == []
    c.advance_to(1000.0)  # each lapse once, however often the timer looks again
    assert gone(c) == [(30.0, ("gone", "k", "a")), (50.0, ("gone", "j", None))]


def test_a_customer_back_after_a_lapse_and_lapsing_again_is_gone_again() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"), AgentLoggedIn("a"))
    c.at(1, OfferAccepted("k", "a"))
    c.at(70, seen("k"))  # back after the lapse at 30
    c.advance_to(200.0)
    assert gone(c) == [(30.0, ("gone", "k", "a")), (100.0, ("gone", "k", "a"))]


def test_a_customer_seen_again_after_a_lapse_is_said_back_once_to_the_agent_told() -> None:
    """Whoever heard ``gone`` hears ``seen_again`` when a late report brings the person
    back; a sighting of someone who never lapsed says nothing."""
    c = clock()
    c.at(0, chat("k"), chat("j"), seen("k", "j"), AgentLoggedIn("a"))
    c.at(1, OfferAccepted("k", "a"))
    c.at(20, seen("j"))
    c.at(40, seen("k"), seen("j"))  # k lapsed at 30; j is still in time
    c.at(41, seen("k"))
    assert [(t, x) for t, x in c.log if x[0] == "seen_again"] == [(40.0, ("seen_again", "k", "a"))]


def test_a_customer_whose_socket_closed_is_not_said_gone_again_at_the_lapse() -> None:
    """The close told the agent already (``chat.customer_left``)."""
    c = clock()
    c.at(0, chat("k"), seen("k"), AgentLoggedIn("a"))
    c.at(1, OfferAccepted("k", "a"))
    c.at(10, CustomerAway("k", 60.0, epoch=1))
    c.advance_to(1000.0)
    assert gone(c) == []
    assert c.engine.contact("k").customer_away


def test_no_grace_abandons_at_the_lapse_with_no_gone_besides() -> None:
    c = clock()
    c.at(
        0,
        chat("k"),
        CustomersSeen(("k",), 5.0, 0.0),
        ContactArrived(ContactSpec("cb", Channel.CALLBACK, "nurse")),
        seen("cb"),
    )
    c.advance_to(1000.0)
    assert gone(c) == []  # the closed chat's Closed says it; a callback's caller never goes


def test_a_scheduled_chat_whose_customer_lapsed_is_abandoned_too() -> None:
    c = clock()
    c.at(0, chat("k", not_before=3600.0), seen("k"))
    assert state(c, "k") == "scheduled"
    c.advance_to(89.9)
    assert state(c, "k") == "scheduled"
    c.advance_to(90.0)
    assert closed(c) == [(90.0, ("closed", "k", "abandoned"))]


def test_no_grace_abandons_at_the_lapse() -> None:
    c = clock()
    c.at(0, chat("k"), CustomersSeen(("k",), 5.0, 0.0))
    c.advance_to(5.0)
    assert closed(c) == [(5.0, ("closed", "k", "abandoned"))]


def test_a_closed_chats_sighting_is_forgotten_and_never_judges_a_later_one() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"), seen("gone"))  # an unknown contact is passed over
    c.at(5, ContactCancelled("k"))
    c.at(10, chat("k"))  # the same id again (a caller's own ids): a new contact
    c.advance_to(10_000.0)
    assert state(c, "k") == "waiting"
    assert not c.engine.contact("k").customer_away
    assert c.engine._customers_seen == {}  # nothing kept for closed contacts


def test_a_callback_is_not_abandoned_for_its_callers_silence() -> None:
    c = clock()
    c.at(0, ContactArrived(ContactSpec("cb", Channel.CALLBACK, "nurse")), seen("cb"))
    c.advance_to(1000.0)
    assert state(c, "cb") == "waiting"


@pytest.mark.parametrize(
    ("valid", "grace"),
    [(0.0, 60.0), (-1.0, 60.0), (float("nan"), 60.0), (float("inf"), 60.0), (30.0, -1.0),
     (30.0, float("inf")), (30.0, float("nan"))],
)  # fmt: skip
def test_a_sighting_without_a_finite_time_or_grace_is_refused(valid: float, grace: float) -> None:
    c = clock()
    c.at(0, chat("k"))
    with pytest.raises(InvalidEvent):
        c.engine.apply(1.0, CustomersSeen(("k",), valid, grace))
    c.advance_to(10_000.0)
    assert state(c, "k") == "waiting"


def test_a_snapshot_keeps_the_sighting_and_one_from_before_the_rule_loads() -> None:
    c = clock()
    c.at(0, chat("k"), seen("k"))
    copy = Clock(pickle.loads(pickle.dumps(c.engine)))
    copy.now = c.now
    copy.advance_to(90.0)
    assert closed(copy) == [(90.0, ("closed", "k", "abandoned"))]
    # A snapshot written before this rule lacks its state: it loads with none.
    old = c.engine.__getstate__()
    del old["_customers_seen"], old["_customer_timer"]
    older = type(c.engine).__new__(type(c.engine))
    older.__setstate__(old)
    assert older._customers_seen == {}
    assert older.apply(5.0, seen("k")) == []


def test_the_sighting_goes_through_the_logs_codec() -> None:
    ev = CustomersSeen(("chat-1", "chat-2"), 30.0, 60.0)
    assert decode(encode([("i:1", 5.0, ev)])) == [("i:1", 5.0, ev)]
