"""Partner agreements in the engine, in virtual time: a partner agent is eligible only for
the services its agreement names and only while cover is on; cover changes at the exact
instant the schedule says (also across a daylight-saving night), an offer in progress at
the end is not withdrawn and work in hand goes on."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from router.calendar.cover_plan import CoverPlan
from router.core import partners
from router.core.engine import Engine
from router.core.errors import InvalidEvent
from router.core.events import (
    AgentLoggedIn,
    AgentUpdated,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
)
from router.core.model import Channel, ContactSpec
from router.core.partners import Agreement, gate_authorisations
from router.core.policy import RoutingPolicy
from router.store import codec
from skills import SkillCatalogue
from tests.builders import CATALOGUE, Clock, agent, service

HELSINKI = ZoneInfo("Europe/Helsinki")
EVENINGS = ((16 * 60, 22 * 60),)
# Cover on weekday evenings 16-22, and the night from Saturday 20:00 to Sunday 08:00.
PLAN = CoverPlan(
    "Europe/Helsinki",
    (EVENINGS, EVENINGS, EVENINGS, EVENINGS, EVENINGS, ((20 * 60, 24 * 60),), ((0, 8 * 60),)),
    exceptions=((date(2026, 12, 8), ()),),  # no cover that Tuesday
)


def local(y: int, m: int, d: int, hh: int, mm: int = 0, ss: int = 0) -> float:
    return datetime(y, m, d, hh, mm, ss, tzinfo=HELSINKI).timestamp()


def clock() -> Clock:
    catalogue = SkillCatalogue(
        CATALOGUE.skills,
        CATALOGUE.languages,
        (*CATALOGUE.authorisations, *gate_authorisations(["kp"])),
    )
    services = [service("nurse", "nursing"), service("dental", "nursing")]
    partner = replace(agent("p1", "kokkola", {"nursing": 3}), partner="kp")
    policy = RoutingPolicy(
        catalogue,
        {s.name: s for s in services},
        {"p1": partner, "own": agent("own", "oulu", {"nursing": 3})},
        agreements={"kp": Agreement("kp", frozenset({"nurse"}), PLAN, "Keski-Pohjanmaa")},
    )
    c = Clock(Engine(policy))
    return c


def call(cid: str, svc: str = "nurse") -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.VOICE, svc))


def test_a_contact_waiting_when_cover_starts_is_offered_to_the_partner_at_that_instant() -> None:
    c = clock()
    monday = local(2026, 12, 7, 15, 0)
    c.at(monday, AgentLoggedIn("p1"))
    assert c.at(local(2026, 12, 7, 15, 50), call("k1"), call("d1", "dental")) == [
        ("queued", "k1", "region"),
        ("queued", "d1", "region"),
    ]
    c.advance_to(local(2026, 12, 7, 16, 0))
    start = local(2026, 12, 7, 16, 0)
    assert (start, ("cover", "kp", True)) in c.log
    assert (start, ("offer", "k1", "p1")) in c.log
    # never the service the agreement does not name
    assert not any(entry[1][:2] == ("offer", "d1") for entry in c.log)


def test_an_offer_open_when_cover_ends_is_not_withdrawn_and_work_in_hand_goes_on() -> None:
    c = clock()
    c.at(local(2026, 12, 7, 21, 0), AgentLoggedIn("p1"))
    assert c.at(local(2026, 12, 7, 21, 59, 50), call("k1")) == [("offer", "k1", "p1")]
    c.advance_to(local(2026, 12, 7, 22, 0))
    assert c.log[-1] == (local(2026, 12, 7, 22, 0), ("cover", "kp", False))
    assert c.engine.contact("k1").state.value == "offered"
    assert c.at(local(2026, 12, 7, 22, 0, 5), OfferAccepted("k1", "p1")) == [
        ("assigned", "k1", "p1")
    ]
    # no new offers after the end; the call in hand is completed normally
    assert c.at(local(2026, 12, 7, 22, 1), call("k2")) == [("queued", "k2", "region")]
    assert ("closed", "k1", "resolved") in c.at(
        local(2026, 12, 7, 22, 5), ContactCompleted("k1", "p1", "resolved")
    )
    assert c.engine.contact("k2").state.value == "waiting"
    # the region's own agent is eligible at any hour
    assert c.at(local(2026, 12, 7, 22, 6), AgentLoggedIn("own")) == [("offer", "k2", "own")]


def test_an_exception_day_has_no_cover() -> None:
    c = clock()
    c.at(local(2026, 12, 8, 15, 0), AgentLoggedIn("p1"), call("k1"))
    c.advance_to(local(2026, 12, 8, 23, 0))
    assert c.engine.contact("k1").state.value == "waiting"
    assert not any(entry[1][0] == "cover" for entry in c.log)


@pytest.mark.parametrize(
    ("saturday", "sunday"),
    [((2026, 3, 28), (2026, 3, 29)), ((2026, 10, 24), (2026, 10, 25))],
    ids=["spring-forward", "fall-back"],
)
def test_cover_changes_at_the_local_minute_across_a_dst_night(
    saturday: tuple[int, int, int], sunday: tuple[int, int, int]
) -> None:
    c = clock()
    c.at(local(*saturday, 12, 0), AgentLoggedIn("p1"))
    c.advance_to(local(*sunday, 12, 0))
    changes = [t for t, entry in c.log if entry[0] == "cover"]
    assert changes == [local(*saturday, 20, 0), local(*sunday, 8, 0)]
    hours = (changes[1] - changes[0]) / 3600
    assert hours == (11 if saturday[1] == 3 else 13)  # the night is an hour shorter/longer


def test_a_public_holiday_has_no_cover() -> None:
    c = clock()  # Easter Sunday 2027 is also the spring-forward night
    c.at(local(2027, 3, 27, 12, 0), AgentLoggedIn("p1"))
    c.advance_to(local(2027, 3, 28, 12, 0))
    changes = [t for t, entry in c.log if entry[0] == "cover"]
    assert changes == [local(2027, 3, 27, 20, 0), local(2027, 3, 28, 0, 0)]


def test_a_partner_agent_naming_an_unknown_agreement_is_refused() -> None:
    c = clock()
    spec = replace(agent("p2", "kokkola", {"nursing": 3}), partner="nope")
    with pytest.raises(InvalidEvent, match="unknown partner agreement 'nope'"):
        c.at(local(2026, 12, 7, 12, 0), AgentUpdated(spec))


@pytest.mark.parametrize("store", [False, True], ids=["pickle", "store-codec"])
def test_the_engine_with_cover_state_survives_a_snapshot(store: bool) -> None:
    """Also through the Redis store's restricted unpickler: the agreement and its plan
    are core and calendar classes and plain data (no zone object, no function)."""
    c = clock()
    c.at(local(2026, 12, 7, 17, 0), AgentLoggedIn("p1"))
    copy: Engine = (
        codec.decode(codec.encode(c.engine)) if store else pickle.loads(pickle.dumps(c.engine))
    )
    d2 = Clock(copy)
    d2.now = c.now
    assert d2.at(local(2026, 12, 7, 17, 1), call("k1")) == [("offer", "k1", "p1")]
    d2.advance_to(local(2026, 12, 7, 22, 0))
    assert d2.log[-1] == (local(2026, 12, 7, 22, 0), ("cover", "kp", False))


def test_a_snapshot_from_when_the_cover_plan_was_in_the_core_still_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before the core stopped importing the calendar, ``CoverPlan`` was
    ``router.core.partners.CoverPlan``, and snapshots name it so: the store maps the old
    name to the class where it is now, and the engine goes on as it would have."""
    c = clock()
    c.at(local(2026, 12, 7, 17, 0), AgentLoggedIn("p1"))
    with monkeypatch.context() as old:  # pickle the plan under its old module's name
        old.setattr(CoverPlan, "__module__", "router.core.partners")
        old.setattr(partners, "CoverPlan", CoverPlan, raising=False)
        blob = codec.encode(c.engine)
    assert b"router.core.partners" in blob and b"router.calendar.cover_plan" not in blob
    copy: Engine = codec.decode(blob)
    assert type(copy.policy.agreements["kp"].cover) is CoverPlan
    d2 = Clock(copy)
    d2.now = c.now
    assert d2.at(local(2026, 12, 7, 17, 1), call("k1")) == [("offer", "k1", "p1")]
    d2.advance_to(local(2026, 12, 7, 22, 0))
    assert d2.log[-1] == (local(2026, 12, 7, 22, 0), ("cover", "kp", False))


def test_a_partner_counts_for_the_services_wait_only_while_its_cover_is_on() -> None:
    """The public estimate counts whom a new contact could reach: a partner agent out of
    cover is nobody's server (the caller's own announcement says no wait either), and in
    cover it serves only the services its agreement names, whole for them."""
    c = clock()
    c.at(local(2026, 12, 7, 15, 0), AgentLoggedIn("p1"))
    before = c.engine.service_estimate("nurse", 300.0)
    assert (before.servers, before.staff) == (0.0, 0.0)
    c.advance_to(local(2026, 12, 7, 16, 0))  # cover on
    during = c.engine.service_estimate("nurse", 300.0)
    assert (during.servers, during.staff) == (1.0, 1.0)  # not shared with dental
    dental = c.engine.service_estimate("dental", 300.0)
    assert (dental.servers, dental.staff) == (0.0, 0.0)
    c.advance_to(local(2026, 12, 7, 22, 0))  # cover off again
    assert c.engine.service_estimate("nurse", 300.0).servers == 0.0
