"""The liveness rule in the engine: a sighting (``AgentsSeen``) counts for its time, and an
available agent not seen again by then is set not ready, as a timer on the region's
clock (so every instance, and virtual time, judge it the same)."""

from __future__ import annotations

import pickle

import pytest

from router.core.errors import InvalidEvent
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentsSeen,
    ContactArrived,
    OfferAccepted,
    PresenceChanged,
)
from router.core.model import Channel, ContactSpec, Presence
from tests.builders import Clock, agent, engine, service


def clock() -> Clock:
    nurses = [agent(a, "x", {"nursing": 2}) for a in ("a", "b")]
    return Clock(engine([service("nurse", "nursing")], nurses))


def presence(c: Clock, agent_id: str) -> tuple[str, str]:
    view = c.engine.agent(agent_id)
    return view.presence.value, view.reason


def test_an_agent_not_seen_again_within_its_sighting_is_set_not_ready_and_keeps_its_work() -> None:
    c = clock()
    c.at(0, AgentLoggedIn("a"), AgentLoggedIn("b"), AgentsSeen(("a", "b"), 30.0))
    c.at(1, ContactArrived(ContactSpec("k", Channel.VOICE, "nurse")), OfferAccepted("k", "a"))
    c.at(20, AgentsSeen(("b",), 30.0))  # b's browser is still there; a's went away
    c.advance_to(29.9)
    assert presence(c, "a") == ("available", "")
    c.advance_to(30.0)
    assert c.log[-1] == (30.0, ("presence", "a", "not_ready", "no_heartbeat"))
    assert presence(c, "a") == ("not_ready", "no_heartbeat")
    assert c.engine.agent("a").contacts == ("k",)  # the call in hand is kept
    assert c.engine.contact("k").state.value == "assigned"
    c.advance_to(49.9)
    assert presence(c, "b") == ("available", "")
    c.advance_to(50.0)
    assert presence(c, "b") == ("not_ready", "no_heartbeat")


def test_every_sighting_moves_the_time_on_with_one_timer_per_agent() -> None:
    c = clock()
    c.at(0, AgentLoggedIn("a"))
    for t in range(0, 100, 10):
        c.at(float(t), AgentsSeen(("a",), 30.0))
    assert c.engine.seen_until("a") == 120.0
    # timers armed: the first sighting's and, as each fired early, one re-arm
    assert len(c.engine._timers) <= 2
    c.advance_to(119.0)
    assert presence(c, "a") == ("available", "")
    c.advance_to(121.0)
    assert presence(c, "a") == ("not_ready", "no_heartbeat")


def test_an_agent_never_reported_or_not_available_is_not_judged() -> None:
    c = clock()
    c.at(0, AgentLoggedIn("a"), AgentLoggedIn("b"), AgentsSeen(("b",), 30.0))
    c.at(5, PresenceChanged("b", Presence.NOT_READY, "lunch"))
    c.advance_to(1000.0)
    assert presence(c, "a") == ("available", "")  # never reported: simulations, tests
    assert presence(c, "b") == ("not_ready", "lunch")  # its own reason stays
    assert not [x for _, x in c.log if x[0] == "presence"]
    # Back from lunch long after the sighting ran out: one sighting's time from now.
    c.at(2000.0, PresenceChanged("b", Presence.AVAILABLE))
    assert c.engine.seen_until("b") == 2030.0
    c.advance_to(2030.0)
    assert presence(c, "b") == ("not_ready", "no_heartbeat")


def test_logging_out_forgets_the_sighting_and_unknown_or_logged_out_agents_are_passed_over() -> (
    None
):
    c = clock()
    c.at(0, AgentLoggedIn("a"), AgentsSeen(("a",), 30.0), AgentLoggedOut("a"))
    assert c.engine.seen_until("a") is None
    c.at(1, AgentsSeen(("a", "gone-from-roster"), 30.0))  # logged out: nothing kept
    assert c.engine.seen_until("a") is None
    c.at(2, AgentLoggedIn("a"))
    c.advance_to(100.0)
    assert presence(c, "a") == ("available", "")
    with pytest.raises(InvalidEvent):
        c.at(101, AgentsSeen(("a",), 0.0))
    with pytest.raises(InvalidEvent):
        c.at(101, AgentsSeen(("a",), float("nan")))


def test_the_rule_travels_in_a_snapshot_and_an_older_snapshot_starts_without_sightings() -> None:
    c = clock()
    c.at(0, AgentLoggedIn("a"), AgentsSeen(("a",), 30.0))
    copy = Clock(pickle.loads(pickle.dumps(c.engine)))
    copy.advance_to(30.0)
    assert presence(copy, "a") == ("not_ready", "no_heartbeat")
    # A snapshot written before the rule existed has no liveness state at all.
    state = c.engine.__dict__.copy()
    del state["_seen"], state["_live_timer"]
    older = type(c.engine).__new__(type(c.engine))
    older.__setstate__(state)
    assert older.seen_until("a") is None


def test_an_open_ended_sighting_holds_until_a_later_one_replaces_it() -> None:
    c = clock()
    # A websocket on the only instance: present for good while it is open...
    c.at(0, AgentLoggedIn("a"), AgentsSeen(("a",), 30.0), AgentsSeen(("a",), float("inf")))
    c.advance_to(100_000.0)
    assert presence(c, "a") == ("available", "")
    # ...and when it closes the instance reports the timeout from then.
    c.at(100_000.0, AgentsSeen(("a",), 30.0))
    c.advance_to(100_029.0)
    assert presence(c, "a") == ("available", "")
    c.advance_to(100_030.0)
    assert presence(c, "a") == ("not_ready", "no_heartbeat")
