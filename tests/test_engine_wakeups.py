"""The driver is woken for timers that can still do something, never for a closed
contact's: a warning or an offer's expiry left behind by a contact that has gone."""

from __future__ import annotations

from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    OfferAccepted,
)
from router.core.model import Channel, ContactSpec
from tests.builders import Clock, agent, engine, service


def _clock() -> Clock:
    return Clock(engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1})]))


def arrive(cid: str, urgency: str = "P1") -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.VOICE, "nurse", urgency=urgency))


def test_a_completed_contact_leaves_nothing_to_wake_the_driver_for() -> None:
    clock = _clock()
    clock.at(0, AgentLoggedIn("a"))
    assert clock.at(1, arrive("c"))[0][:3] == ("offer", "c", "a")
    clock.at(2, OfferAccepted("c", "a"), ContactCompleted("c", "a"))
    # Its offer's expiry (at 21) and its escalation warning (before 601) are dead.
    assert clock.engine.next_timer_at() is None


def test_a_cancelled_contact_does_not_hide_a_waiting_ones_warning() -> None:
    clock = _clock()
    clock.at(0, arrive("early"), arrive("late", urgency="P3"))
    clock.at(5, ContactCancelled("early"))
    late = clock.engine.contact("late")
    # The cancelled contact's warning came first; the next wake-up is the live one's.
    due = clock.engine.next_timer_at()
    assert due is not None and 600 < due < late.due_at
    clock.advance_to(due)
    assert clock.log[-1] == (due, ("warning", "late"))
