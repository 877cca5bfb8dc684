"""Behaviour of the routing engine, one rule at a time, in virtual time."""

from __future__ import annotations

import dataclasses

import pytest

from router.core.errors import Conflict, InvalidEvent, StaleUpdate, UnknownAgent, UnknownContact
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    ContactMoved,
    ContactReclassified,
    ManualOffer,
    OfferAccepted,
    OfferDeclined,
    PresenceChanged,
    ServiceUpdated,
    WrapUpDone,
)
from router.core.model import (
    AgentChoice,
    AgentStatus,
    Channel,
    ContactSpec,
    Presence,
    Step,
    StepKind,
    UrgencyClass,
)
from tests.builders import CATALOGUE, Clock, agent, engine, service


def arrive(cid: str, channel: str = "voice", svc: str = "nurse", **kw: object) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel(channel), svc, **kw))  # type: ignore[arg-type]


def test_most_urgent_class_is_redirected_to_112_and_never_queued() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1})]))
    assert clock.at(0, arrive("c", urgency="P0")) == [
        ("redirected", "c", "112"),
        ("closed", "c", "redirected"),
    ]
    assert clock.engine.waiting() == []
    with pytest.raises(UnknownContact):
        clock.engine.contact("c")


def test_longest_idle_prefers_the_agent_waiting_longest() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing")],
            [agent(a, "x", {"nursing": 2}) for a in ("a", "b", "c")],
        )
    )
    clock.at(0, AgentLoggedIn("c"), AgentLoggedIn("a"), AgentLoggedIn("b"))
    offers = [clock.at(t, arrive(f"k{t}"))[0][2] for t in (1, 2, 3)]
    assert offers == ["c", "a", "b"]


def test_highest_proficiency_then_longest_idle() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing>=2", agent_choice=AgentChoice.HIGHEST_PROFICIENCY)],
            [
                agent("lo", "x", {"nursing": 2}),
                agent("hi1", "x", {"nursing": 4}),
                agent("hi2", "x", {"nursing": 4}),
            ],
        )
    )
    clock.at(0, AgentLoggedIn("lo"), AgentLoggedIn("hi2"), AgentLoggedIn("hi1"))
    assert [clock.at(t, arrive(f"k{t}"))[0][2] for t in (1, 2, 3)] == ["hi2", "hi1", "lo"]


def test_proficiency_counts_only_a_clause_the_agent_meets() -> None:
    # "nursing>=2 or dental>=4": "both" meets the first clause only (nursing 2) and its
    # dental 3, short of 4, counts for nothing; "nurse" meets it with nursing 3. Found by
    # the property test in tests/test_pool_choice.py, whose oracle had summed the levels
    # of a clause the agent did not meet.
    clock = Clock(
        engine(
            [
                service(
                    "nurse",
                    "nursing>=2 | dental>=4",
                    agent_choice=AgentChoice.HIGHEST_PROFICIENCY,
                )
            ],
            [agent("both", "x", {"nursing": 2, "dental": 3}), agent("nurse", "x", {"nursing": 3})],
        )
    )
    clock.at(0, AgentLoggedIn("both"), AgentLoggedIn("nurse"))
    assert [clock.at(t, arrive(f"k{t}"))[0][2] for t in (1, 2)] == ["nurse", "both"]


def test_least_occupied_spreads_chats() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing", agent_choice=AgentChoice.LEAST_OCCUPIED)],
            [agent("a", "x", {"nursing": 1}, chat=3), agent("b", "x", {"nursing": 1}, chat=3)],
        )
    )
    clock.at(0, AgentLoggedIn("a"), AgentLoggedIn("b"))
    got = [clock.at(t, arrive(f"k{t}", "chat"))[0][2] for t in range(1, 7)]
    assert got == ["a", "b", "a", "b", "a", "b"]
    assert clock.at(7, arrive("k7", "chat")) == [("queued", "k7", "region")]


def test_chat_capacity_and_a_call_blocks_new_chats() -> None:
    clock = Clock(
        engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1}, voice=1, chat=2)])
    )
    clock.at(0, AgentLoggedIn("a"))
    assert clock.at(1, arrive("ch1", "chat"), arrive("ch2", "chat"), arrive("ch3", "chat")) == [
        ("offer", "ch1", "a"),
        ("offer", "ch2", "a"),
        ("queued", "ch3", "region"),
    ]
    # Chats in hand do not block a call...
    assert clock.at(2, arrive("call", "voice")) == [("offer", "call", "a")]
    # ...but a call in hand blocks new chats, even when a chat slot frees up.
    clock.at(3, OfferAccepted("ch1", "a"), OfferAccepted("call", "a"))
    assert clock.at(4, ContactCompleted("ch1", "a")) == [("closed", "ch1", "resolved")]
    assert clock.engine.agent("a").status is AgentStatus.BUSY
    clock.at(5, OfferAccepted("ch2", "a"))
    assert clock.at(6, ContactCompleted("call", "a")) == [
        ("closed", "call", "resolved"),
        ("offer", "ch3", "a"),
    ]


def test_wrap_up_holds_new_offers_until_done_or_timer() -> None:
    clock = Clock(
        engine([service("nurse", "nursing", wrapup_s=30)], [agent("a", "x", {"nursing": 1})])
    )
    clock.at(0, AgentLoggedIn("a"), arrive("c1"), arrive("c2"))
    clock.at(1, OfferAccepted("c1", "a"))
    assert clock.at(10, ContactCompleted("c1", "a")) == [
        ("closed", "c1", "resolved"),
        ("wrapup", "a", 40.0),
    ]
    assert clock.engine.agent("a").status is AgentStatus.WRAP_UP
    clock.advance_to(39)
    assert clock.log[-1] == (10.0, ("wrapup", "a", 40.0))
    clock.advance_to(40)
    assert clock.log[-2:] == [(40.0, ("wrapup_end", "a")), (40.0, ("offer", "c2", "a"))]
    # Ending wrap-up early by hand.
    clock.at(41, OfferAccepted("c2", "a"), arrive("c3"))
    clock.at(42, ContactCompleted("c2", "a"))
    assert clock.at(43, WrapUpDone("a")) == [("wrapup_end", "a"), ("offer", "c3", "a")]


def test_offer_timeout_requeues_in_place_sets_not_ready_and_keeps_the_order() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing", offer_timeout_s=20, decline_cooldown_s=60)],
            [agent("a", "x", {"nursing": 1}), agent("b", "x", {"nursing": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("a"))
    assert clock.at(1, arrive("c1")) == [("offer", "c1", "a")]
    clock.at(2, arrive("c2"))
    clock.advance_to(21)
    assert clock.log[-2:] == [
        (21.0, ("requeued", "c1", "a", "timeout")),
        (21.0, ("presence", "a", "not_ready", "offer_timeout")),
    ]
    # c1 kept its place ahead of c2.
    assert [v.id for v in clock.engine.waiting()] == ["c1", "c2"]
    with pytest.raises(Conflict, match="no pending offer"):
        clock.at(22, OfferAccepted("c1", "a"))
    # A timeout is not a decline (timeout_cooldown_s defaults to 0): back from not-ready,
    # a is offered c1, the earliest due, not the later c2.
    assert clock.at(30, PresenceChanged("a", Presence.AVAILABLE)) == [("offer", "c1", "a")]


def test_a_timeout_cools_down_only_when_the_service_says_so() -> None:
    clock = Clock(
        engine(
            [
                service(
                    "nurse",
                    "nursing",
                    offer_timeout_s=20,
                    decline_cooldown_s=600,
                    timeout_cooldown_s=60,
                )
            ],
            [agent("a", "x", {"nursing": 1}), agent("b", "x", {"nursing": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("a"))
    assert clock.at(1, arrive("c1")) == [("offer", "c1", "a")]
    clock.at(2, arrive("c2"))
    clock.advance_to(21)
    assert (21.0, ("requeued", "c1", "a", "timeout")) in clock.log
    # Back from not-ready within the timeout's cool-down, a is offered c2, not c1 again.
    assert clock.at(30, PresenceChanged("a", Presence.AVAILABLE)) == [("offer", "c2", "a")]
    assert clock.at(31, OfferDeclined("c2", "a")) == [("requeued", "c2", "a", "declined")]
    # When the timeout's cool-down for c1 ends (t=81, not the decline's 600 s) a gets c1.
    clock.advance_to(81)
    assert clock.log[-1] == (81.0, ("offer", "c1", "a"))


def test_declined_offer_goes_to_the_next_agent_and_keeps_its_place() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing")],
            [agent("a", "x", {"nursing": 1}), agent("b", "x", {"nursing": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("a"), AgentLoggedIn("b"))
    clock.at(1, arrive("c1"), arrive("c2"))
    # b holds c2, so c1 waits. During its cool-down a is not offered c1 again, but does
    # get other work.
    assert clock.at(2, OfferDeclined("c1", "a")) == [("requeued", "c1", "a", "declined")]
    assert clock.at(2, arrive("c3")) == [("offer", "c3", "a")]
    assert [v.id for v in clock.engine.waiting()] == ["c1"]
    clock.at(3, OfferAccepted("c2", "b"))
    assert clock.at(4, ContactCompleted("c2", "b")) == [
        ("closed", "c2", "resolved"),
        ("offer", "c1", "b"),
    ]


def test_own_agent_then_team_then_site_then_region() -> None:
    steps = (
        Step(StepKind.OWN_AGENT, 30),
        Step(StepKind.OWN_TEAM, 30),
        Step(StepKind.OWN_SITE, 30),
        Step(StepKind.REGION),
    )
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [
                agent("mine", "s1", {"nursing": 1}, team="t1"),
                agent("mate", "s1", {"nursing": 1}, team="t1"),
                agent("site", "s1", {"nursing": 1}, team="t2"),
                agent("far", "s2", {"nursing": 1}, team="t3"),
            ],
        )
    )
    clock.at(0, *(AgentLoggedIn(a, Presence.NOT_READY) for a in ("mine", "mate", "site", "far")))
    clock.at(1, arrive("c", preferred_agent="mine", preferred_team="t1", preferred_site="s1"))
    # Agents outside the current ring are not offered the contact.
    assert clock.at(2, PresenceChanged("far", Presence.AVAILABLE)) == []
    assert clock.at(3, PresenceChanged("site", Presence.AVAILABLE)) == []
    assert clock.at(4, PresenceChanged("mate", Presence.AVAILABLE)) == []
    clock.advance_to(31)
    # At t=31 the team ring opens: mate (the team) takes it.
    assert clock.log[-2:] == [(31.0, ("widened", "c", "own_team")), (31.0, ("offer", "c", "mate"))]


def test_a_ring_nobody_logged_in_could_serve_is_skipped_at_once() -> None:
    steps = (Step(StepKind.OWN_AGENT, 300), Step(StepKind.OWN_SITE, 300), Step(StepKind.REGION))
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [agent("mine", "s1", {"nursing": 1}), agent("far", "s2", {"nursing": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("far", Presence.NOT_READY))
    # "mine" is offline and nobody at s1 is logged in: straight to the region.
    assert clock.at(1, arrive("c", preferred_agent="mine", preferred_site="s1")) == [
        ("queued", "c", "region")
    ]
    assert clock.engine.contact("c").step is StepKind.REGION


def test_contacts_waiting_for_an_agent_who_logs_out_widen_at_once() -> None:
    steps = (Step(StepKind.OWN_AGENT, 600), Step(StepKind.REGION))
    clock = Clock(
        engine(
            [service("nurse", "nursing", steps)],
            [agent("mine", "s1", {"nursing": 1}), agent("far", "s2", {"nursing": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("mine", Presence.NOT_READY), AgentLoggedIn("far", Presence.NOT_READY))
    assert clock.at(1, arrive("c", preferred_agent="mine")) == [("queued", "c", "own_agent")]
    assert clock.at(2, AgentLoggedOut("mine")) == [("widened", "c", "region")]


def test_relaxed_step_lowers_skill_but_never_language() -> None:
    steps = (Step(StepKind.REGION, 60), Step(StepKind.RELAXED, relax_levels=2))
    clock = Clock(
        engine(
            [service("nurse", "nursing>=4", steps)],
            [
                agent("fi2", "x", {"nursing": 2}, "fi"),
                agent("sv2", "x", {"nursing": 2}, "sv"),
                agent("sv5", "x", {"nursing": 5}, "sv"),
            ],
        )
    )
    # sv5 is logged in (on a break), so the region step can be served and is not skipped.
    clock.at(0, AgentLoggedIn("fi2"), AgentLoggedIn("sv5", Presence.NOT_READY))
    assert clock.at(1, arrive("c", language="sv")) == [("queued", "c", "region")]
    clock.advance_to(61)
    assert clock.log[-1] == (61.0, ("widened", "c", "relaxed"))
    assert clock.engine.contact("c").requirement == "lang:sv & nursing>=2"
    # fi2 now meets the skill level but not the language; sv2 does.
    assert clock.at(62, AgentLoggedIn("sv2")) == [("offer", "c", "sv2")]


def test_overflow_to_another_service_keeps_the_due_time() -> None:
    steps = (Step(StepKind.REGION, 120), Step(StepKind.OVERFLOW, overflow_to="nurse"))
    clock = Clock(
        engine(
            [service("mental", "social>=3", steps), service("nurse", "nursing")],
            [agent("n", "x", {"nursing": 2}), agent("m", "x", {"social": 4})],
        )
    )
    clock.at(0, AgentLoggedIn("n", Presence.NOT_READY), AgentLoggedIn("m", Presence.NOT_READY))
    clock.at(1, arrive("c", svc="mental", urgency="P1"))
    due = clock.engine.contact("c").due_at
    clock.advance_to(121)
    assert clock.log[-2:] == [
        (121.0, ("overflowed", "c", "nurse")),
        (121.0, ("widened", "c", "region")),
    ]
    view = clock.engine.contact("c")
    assert (view.service, view.due_at) == ("nurse", due)
    assert clock.at(122, PresenceChanged("n", Presence.AVAILABLE)) == [("offer", "c", "n")]


def test_escalation_warning_then_deadline_missed() -> None:
    clock = Clock(
        engine([service("nurse", "nursing", warn_fraction=0.25)], [agent("a", "x", {"nursing": 1})])
    )
    clock.at(0, arrive("c", urgency="P1"))  # due 600, warn at 450
    clock.advance_to(601)
    assert clock.log[-2:] == [(450.0, ("warning", "c")), (600.0, ("missed", "c"))]
    # Answered contacts raise neither.
    clock.at(601, ContactAbandoned("c"))
    clock.at(602, AgentLoggedIn("a"), arrive("d", urgency="P1"))
    clock.at(603, OfferAccepted("d", "a"))
    clock.advance_to(2000)
    assert ("warning", "d") not in [e for _, e in clock.log]
    assert ("missed", "d") not in [e for _, e in clock.log]


def test_logout_with_assigned_work_is_refused_and_changes_nothing() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1})]))
    clock.at(0, AgentLoggedIn("a"), arrive("c"))
    clock.at(1, OfferAccepted("c", "a"))
    with pytest.raises(Conflict, match="assigned contact"):
        clock.at(2, AgentLoggedOut("a"))
    assert clock.engine.agent("a").contacts == ("c",)
    assert clock.engine.contact("c").agent_id == "a"
    # Forced: the contact goes back to the queue with its place.
    assert clock.at(3, AgentLoggedOut("a", force=True)) == [
        ("requeued", "c", "a", "agent_logged_out")
    ]
    assert [v.id for v in clock.engine.waiting()] == ["c"]


def test_pending_offer_is_withdrawn_when_the_caller_hangs_up() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1})]))
    clock.at(0, AgentLoggedIn("a"), arrive("c1"), arrive("c2"))
    assert clock.at(1, ContactAbandoned("c1")) == [
        ("withdrawn", "c1", "a", "abandoned"),
        ("closed", "c1", "abandoned"),
        ("offer", "c2", "a"),
    ]


def test_supervisor_gives_an_agent_swedish_and_it_takes_the_waiting_swedish_call() -> None:
    fi_only = agent("a", "x", {"nursing": 2}, "fi")
    clock = Clock(engine([service("nurse", "nursing")], [fi_only]))
    clock.at(0, AgentLoggedIn("a"))
    assert clock.at(1, arrive("c", language="sv")) == [("queued", "c", "region")]
    bilingual = agent("a", "x", {"nursing": 2}, "fi,sv")
    assert clock.at(2, AgentUpdated(bilingual)) == [("offer", "c", "a")]


def test_an_agent_edit_made_against_old_settings_is_refused_and_changes_nothing() -> None:
    """Two supervisors (on two instances) edit one agent from the same read: the second
    edit to land names the settings it was made on, which are gone, and is refused."""
    fi_only = agent("a", "x", {"nursing": 2}, "fi")
    clock = Clock(engine([service("nurse", "nursing")], [fi_only]))
    first = agent("a", "x", {"nursing": 3}, "fi")
    clock.engine.apply(1, AgentUpdated(first, expected=fi_only))
    with pytest.raises(StaleUpdate):
        clock.engine.apply(
            2, AgentUpdated(agent("a", "x", {"nursing": 2}, "fi,sv"), expected=fi_only)
        )
    assert clock.engine.agent("a").spec == first


def test_supervisor_changes_targets_and_waiting_contacts_reorder() -> None:
    nurse = service("nurse", "nursing")
    clock = Clock(engine([nurse, service("dental", "dental")], [agent("a", "x", {"nursing": 1})]))
    clock.at(0, AgentLoggedIn("a", Presence.NOT_READY))
    clock.at(1, arrive("p3", urgency="P3"), arrive("p1", urgency="P1"))
    assert [v.id for v in clock.engine.waiting()] == ["p1", "p3"]
    flipped = service(
        "nurse",
        "nursing",
        urgencies={
            "P1": UrgencyClass("P1", 7200),
            "P3": UrgencyClass("P3", 60),
            "P5": UrgencyClass("P5", 9e4),
        },
    )
    clock.at(2, ServiceUpdated(flipped))
    assert [v.id for v in clock.engine.waiting()] == ["p3", "p1"]


def test_refused_events_name_the_problem() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1})]))
    with pytest.raises(InvalidEvent, match="unknown service 'nope'; known: nurse"):
        clock.at(0, arrive("c", svc="nope"))
    with pytest.raises(InvalidEvent, match="unknown urgency 'P9'"):
        clock.at(0, arrive("c", urgency="P9"))
    with pytest.raises(InvalidEvent, match="unknown language 'de'"):
        clock.at(0, arrive("c", language="de"))
    with pytest.raises(UnknownAgent, match="ghost"):
        clock.at(0, AgentLoggedIn("ghost"))
    clock.at(0, arrive("c"))
    with pytest.raises(InvalidEvent, match="already open"):
        clock.at(0, arrive("c"))
    with pytest.raises(Conflict, match="not assigned"):
        clock.at(0, ContactCompleted("c", "a"))
    assert [v.id for v in clock.engine.waiting()] == ["c"]
    assert CATALOGUE.has_language("sv")


def test_supervisor_moves_a_waiting_contact_and_it_keeps_its_place() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing"), service("dental", "dental")],
            [agent("n", "x", {"nursing": 1}), agent("dn", "x", {"dental": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("dn", Presence.NOT_READY))
    clock.at(1, arrive("c", svc="nurse", urgency="P1"), arrive("d", svc="dental", urgency="P3"))
    due = clock.engine.contact("c").due_at
    assert clock.at(2, ContactMoved("c", "dental")) == [
        ("moved", "c", "dental"),
        ("widened", "c", "region"),  # the first step of the new service
    ]
    view = clock.engine.contact("c")
    assert (view.service, view.due_at) == ("dental", due)
    assert clock.at(3, PresenceChanged("dn", Presence.AVAILABLE)) == [("offer", "c", "dn")]
    with pytest.raises(InvalidEvent, match="unknown service 'eye'"):
        clock.at(4, ContactMoved("d", "eye"))
    with pytest.raises(Conflict, match="only waiting contacts move"):
        clock.at(4, ContactMoved("c", "nurse"))


def test_supervisor_offers_a_contact_to_a_named_agent_out_of_order() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing")],
            [
                agent("a", "x", {"nursing": 1}),
                agent("fi", "x", {"nursing": 1}, "fi"),
                agent("dn", "x", {"dental": 2}),
            ],
        )
    )
    clock.at(
        0,
        AgentLoggedIn("a", Presence.NOT_READY),
        AgentLoggedIn("dn"),
        AgentLoggedIn("fi", Presence.NOT_READY),
    )
    clock.at(1, arrive("first", urgency="P1"), arrive("second", urgency="P3", language="fi"))
    # Out of order and despite not-ready: the supervisor's choice stands...
    assert clock.at(2, ManualOffer("second", "a")) == [("offer", "second", "a")]
    # ...but never to an agent who does not meet the requirement, nor beyond capacity.
    with pytest.raises(Conflict, match="does not meet"):
        clock.at(3, ManualOffer("first", "dn"))
    with pytest.raises(Conflict, match="no free voice capacity"):
        clock.at(3, ManualOffer("first", "a"))
    assert [v.id for v in clock.engine.waiting()] == ["first"]


def test_waiting_tallies_per_service_and_site() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing"), service("dental", "dental")],
            [agent("a", "x", {"nursing": 1})],
        )
    )
    clock.at(0, arrive("c1", preferred_site="vaasa"))
    clock.at(
        5,
        arrive("c2", preferred_site="kokkola"),
        arrive("c3", svc="dental", preferred_site="vaasa"),
    )
    e = clock.engine
    assert e.waiting_in("service", "nurse") == (2, 0.0)
    assert e.waiting_in("service", "dental") == (1, 5.0)
    assert e.waiting_in("site", "vaasa") == (2, 0.0)
    assert clock.at(6, AgentLoggedIn("a")) == [("offer", "c1", "a")]
    assert e.waiting_in("service", "nurse") == (1, 5.0)
    assert e.waiting_in("site", "vaasa") == (1, 5.0)
    assert e.waiting_in("site", "oulu") == (0, None)


def test_only_the_handling_agent_may_reclassify_and_the_due_time_follows_the_new_class() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing")],
            [agent("a", "x", {"nursing": 1}), agent("b", "x", {"nursing": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("a"), arrive("c1", urgency="P5"), OfferAccepted("c1", "a"))
    assert clock.at(10, arrive("c2", urgency="P3")) == [("queued", "c2", "region")]
    eng = clock.engine
    # Not in an agent's hands, or in another's: refused, nothing changes.
    with pytest.raises(Conflict, match="only the professional handling it"):
        eng.apply(20, ContactReclassified("c2", "a", "P1"))
    with pytest.raises(Conflict):
        eng.apply(20, ContactReclassified("c1", "b", "P1"))
    with pytest.raises(InvalidEvent, match="unknown urgency 'P9'"):
        eng.apply(20, ContactReclassified("c1", "a", "P9"))
    # A class that redirects (P0: 112) is never queued: no contact is moved into it.
    with pytest.raises(InvalidEvent, match="redirects to 112 and is never queued"):
        eng.apply(20, ContactReclassified("c1", "a", "P0"))
    assert eng.contact("c1").urgency == "P5"
    assert clock.at(20, ContactReclassified("c1", "a", "P5")) == []  # its class already
    # P5 -> P1: due at arrival (0) + 600, the arrival and order kept, both classes shown.
    assert clock.at(20, ContactReclassified("c1", "a", "P1")) == [
        ("reclassified", "c1", "P5", "P1", 600.0)
    ]
    view = eng.contact("c1")
    assert (view.urgency, view.original_urgency, view.due_at) == ("P1", "P5", 600.0)
    assert (view.arrived_at, view.seq) == (0.0, 1)
    # Back in the queue it goes by its new due time: ahead of c2 (due 3610).
    clock.at(30, AgentLoggedOut("a", force=True))
    offers = [x for x in clock.at(40, AgentLoggedIn("b")) if x[0] == "offer"]
    assert offers == [("offer", "c1", "b")]
    # A due time the door set (opening hours) is taken as given; the original stays.
    clock.at(41, OfferAccepted("c1", "b"))
    assert clock.at(50, ContactReclassified("c1", "b", "P3", due_at=1234.0)) == [
        ("reclassified", "c1", "P1", "P3", 1234.0)
    ]
    assert (eng.contact("c1").original_urgency, eng.contact("c1").due_at) == ("P5", 1234.0)
    assert eng.contact("c2").original_urgency == "P3"  # never re-classified


def test_a_service_change_may_not_turn_a_class_in_use_into_a_redirect() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a", "x", {"nursing": 1})]))
    assert clock.at(0, arrive("c1", urgency="P3")) == [("queued", "c1", "region")]
    eng = clock.engine
    before = eng.service("nurse")
    redirecting = dataclasses.replace(
        before, urgencies={**before.urgencies, "P3": UrgencyClass("P3", 0, redirect="112")}
    )
    # c1 would wait in a class that is never queued, due at once, ahead of everyone.
    with pytest.raises(Conflict, match=r"P3, which the new settings drop or turn into a"):
        eng.apply(1, ServiceUpdated(redirecting))
    assert eng.service("nurse") == before
    assert eng.contact("c1").urgency == "P3"
