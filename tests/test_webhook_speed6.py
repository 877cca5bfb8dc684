"""What the webhook's cheaper estimate, audit record and person keys must keep: the same
wait estimate, the same place in line, the same agent shares, the same audit record and
the same linked-contact keys as the code they replace (its formulas are written out here
as the reference)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from router.app import build_app
from router.config import load_region
from router.core import bucket as bucket_module
from router.core import decisions as d
from router.core.bucket import Bucket
from router.core.estimate import (
    OBSERVED,
    Estimate,
    HandleTimes,
    expected_ahead,
    minutes_range,
    wait_range,
)
from router.core.events import (
    AgentLoggedIn,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, ContactState, Presence
from router.core.queue import REGION
from router.service.audit.record import AuditRecord, as_row
from router.service.linked import _HIDDEN, person_keys
from router.service.service import Service
from tests.builders import Clock, agent, engine, service
from tests.service_support import bearer, make_service

REGION_FILE = "config/region.yaml"
PHONE_CALLS = "/api/channels/phone/calls"

# ------------------------------------------------------------- the formula, as it was


def old_expected_ahead(position: int, abandon_share: float) -> float:
    share = min(max(abandon_share, 0.0), 1.0)
    return 1 + max(position - 1, 0) * (1.0 - share)


def old_minutes_range(expected_s: float) -> tuple[float, float]:
    low = math.floor(expected_s * 0.75 / 60) * 60
    high = math.ceil(expected_s * 1.25 / 60) * 60
    return float(low), float(max(high, 60))


def old_wait_range(
    position: int,
    servers: float,
    handle_s: float,
    abandon_share: float = 0.0,
    free: int = 0,
    reach_s: float = 0.0,
) -> Estimate:
    share = min(max(abandon_share, 0.0), 1.0)
    if servers <= 0:
        return Estimate(position, servers, handle_s, None, None, share, None, free, reach_s)
    if free >= position:
        high = float(max(math.ceil(reach_s / 60) * 60, 60))
        return Estimate(position, servers, handle_s, 0.0, high, share, reach_s / 2, free, reach_s)
    expected = old_expected_ahead(position - free, share) * handle_s / servers
    low, high = old_minutes_range(expected)
    return Estimate(position, servers, handle_s, low, high, share, expected, free, reach_s)


def same(a: object, b: object) -> bool:
    """Equal and of the same type, NaN equal to NaN and -0.0 told from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return type(a) is type(b) and a == b


SHARES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, -1e-300, 1.0000000000000002]),
    st.integers(-3, 3),
)


@given(position=st.integers(-5, 10**9), share=SHARES)
@example(position=1, share=-0.0)
@example(position=0, share=float("nan"))
def test_the_contacts_ahead_are_counted_as_before(position: int, share: float) -> None:
    assert same(expected_ahead(position, share), old_expected_ahead(position, share))


@given(st.floats(min_value=-1e15, max_value=1e15))
@example(0.0)
@example(-0.0)
@example(48.0)  # 60 s at the top exactly
@example(4.5e14)
def test_a_wait_is_rounded_to_the_same_minutes(expected_s: float) -> None:
    low, high = minutes_range(expected_s)
    old_low, old_high = old_minutes_range(expected_s)
    assert same(low, old_low) and same(high, old_high)


@given(st.sampled_from([math.inf, -math.inf, math.nan]))
def test_a_wait_that_is_no_number_fails_as_it_did(expected_s: float) -> None:
    with pytest.raises((OverflowError, ValueError)) as new:
        minutes_range(expected_s)
    with pytest.raises((OverflowError, ValueError)) as old:
        old_minutes_range(expected_s)
    assert type(new.value) is type(old.value)


@given(
    position=st.integers(1, 100_000),
    servers=st.one_of(st.floats(-1.0, 500.0), st.sampled_from([0.0, 1 / 3, 2.5])),
    handle_s=st.floats(0.0, 36_000.0),
    share=SHARES.filter(lambda s: not (isinstance(s, float) and math.isnan(s))),
    free=st.integers(0, 50),
    reach_s=st.floats(0.0, 7200.0),
)
def test_the_published_range_is_the_one_the_formula_gave(
    position: int, servers: float, handle_s: float, share: float, free: int, reach_s: float
) -> None:
    try:
        old = old_wait_range(position, servers, handle_s, share, free, reach_s)
    except OverflowError:  # a tiny share of an agent: an infinite wait fails as it did
        with pytest.raises(OverflowError):
            wait_range(position, servers, handle_s, share, free, reach_s)
        return
    new = wait_range(position, servers, handle_s, share, free, reach_s)
    assert new == old
    assert all(same(getattr(new, f), getattr(old, f)) for f in Estimate.__dataclass_fields__)


# ------------------------------------------------------------------ place in line


class Rec:
    """A stand-in for a contact record: the bucket only keeps it."""

    def __init__(self, n: int) -> None:
        self.id = f"c{n}"


@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=300))
def test_the_place_in_line_counts_every_key_ahead(ops: list[tuple[int, bool]]) -> None:
    """Over many chunks (a small chunk size here), with contacts leaving from anywhere:
    ``rank`` of every key queued is the number of smaller keys, the last one's too."""
    saved = bucket_module.LOAD
    bucket_module.LOAD = 2
    try:
        b = Bucket()
        keys: dict[int, tuple[float, int, Any]] = {}  # a ``Rec`` as a contact record
        for seq, (due, leave) in enumerate(ops):
            if leave and keys:
                gone = sorted(keys)[due % len(keys)]
                d_, s_, r_ = keys.pop(gone)
                b.remove(d_, s_, r_)
            else:
                keys[seq] = (float(due), seq, Rec(seq))
                b.add(float(due), seq, keys[seq][2])
            ordered = sorted((d_, s_) for d_, s_, _ in keys.values())
            for i, key in enumerate(ordered):
                assert b.rank(*key) == i
            assert b.rank(1e9, 10**9) == len(ordered)  # after everyone
    finally:
        bucket_module.LOAD = saved


def test_a_call_just_queued_is_told_it_is_last_in_line() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a1", "s1", {"nursing": 1})]))
    clock.at(0, AgentLoggedIn("a1", Presence.NOT_READY))
    for n in range(1, 6):
        clock.at(n, ContactArrived(ContactSpec(f"c{n}", Channel.VOICE, "nurse", "P3")))
        assert clock.engine.estimate(f"c{n}", 300.0).position == n
    # An earlier class goes ahead of them all; those behind it move down one.
    clock.at(9, ContactArrived(ContactSpec("c9", Channel.VOICE, "nurse", "P1")))
    assert clock.engine.estimate("c9", 300.0).position == 1
    assert clock.engine.estimate("c5", 300.0).position == 6


# ------------------------------------------------------------------- agent shares


def shares_engine() -> Clock:
    services = [service("nurse", "nursing"), service("dental", "dental"), service("soc", "social")]
    roster = [
        agent("a1", "s1", {"nursing": 1}),
        agent("a2", "s1", {"nursing": 1, "dental": 1}),
        agent("a3", "s2", {"nursing": 1, "dental": 1, "social": 1}, voice=2),
        agent("a4", "s2", {"dental": 1}, chat=3),
        agent("a5", "s3", {"social": 1, "nursing": 1}),
    ]
    clock = Clock(engine(services, roster))
    for n, a in enumerate(roster):
        # Some serving, some not: the estimate's servers count the first only, its
        # staff both.
        clock.at(n, AgentLoggedIn(a.id, Presence.AVAILABLE if n % 2 else Presence.NOT_READY))
    return clock


def old_servers(
    e: Any, rid: int, weight: dict[int, float], channel: Channel | None, staff: bool = False
) -> float:
    count = "logged_in" if staff else "ready"
    total: float = sum(
        getattr(g, count) * weight.get(g.id, 1.0)
        for g in e._pool.eligible(rid, REGION).values()
        if getattr(g, count) > 0 and (channel is None or g.caps.get(channel, 0) > 0)
    )
    return total


@given(st.sets(st.sampled_from(["nurse", "dental", "soc", "gone"])))
def test_agents_are_shared_among_the_open_services_as_before(open_names: set[str]) -> None:
    clock = shares_engine()
    e = clock.engine
    opened = frozenset(open_names)
    names = opened & e._services.keys()
    expected = e._shares_over(names) if names != e._services.keys() else e._shares_over(e._services)
    assert e._service_share(opened) == expected
    assert e._service_share(frozenset(open_names)) == expected  # an equal set, asked again
    assert e._service_share(None) == e._shares_over(e._services)
    for name in ("nurse", "dental", "soc"):
        rid = e._reqs.intern(e._services[name].requirement)
        for channel in (None, Channel.VOICE, Channel.CHAT):
            share = e._service_share(opened)
            for staff in (False, True):
                got = e._pool.servers(rid, REGION, share, channel, e._agents, staff)
                want = old_servers(e, rid, share, channel, staff)
                assert got == want and type(got) is type(want)


def test_every_service_open_shares_as_if_all_were_counted() -> None:
    clock = shares_engine()
    e = clock.engine
    every = frozenset(e._services)
    assert e._service_share(every) == e._service_share(None)
    assert e._service_share(every | {"closed-long-ago"}) == e._service_share(None)


# ------------------------------------------------------------------ the audit record


def old_arrival_record(**f: Any) -> AuditRecord:
    """``Audit._arrived``'s new record as it was made: blank, then written over."""
    r = AuditRecord(f["id"], f["now"])
    r.arrived_at = f["arrived"]
    r.day = f["day"]
    r.channel = f["channel"]
    r.service = f["service"]
    r.urgency = f["urgency"]
    r.language = f["language"]
    r.site = f["site"]
    r.due_at = f["due"]
    r.door_due = f["door_due"]
    r.number = f["number"] or r.number
    r.channel_now = f["channel"]
    r.service_now = f["service"]
    r.urgency_now = f["urgency"]
    r.due_now = f["due"]
    r.was_callback = r.was_callback or f["callback"]
    return r


TEXT = st.text(max_size=6)
MAYBE = st.none() | TEXT
TIME = st.none() | st.floats(0, 2e9)


@given(
    st.fixed_dictionaries(
        {
            "id": TEXT,
            "now": st.floats(0, 2e9),
            "arrived": st.floats(0, 2e9),
            "day": TEXT,
            "channel": st.sampled_from([c.value for c in Channel]),
            "service": TEXT,
            "urgency": TEXT,
            "language": MAYBE,
            "site": MAYBE,
            "due": TIME,
            "door_due": TIME,
            "number": st.none() | st.just("") | TEXT,
            "callback": st.booleans(),
        }
    )
)
def test_an_arrivals_record_holds_what_it_held(f: dict[str, Any]) -> None:
    new = AuditRecord(
        f["id"],
        f["now"],
        f["arrived"],
        f["day"],
        f["channel"],
        f["service"],
        f["urgency"],
        f["language"],
        f["site"],
        f["due"],
        f["door_due"],
        f["number"] or None,
        f["callback"],
    )
    assert as_row(new) == as_row(old_arrival_record(**f))


def test_a_record_made_from_two_values_is_blank_as_before() -> None:
    r = AuditRecord("x", 5.0)
    assert (r.arrived_at, r.day, r.channel, r.channel_now, r.number, r.due_now) == (
        5.0,
        "",
        "",
        "",
        None,
        None,
    )
    assert (r.was_callback, r.partial, r.omitted, r.trail, r.closed_at) == (
        False,
        False,
        0,
        [],
        None,
    )


# ------------------------------------------------------------------- linked people


def old_person_keys(spec: ContactSpec) -> tuple[str, ...]:
    a = spec.attributes
    keys = []
    ref = a.get("person_ref")
    if ref:
        keys.append("ref:" + ref)
    number = a.get("number") or a.get("caller") or a.get("phone")
    if number is None and a.get("contact_method") == "phone":
        number = a.get("contact_value")
    if number is not None and number.strip().lower() not in _HIDDEN:
        keys.append("tel:" + number)
    return tuple(keys)


VALUES = st.one_of(
    st.sampled_from(["", " ", "+358401234567", "+", " +35840", "Hidden ", "anonymous", "UNKNOWN"]),
    st.text(max_size=8),
)
KEYS = st.sampled_from(
    ["person_ref", "number", "caller", "phone", "contact_method", "contact_value", "other"]
)


@given(st.dictionaries(KEYS, VALUES | st.just("phone")))
def test_a_persons_keys_are_the_ones_found_before(attributes: dict[str, str]) -> None:
    spec = ContactSpec("c1", Channel.VOICE, "nurse", attributes=attributes)
    assert person_keys(spec) == old_person_keys(spec)


# ----------------------------------------------------------------- open services


def test_the_open_services_are_the_same_set_while_nothing_opens_or_closes() -> None:
    now = [1_000.0]
    s = Service(load_region(REGION_FILE), clock=lambda: now[0])
    first = s.open_services()
    now[0] += 5.0  # asked again after the second it is kept for
    again = s.open_services()
    assert again is first  # the engine finds its shares by this set's identity
    every = frozenset(s.region.services)
    assert first <= every


# -------------------------------------------------------------------- handle times


def test_handle_times_learn_the_same_from_the_kinds_they_are_told() -> None:
    """The dispatch loop tells ``HandleTimes.observe`` only ``OBSERVED``: over a day of
    arrivals, offers, acceptances, completions, hang-ups and timeouts it learns what it
    learns from every decision."""
    e = engine(
        [service("nurse", "nursing"), service("dental", "dental")],
        [agent("a1", "s1", {"nursing": 1}), agent("a2", "s1", {"nursing": 1, "dental": 1})],
    )
    decisions: list[d.Decision] = []
    t = 0.0

    def at(event: Any) -> None:
        nonlocal t
        t += 4.0
        while (due := e.next_timer_at()) is not None and due <= t:
            decisions.extend(e.apply(due, TimerDue()))
        decisions.extend(e.apply(t, event))

    at(AgentLoggedIn("a1"))
    at(AgentLoggedIn("a2"))
    for n in range(12):
        svc = "dental" if n % 3 == 0 else "nurse"
        at(ContactArrived(ContactSpec(f"c{n}", Channel.VOICE, svc)))
        if n % 4 == 1:
            at(ContactAbandoned(f"c{n}"))  # hangs up, offered or waiting
        if n % 5 == 4:
            continue  # the offers made now are left to time out
        for v in list(e.contacts()):
            if v.state is ContactState.OFFERED and v.agent_id is not None:
                at(OfferAccepted(v.id, v.agent_id))
                at(ContactCompleted(v.id, v.agent_id))
    told, every = HandleTimes(), HandleTimes()
    for x in decisions:
        every.observe(x, 1.0)
        if isinstance(x, OBSERVED):
            told.observe(x, 1.0)
    assert {type(x) for x in decisions} - set(OBSERVED)  # others were there to skip
    assert told.capture() == every.capture() and every.mean_s and every.abandon


# --------------------------------------------------------------------- a phone retry

CALL = {
    "call_id": "r1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
    "site": "vaasa",
    "own_team": "vaasa-nurses",
}


@pytest.mark.parametrize(
    "change",
    [{}, {"own_agent": "a001"}],
    ids=["without an own nurse", "with an own nurse"],
)
async def test_a_retried_call_is_checked_against_the_own_nurse_team_and_site_it_came_with(
    aiohttp_client: Any, change: dict[str, str]
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    first = {**CALL, **change}
    posted = await client.post(PHONE_CALLS, json=first, headers=bearer("telephony"))
    assert posted.status == 201
    again = await client.post(PHONE_CALLS, json=first, headers=bearer("telephony"))
    assert again.status == 200 and (await again.json())["call_id"] == "r1"
    for other in ({"own_team": "jakobstad-nurses"}, {"site": "korsholm"}, {"own_agent": "a002"}):
        refused = await client.post(
            PHONE_CALLS, json={**first, **other}, headers=bearer("telephony")
        )
        assert refused.status == 409, await refused.text()
        assert (await refused.json())["error"]["code"] == "call_id_reused"
