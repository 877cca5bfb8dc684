"""Regression tests for defects found in review of the routing core."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from router.core.errors import Conflict, InvalidEvent
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    ContactMoved,
    OfferAccepted,
    PresenceChanged,
    ServiceUpdated,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, Presence, Step, StepKind, UrgencyClass
from tests.builders import Clock, agent, engine, service


def call(cid: str, svc: str = "nurse", **kw: object) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.VOICE, svc, **kw))  # type: ignore[arg-type]


def test_a_reused_contact_id_does_not_inherit_the_old_contacts_timers() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing", offer_timeout_s=20)], [agent("a1", "s1", {"nursing": 1})]
        )
    )
    clock.at(0, AgentLoggedIn("a1"), call("c1"))
    clock.at(1, OfferAccepted("c1", "a1"), ContactCompleted("c1", "a1"))
    assert clock.at(10, call("c1")) == [("offer", "c1", "a1")]  # expires at 30, not 20
    clock.advance_to(29)
    assert [e for t, e in clock.log if t > 10] == []
    clock.advance_to(30)
    assert next(e for t, e in clock.log if t > 10) == ("requeued", "c1", "a1", "timeout")


def test_service_updates_never_repeat_warnings_or_missed_deadlines() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing", warn_fraction=0.2)], [agent("a1", "s1", {"nursing": 1})]
        )
    )
    clock.at(0, call("c1", urgency="P1"))  # due 600, warning at 480
    clock.at(10, ServiceUpdated(service("nurse", "nursing", warn_fraction=0.2)))
    clock.advance_to(700)
    clock.at(701, ServiceUpdated(service("nurse", "nursing", warn_fraction=0.2)))
    clock.advance_to(2000)
    assert [e for _, e in clock.log] == [
        ("queued", "c1", "region"),
        ("warning", "c1"),
        ("missed", "c1"),
    ]


def test_a_contact_returned_after_its_step_ran_out_while_assigned_widens_at_once() -> None:
    steps = [Step(StepKind.OWN_SITE, 60), Step(StepKind.REGION)]
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [
                agent("a1", "s1", {"nursing": 1}),
                agent("a2", "s1", {"nursing": 1}),
                agent("b1", "s2", {"nursing": 1}),
            ],
        )
    )
    clock.at(
        0,
        AgentLoggedIn("a1"),
        AgentLoggedIn("a2", Presence.NOT_READY),
        call("c1", preferred_site="s1"),
    )
    clock.at(1, OfferAccepted("c1", "a1"))
    clock.at(100, AgentLoggedIn("b1"))
    assert clock.at(110, AgentLoggedOut("a1", force=True)) == [
        ("requeued", "c1", "a1", "agent_logged_out"),
        ("widened", "c1", "region"),
        ("offer", "c1", "b1"),
    ]


def test_after_overflow_the_new_services_full_requirement_applies() -> None:
    clock = Clock(
        engine(
            [
                service(
                    "A",
                    "nursing",
                    [
                        Step(StepKind.RELAXED, 10, relax_levels=2),
                        Step(StepKind.OVERFLOW, overflow_to="B"),
                    ],
                ),
                service("B", "dental>=3", [Step(StepKind.OWN_SITE, 60), Step(StepKind.REGION)]),
            ],
            [agent("weak", "s1", {"dental": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("weak"), call("c1", svc="A"))
    clock.advance_to(20)
    view = clock.engine.contact("c1")
    # B's own part is not relaxed by A's step; A's reach, as relaxed there, is kept
    # besides it (an overflow never narrows who may take a contact).
    assert (view.service, view.step, view.requirement) == (
        "B",
        StepKind.REGION,
        "dental>=3 | nursing",
    )
    assert ("offer", "c1", "weak") not in [e for _, e in clock.log]


def test_bulk_reroutes_go_earliest_due_first() -> None:
    clock = Clock(engine([service("nurse", "nursing>=3")], [agent("a1", "s1", {"nursing": 1})]))
    clock.at(0, AgentLoggedIn("a1"), call("late", urgency="P5"))
    clock.at(1, call("urgent", urgency="P1"))
    assert clock.at(2, ServiceUpdated(service("nurse", "nursing>=1"))) == [
        ("offer", "urgent", "a1")
    ]

    steps = [Step(StepKind.OWN_SITE, 600), Step(StepKind.REGION)]
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [
                agent("s1a", "s1", {"nursing": 1}, "fi,sv"),
                agent("far", "s2", {"nursing": 1}, "fi,sv"),
            ],
        )
    )
    clock.at(
        0,
        AgentLoggedIn("s1a"),
        AgentLoggedIn("far", Presence.NOT_READY),
        call("hold", preferred_site="s1"),
    )
    clock.at(0, OfferAccepted("hold", "s1a"))
    clock.at(1, call("fi_late", urgency="P5", language="fi", preferred_site="s1"))
    clock.at(2, call("sv_urgent", urgency="P1", language="sv", preferred_site="s1"))
    clock.at(3, PresenceChanged("far", Presence.AVAILABLE))
    out = clock.at(4, AgentLoggedOut("s1a", force=True))
    assert ("offer", "sv_urgent", "far") in out
    assert ("offer", "fi_late", "far") not in out


def test_a_service_update_keeps_untouched_contacts_at_their_step_and_timer() -> None:
    steps = [Step(StepKind.OWN_SITE, 60), Step(StepKind.REGION)]
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [agent("a", "s1", {"nursing": 1}), agent("b", "s2", {"nursing": 1})],
        )
    )
    clock.at(
        0,
        AgentLoggedIn("a", Presence.NOT_READY),
        AgentLoggedIn("b", Presence.NOT_READY),
        call("c1", preferred_site="s1"),
    )
    for t in (20, 40):
        assert clock.at(t, ServiceUpdated(service("nurse", "nursing", steps, wrapup_s=t))) == []
    clock.advance_to(61)
    assert clock.log == [(0.0, ("queued", "c1", "own_site")), (60.0, ("widened", "c1", "region"))]


def test_moved_and_overflowed_contacts_keep_their_due_time_through_service_updates() -> None:
    clock = Clock(
        engine(
            [service("A", "nursing"), service("B", "dental")], [agent("a", "s1", {"nursing": 1})]
        )
    )
    clock.at(0, call("c1", svc="A", urgency="P1"))
    clock.at(1, ContactMoved("c1", "B"))
    flipped = service(
        "B",
        "dental",
        urgencies={"P5": UrgencyClass("P5", 9)},
        default_urgency="P5",
    )
    clock.at(2, ServiceUpdated(flipped))
    assert clock.engine.contact("c1").due_at == 600.0


def test_refusals_are_routing_errors_not_value_errors() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a", "s1", {"nursing": 1})]))
    with pytest.raises(InvalidEvent, match=r"proficiency must be 1\.\.5"):
        clock.at(0, AgentUpdated(agent("a", "s1", {"nursing": 9})))
    with pytest.raises(InvalidEvent, match="unknown skill"):
        clock.at(0, AgentUpdated(agent("a", "s1", {"surgery": 2})))
    with pytest.raises(InvalidEvent, match="unknown event type"):
        clock.engine.apply(0, object())  # type: ignore[arg-type]


def test_invalid_live_service_settings_are_refused_whole() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing"), service("B", "dental")],
            [agent("a", "s1", {"nursing": 1})],
        )
    )
    with pytest.raises(InvalidEvent, match="offer_timeout_s must be above 0"):
        clock.at(0, ServiceUpdated(service("nurse", "nursing", offer_timeout_s=0)))
    with pytest.raises(InvalidEvent, match="needs a region, relaxed or overflow step"):
        clock.at(0, ServiceUpdated(service("nurse", "nursing", [Step(StepKind.OWN_SITE, 30)])))
    with pytest.raises(InvalidEvent, match="step 0 \\(own_site\\) needs a duration"):
        clock.at(
            0,
            ServiceUpdated(
                service("nurse", "nursing", [Step(StepKind.OWN_SITE), Step(StepKind.REGION)])
            ),
        )
    with pytest.raises(InvalidEvent, match="overflows to 'nurse', not another service"):
        clock.at(
            0,
            ServiceUpdated(
                service(
                    "nurse",
                    "nursing",
                    [Step(StepKind.REGION, 5), Step(StepKind.OVERFLOW, overflow_to="nurse")],
                )
            ),
        )
    clock.at(0, call("c1", urgency="P1"))
    narrowed = service(
        "nurse",
        "nursing",
        urgencies={"P5": UrgencyClass("P5", 60)},
    )
    with pytest.raises(Conflict, match="urgency class\\(es\\) P1"):
        clock.at(0, ServiceUpdated(narrowed))


def test_estimates_count_only_agents_who_could_take_this_channel_and_step() -> None:
    steps = [Step(StepKind.OWN_AGENT, 600), Step(StepKind.REGION)]
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [agent("mine", "s1", {"nursing": 1}), agent("chatter", "s1", {"nursing": 1}, chat=3)],
        )
    )
    # Both serving (not ready ones are no servers at all): "mine" busy with c0, the
    # chat-only agent free.
    clock.at(0, AgentLoggedIn("mine"), AgentLoggedIn("chatter"), call("c0"))
    clock.at(0, OfferAccepted("c0", "mine"))
    clock.at(1, call("c1", preferred_agent="mine"), call("c2"))
    own = clock.engine.estimate("c1", 300)
    assert (own.position, own.servers, own.known) == (1, 1.0, True)
    region = clock.engine.estimate("c2", 300)
    assert region.servers == 1.0  # the chat-only agent cannot take a call
    clock.at(2, ContactCancelled("c1"), TimerDue())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_times_that_are_not_finite_are_refused_and_change_nothing(bad: float) -> None:
    # The queue orders by due time, so a NaN or infinite time would have no place in it.
    e = engine([service("nurse", "nursing")], [agent("a1", "s1", {"nursing": 1})])
    e.apply(5.0, call("c0"))
    for field in ("due_at", "arrived_at", "not_before"):
        with pytest.raises(InvalidEvent, match=f"{field} must be a finite time"):
            times: dict[str, Any] = {field: bad}
            e.apply(6.0, ContactArrived(replace(call("c1").contact, **times)))
    with pytest.raises(InvalidEvent, match="must be a finite number"):
        e.apply(bad, call("c2"))
    assert [c.id for c in e.waiting()] == ["c0"]
    assert e.now == 6.0
    e.apply(7.0, AgentLoggedIn("a1"))
    assert e.contact("c0").agent_id == "a1"
