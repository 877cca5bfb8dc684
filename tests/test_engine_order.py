"""The one order near closing time (issue 11.3) and the same-day deadline of a service
open round the clock (issue 11.4), in the engine, with contacts admitted the way the
channels admit them: the calendar gives when the urgency clock starts and the end of the
office day, the engine the place (``target_at``) and the deadline (``due_at``).

The rule proved here: a more urgent class is never served after a less urgent contact
whose own (uncapped) target is later; the same-day cap is a deadline for warnings and
alarms, never a key that ties every class at closing time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.calendar.opening_hours import CLOSED, Schedule
from router.calendar.rules import due_times, same_day
from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    ContactReclassified,
    OfferAccepted,
    ServiceUpdated,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, UrgencyClass
from tests.builders import agent, engine, service
from tests.service_support import HELSINKI, at

DAY = ((8 * 60, 16 * 60),)
OFFICE = Schedule(HELSINKI, (DAY,) * 5 + (CLOSED, CLOSED))
ALWAYS = Schedule(HELSINKI)
CLASSES = {
    "P1": UrgencyClass("P1", 600),
    "P2": UrgencyClass("P2", 1800),
    "P3": UrgencyClass("P3", 3600),
    "P5": UrgencyClass("P5", 14400),
    "P8": UrgencyClass("P8", 604800),
}
MINUTE = 60.0


def admitted(
    cid: str, urgency: str, t: float, hours: Schedule = OFFICE, window: Schedule | None = None
) -> ContactSpec:
    """What a channel hands the engine (``channels.admission.admit``): the clock's start and
    the office day's end; while closed, held until the opening."""
    frame = same_day(hours, t, window)
    spec = ContactSpec(
        cid,
        Channel.VOICE,
        "nurse",
        urgency=urgency,
        language="fi",
        clock_from=frame.clock_from,
        same_day_by=frame.by,
    )
    return spec if hours.is_open(t) else replace(spec, not_before=frame.clock_from)


def fresh() -> Engine:
    return engine(
        [service("nurse", "nursing>=1", urgencies=CLASSES, default_urgency="P5")],
        [agent(f"a{i}", "vaasa", {"nursing": 2}) for i in range(3)],
    )


def serve_all(eng: Engine, t: float) -> list[str]:
    """One agent logs in at ``t`` and serves the queue to the end: the offer order."""
    order: list[str] = []
    decisions = eng.apply(t, AgentLoggedIn("a0"))
    while offers := [x for x in decisions if isinstance(x, d.Offered)]:
        (offer,) = offers
        order.append(offer.contact_id)
        eng.apply(t, OfferAccepted(offer.contact_id, "a0"))
        decisions = eng.apply(t, ContactCompleted(offer.contact_id, "a0"))
    return order


def test_an_urgent_contact_at_15_45_goes_before_routine_ones_whose_targets_are_later() -> None:
    eng = fresh()
    for i in range(5):  # 12:10 ... 12:50, four-hour target: 16:10 ... 16:50
        t = at(f"2026-11-24 12:{10 + 10 * i}")
        eng.apply(t, ContactArrived(admitted(f"n{i}", "P5", t)))
    t = at("2026-11-24 15:45")  # half an hour: 16:15
    eng.apply(t, ContactArrived(admitted("u", "P2", t)))
    assert eng.estimate("u", 300.0).position == 2
    assert {c.due_at for c in eng.waiting()} == {at("2026-11-24 16:00")}  # the deadline
    assert serve_all(eng, at("2026-11-24 15:46")) == ["n0", "u", "n1", "n2", "n3", "n4"]


def test_a_p2_at_15_40_is_offered_before_a_p8_from_08_05() -> None:
    eng = fresh()
    for cid, urgency, when in (("p8", "P8", "08:05"), ("p2", "P2", "15:40")):
        t = at(f"2026-11-24 {when}")
        eng.apply(t, ContactArrived(admitted(cid, urgency, t)))
    # Both are due by 16:00; the P2's own target (16:10) is days before the P8's.
    assert eng.contact("p8").due_at == eng.contact("p2").due_at == at("2026-11-24 16:00")
    assert serve_all(eng, at("2026-11-24 15:41")) == ["p2", "p8"]


def test_the_same_day_cap_still_drives_the_warning_and_the_missed_deadline() -> None:
    eng = fresh()
    t = at("2026-11-24 15:45")
    queued = eng.apply(t, ContactArrived(admitted("u", "P2", t)))
    assert [x.due_at for x in queued if isinstance(x, d.Queued)] == [at("2026-11-24 16:00")]
    # Warned 20 % of its target (6 minutes) before the deadline, missed at closing.
    warned = eng.apply(at("2026-11-24 15:54"), TimerDue())
    assert [type(x) for x in warned] == [d.EscalationWarning]
    missed = eng.apply(at("2026-11-24 16:00"), TimerDue())
    assert [(type(x), x.due_at) for x in missed if isinstance(x, d.DeadlineMissed)] == [
        (d.DeadlineMissed, at("2026-11-24 16:00"))
    ]
    assert len(missed) == 1


def test_a_p8_on_monday_at_10_on_a_round_the_clock_line_is_due_by_the_window_end() -> None:
    eng = fresh()
    t = at("2026-11-23 10:00")  # Monday
    eng.apply(t, ContactArrived(admitted("p8", "P8", t, hours=ALWAYS, window=OFFICE)))
    view = eng.contact("p8")
    assert (view.target_at, view.due_at) == (at("2026-11-30 10:00"), at("2026-11-23 16:00"))
    missed = eng.apply(at("2026-11-23 16:00"), TimerDue())
    assert [type(x) for x in missed] == [d.DeadlineMissed]
    # At night the line is open: urgency runs from the arrival, the cap is Tuesday's.
    t = at("2026-11-23 20:00")
    eng.apply(t, ContactArrived(admitted("p2", "P2", t, hours=ALWAYS, window=OFFICE)))
    assert eng.contact("p2").due_at == at("2026-11-23 20:30")
    eng.apply(t, ContactArrived(admitted("p8b", "P8", t, hours=ALWAYS, window=OFFICE)))
    assert eng.contact("p8b").due_at == at("2026-11-24 16:00")


def test_a_live_target_change_re_keys_an_admitted_contact_under_its_cap() -> None:
    eng = fresh()
    t = at("2026-11-24 12:00")
    eng.apply(t, ContactArrived(admitted("n", "P5", t)))
    assert (eng.contact("n").target_at, eng.contact("n").due_at) == (
        at("2026-11-24 16:00"),
        at("2026-11-24 16:00"),
    )
    faster = {**CLASSES, "P5": UrgencyClass("P5", 3600)}
    svc = service("nurse", "nursing>=1", urgencies=faster, default_urgency="P5")
    eng.apply(t + 60, ServiceUpdated(svc))
    assert (eng.contact("n").target_at, eng.contact("n").due_at) == (
        at("2026-11-24 13:00"),
        at("2026-11-24 13:00"),
    )
    slower = {**CLASSES, "P5": UrgencyClass("P5", 86400)}
    eng.apply(t + 120, ServiceUpdated(replace(svc, urgencies=slower)))
    assert (eng.contact("n").target_at, eng.contact("n").due_at) == (
        at("2026-11-25 12:00"),
        at("2026-11-24 16:00"),  # still due the same working day
    )


# --------------------------------------------------------------- the property

# Arrivals from Tuesday 12:00 for up to 22 hours: across Tuesday's closing, the night and
# into Wednesday morning. Whole minutes, so equal targets (exact ties) do occur.
START = at("2026-11-24 12:00")
SERVE_AT = at("2026-11-25 10:00")
arrivals = st.lists(
    st.tuples(st.integers(0, 22 * 60), st.sampled_from(sorted(CLASSES))), min_size=2, max_size=25
)


def check_one_order(found: list[tuple[int, str]]) -> None:
    eng = fresh()
    own: dict[str, tuple[float, int]] = {}
    for i, (minute, urgency) in enumerate(sorted(found, key=lambda x: x[0])):
        t = START + minute * MINUTE
        cid = f"c{i}"
        eng.apply(t, ContactArrived(admitted(cid, urgency, t)))
        start = OFFICE.next_opening(t)
        assert start is not None
        own[cid] = (start + CLASSES[urgency].target_s, i)  # its own, uncapped target
        view = eng.contact(cid)
        # The deadline is the target capped at the end of its office day, never later.
        closing = OFFICE.closing_of_day(start)
        assert closing is not None
        assert view.due_at == min(own[cid][0], closing)
        times = due_times(OFFICE, t, CLASSES[urgency].target_s)
        assert (view.target_at, view.due_at) == (times.target_at, times.due_at)
    served = serve_all(eng, SERVE_AT)
    assert sorted(served) == sorted(own)
    rank = {cid: n for n, cid in enumerate(served)}
    urgency_of = {f"c{i}": u for i, (_, u) in enumerate(sorted(found, key=lambda x: x[0]))}
    for a in own:
        for b in own:
            more_urgent = CLASSES[urgency_of[a]].target_s < CLASSES[urgency_of[b]].target_s
            if more_urgent and own[b][0] > own[a][0]:
                assert rank[a] < rank[b], (a, b, served)
    # And the whole order is the one rule: own target, ties by arrival.
    assert served == sorted(own, key=lambda cid: own[cid])


@given(arrivals)
def test_no_more_urgent_class_is_served_after_a_less_urgent_contact_due_later(
    found: list[tuple[int, str]],
) -> None:
    check_one_order(found)


@pytest.mark.slow
@settings(max_examples=1500)
@given(arrivals)
def test_no_more_urgent_class_is_served_after_a_less_urgent_contact_due_later_thoroughly(
    found: list[tuple[int, str]],
) -> None:
    check_one_order(found)


def test_a_reclassified_contact_takes_the_new_class_s_place_and_deadline_by_the_door_s_rule() -> (
    None
):
    eng = fresh()
    t = at("2026-11-23 10:00")  # Monday, on a line open round the clock with a window
    eng.apply(t, AgentLoggedIn("a0"))
    eng.apply(t, ContactArrived(admitted("c", "P2", t, hours=ALWAYS, window=OFFICE)))
    eng.apply(t, OfferAccepted("c", "a0"))
    eng.apply(t + 300, ContactReclassified("c", "a0", "P8"))
    view = eng.contact("c")
    # From the original arrival: a week for its place, the window's end for its deadline.
    assert (view.target_at, view.due_at) == (at("2026-11-30 10:00"), at("2026-11-23 16:00"))
    eng.apply(t + 600, ContactReclassified("c", "a0", "P1"))
    view = eng.contact("c")
    assert (view.target_at, view.due_at) == (at("2026-11-23 10:10"),) * 2
