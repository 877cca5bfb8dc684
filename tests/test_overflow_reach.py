"""An overflow widens who may take a contact, never narrows it: after its steps move it to
another service, an agent who could take it at the widest step it reached in the service
it left still can, besides the new service's agents, always within its language,
authorisation and partner gate. Engine-level (events in, decisions out) in virtual time,
and once through the real HTTP service on the sample region."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from router.calendar.cover_plan import CoverPlan
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactMoved,
    OfferDeclined,
    PresenceChanged,
    TimerDue,
)
from router.core.model import Channel, ContactSpec, Presence, Step, StepKind
from router.core.partners import Agreement, gate_authorisations
from router.core.policy import RoutingPolicy
from router.store import codec
from skills import SkillCatalogue
from tests.builders import CATALOGUE, Clock, agent, engine, service
from tests.service_support import at, bearer, login, served_at

# Mental health in miniature: the caller's own site for 2 minutes, the region for 20,
# then nursing advice may take it (as config/region.yaml has it).
MENTAL_STEPS = (
    Step(StepKind.OWN_SITE, 120),
    Step(StepKind.REGION, 1200),
    Step(StepKind.OVERFLOW, overflow_to="nurse"),
)
NURSE_STEPS = (Step(StepKind.OWN_SITE, 90), Step(StepKind.REGION))


def region(*agents: Any) -> Clock:
    return Clock(
        engine(
            [
                service("mental", "social>=3", MENTAL_STEPS),
                service("nurse", "nursing>=2", NURSE_STEPS),
                service("dental", "dental"),
            ],
            [
                agent("chat_only", "s1", {"social": 4}, chat=2),  # logged in, not for calls
                *agents,
            ],
        )
    )


def mental_call(cid: str = "c", **kw: Any) -> ContactArrived:
    spec = {"language": "fi", "preferred_site": "s1", "urgency": "P1", **kw}
    return ContactArrived(ContactSpec(cid, Channel.VOICE, "mental", **spec))


def overflowed_at_once(clock: Clock, **kw: Any) -> None:
    """Nobody who could take a mental-health call is logged in: it overflows on arrival."""
    out = clock.at(0, AgentLoggedIn("chat_only"), mental_call(**kw))
    assert out == [("overflowed", "c", "nurse"), ("queued", "c", "region")]
    assert clock.engine.contact("c").service == "nurse"


def test_a_worker_of_the_first_service_who_logs_in_after_an_instant_overflow_is_offered_it() -> (
    None
):
    clock = region(agent("worker", "s2", {"social": 4}))  # another site: the region reached
    overflowed_at_once(clock)
    assert clock.at(1, AgentLoggedIn("worker")) == [("offer", "c", "worker")]
    # It is still a nursing-advice contact: only who may take it widened.
    assert clock.engine.contact("c").service == "nurse"


def test_a_nurse_may_take_it_too() -> None:
    clock = region(agent("nurse", "s3", {"nursing": 2}))
    overflowed_at_once(clock)
    assert clock.at(1, AgentLoggedIn("nurse")) == [("offer", "c", "nurse")]


def test_neither_part_lets_in_an_agent_without_the_callers_language() -> None:
    clock = region(
        agent("sv_nurse", "s1", {"nursing": 5}, "sv"),
        agent("sv_worker", "s1", {"social": 5}, "sv"),
        agent("fi_worker", "s1", {"social": 3}, "fi"),
    )
    overflowed_at_once(clock)
    assert clock.at(1, AgentLoggedIn("sv_nurse"), AgentLoggedIn("sv_worker")) == []
    assert clock.at(2, AgentLoggedIn("fi_worker")) == [("offer", "c", "fi_worker")]


def test_neither_part_lets_in_an_agent_without_the_contacts_authorisation() -> None:
    clock = region(
        agent("plain_worker", "s1", {"social": 5}),
        agent("plain_nurse", "s1", {"nursing": 5}),
        agent("cleared", "s1", {"social": 3}, auth="omaolo"),
    )
    overflowed_at_once(clock, authorisation="omaolo")
    assert clock.at(1, AgentLoggedIn("plain_worker"), AgentLoggedIn("plain_nurse")) == []
    assert clock.at(2, AgentLoggedIn("cleared")) == [("offer", "c", "cleared")]


def test_the_first_service_counts_as_relaxed_at_the_widest_step_it_reached() -> None:
    steps = (
        Step(StepKind.REGION, 60),
        Step(StepKind.RELAXED, 60, relax_levels=2),
        Step(StepKind.OVERFLOW, overflow_to="nurse"),
    )
    clock = Clock(
        engine(
            [service("mental", "social>=4", steps), service("nurse", "nursing>=2")],
            [agent("weak", "s1", {"social": 1}), agent("fair", "s1", {"social": 2})],
        )
    )
    clock.at(0, mental_call())
    assert clock.engine.contact("c").service == "nurse"
    assert clock.at(1, AgentLoggedIn("weak")) == []  # below social>=4 relaxed by 2
    assert clock.at(2, AgentLoggedIn("fair")) == [("offer", "c", "fair")]


def test_a_worker_elsewhere_need_not_wait_out_the_new_services_own_site_step() -> None:
    # A nurse on a break at the caller's site could serve nursing advice's own-site
    # step, but the first service had reached the whole region: that narrower step is
    # passed, and the first service's worker at another site may take the call at once,
    # not 90 seconds later.
    clock = region(agent("s1_nurse", "s1", {"nursing": 3}), agent("worker", "s2", {"social": 4}))
    clock.at(0, AgentLoggedIn("chat_only"), AgentLoggedIn("s1_nurse", Presence.NOT_READY))
    assert clock.at(0, mental_call()) == [
        ("overflowed", "c", "nurse"),
        ("queued", "c", "region"),
    ]
    assert clock.at(1, AgentLoggedIn("worker")) == [("offer", "c", "worker")]


def test_an_overflow_after_the_wait_keeps_the_first_services_workers_too() -> None:
    # A worker logged in but on a break keeps the call in the mental-health region step
    # for its 20 minutes; then nursing advice may take it, and so may the worker.
    clock = region(agent("worker", "s2", {"social": 4}), agent("nurse", "s3", {"nursing": 3}))
    clock.at(0, AgentLoggedIn("worker", Presence.NOT_READY), mental_call())
    clock.advance_to(1200)
    assert clock.log[-2:] == [
        (1200.0, ("overflowed", "c", "nurse")),
        (1200.0, ("widened", "c", "region")),
    ]
    assert clock.at(1201, PresenceChanged("worker", Presence.AVAILABLE)) == [
        ("offer", "c", "worker")
    ]


def test_the_wait_estimate_counts_the_first_services_workers() -> None:
    clock = region(agent("worker", "s2", {"social": 4}), agent("nurse", "s3", {"nursing": 3}))
    overflowed_at_once(clock)
    # Not ready, the worker is no server (it finishes nobody's contact); available, and
    # kept from "c" only by its cool-down after declining it, it is one.
    clock.at(1, AgentLoggedIn("worker", Presence.NOT_READY))
    assert clock.engine.estimate("c", 300.0).servers == 0.0
    assert clock.at(2, PresenceChanged("worker", Presence.AVAILABLE)) == [("offer", "c", "worker")]
    clock.at(2, OfferDeclined("c", "worker"))
    assert clock.engine.estimate("c", 300.0).servers == 1.0
    assert clock.at(3, AgentLoggedIn("nurse")) == [("offer", "c", "nurse")]
    clock.at(3, OfferDeclined("c", "nurse"))
    assert clock.engine.estimate("c", 300.0).servers == 2.0


def test_a_second_overflow_keeps_the_reach_of_every_service_visited() -> None:
    steps_a = (Step(StepKind.REGION, 60), Step(StepKind.OVERFLOW, overflow_to="B"))
    steps_b = (Step(StepKind.REGION, 60), Step(StepKind.OVERFLOW, overflow_to="C"))
    services = [
        service("A", "social>=3", steps_a),
        service("B", "dental>=3", steps_b),
        service("C", "nursing>=2"),
    ]
    for who, skills in (("social", {"social": 3}), ("dental", {"dental": 3})):
        clock = Clock(engine(services, [agent(who, "s1", skills)]))
        out = clock.at(0, ContactArrived(ContactSpec("c", Channel.VOICE, "A", language="fi")))
        assert out == [
            ("overflowed", "c", "B"),
            ("overflowed", "c", "C"),
            ("queued", "c", "region"),
        ]
        assert clock.at(1, AgentLoggedIn(who)) == [("offer", "c", who)]


def test_a_supervisors_move_starts_afresh() -> None:
    clock = region(agent("worker", "s2", {"social": 4}))
    overflowed_at_once(clock)
    clock.at(1, ContactMoved("c", "dental"))
    assert clock.engine.contact("c").requirement == "lang:fi & dental"
    assert clock.at(2, AgentLoggedIn("worker")) == []


def test_the_reach_an_overflow_kept_survives_a_snapshot() -> None:
    clock = region(agent("worker", "s2", {"social": 4}))
    overflowed_at_once(clock)
    restored = Clock(codec.decode(codec.encode(clock.engine)))
    restored.now = clock.now
    assert restored.at(1, AgentLoggedIn("worker")) == [("offer", "c", "worker")]


def test_the_union_keeps_each_services_partner_gate() -> None:
    # Partner nurses may answer nursing advice only: after a mental-health call
    # overflows there, a partner nurse may take it, a partner mental-health worker not.
    catalogue = SkillCatalogue(
        CATALOGUE.skills,
        CATALOGUE.languages,
        (*CATALOGUE.authorisations, *gate_authorisations(["kp"])),
    )
    always = ((0, 24 * 60),)
    plan = CoverPlan("Europe/Helsinki", (always,) * 7)
    agents = [
        replace(agent("p_worker", "kokkola", {"social": 5}), partner="kp"),
        replace(agent("p_nurse", "kokkola", {"nursing": 3}), partner="kp"),
    ]
    policy = RoutingPolicy(
        catalogue,
        {
            s.name: s
            for s in (
                service("mental", "social>=3", MENTAL_STEPS),
                service("nurse", "nursing>=2", NURSE_STEPS),
            )
        },
        {a.id: a for a in agents},
        agreements={"kp": Agreement("kp", frozenset({"nurse"}), plan, "Keski-Pohjanmaa")},
    )
    clock = Clock(Engine(policy))
    now = at("2026-12-07 10:00")
    clock.at(now, TimerDue())
    assert clock.at(now, mental_call())[0] == ("overflowed", "c", "nurse")
    assert clock.at(now + 1, AgentLoggedIn("p_worker")) == []
    assert clock.at(now + 2, AgentLoggedIn("p_nurse")) == [("offer", "c", "p_nurse")]


# ---------------------------------------------------------------- over real HTTP

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"


async def test_over_http_an_urgent_mental_health_call_reaches_the_worker_who_logs_in(
    aiohttp_client: MakeClient,
) -> None:
    """The tester's case on the sample region: only a021 (mental health, chat only) is
    logged in when an urgent mental-health call comes from Vaasa; it overflows to
    nursing advice at once, and a011 (mental health 4, calls) logs in a second later."""
    client, _, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    await login(client, "a021")
    body = {
        "call_id": "mh1",
        "caller": "+358401000601",
        "site": "vaasa",
        "ivr": {"service": "mental_health", "language": "fi", "urgency": "urgent"},
    }
    r = await client.post(CALLS, json=body, headers=bearer("telephony"))
    assert r.status in (200, 201), await r.text()
    assert (await r.json())["action"] == "queue"
    clock.t += 1
    a011 = await login(client, "a011")
    offer = await a011.next("offer")
    assert offer["contact"]["id"] == "phone-mh1"
    assert offer["contact"]["service"] == "nursing_advice"
    r = await client.get(f"{CALLS}/mh1", headers=bearer("telephony"))
    assert (await r.json())["agent_id"] == "a011"
