"""Partner regions covering evenings, from the outside: the sample region's Keski-Pohjanmaa
agents (``partners:`` in config/region.yaml: nursing_advice on Monday, Wednesday and
Friday 16-22 and weekend days) log in over the agent API and receive nursing-advice calls
only while cover is on, never the prescriptions one of them could take at home; an offer
open when cover ends is not withdrawn; the daily report counts what they answered.
Over real loopback HTTP and websockets, on a settable clock (virtual time)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.core.events import TimerDue
from router.service.service import Service
from tests.service_support import WallClock, bearer, login, served_at

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"


async def call(client: Client, call_id: str, service: str = "nursing_advice") -> str:
    body = {"call_id": call_id, "caller": "+358401234567", "ivr": {"service": service}}
    r = await client.post(CALLS, json=body, headers=bearer("telephony"))
    assert r.status == 201, await r.text()
    return f"phone-{call_id}"


async def at(service: Service, clock: WallClock, text: str) -> None:
    """Virtual time moves to ``text``: timers due by then fire."""
    clock.set(text)
    await service.runtime.submit(TimerDue())


async def agent_post(client: Client, agent: str, path: str, body: dict[str, Any]) -> None:
    r = await client.post(f"/api/agent/{path}", json=body, headers=bearer(f"agent-{agent}"))
    assert r.status == 200, await r.text()


def state(service: Service, contact_id: str) -> str:
    return service.engine.contact(contact_id).state.value


async def test_a_partner_agent_gets_the_named_service_when_cover_starts_and_nothing_else(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, "2026-11-30 15:50")  # Monday
    kp01 = await login(client, "kp01")  # nursing 4, prescriptions 2
    n1 = await call(client, "n1")
    rx1 = await call(client, "rx1", "prescriptions")
    assert (state(service, n1), state(service, rx1)) == ("waiting", "waiting")  # no cover yet

    await at(service, clock, "2026-11-30 16:00")
    offer = await kp01.next("offer")
    assert offer["contact"]["id"] == n1
    await agent_post(client, "kp01", f"offers/{n1}/accept", {})
    await agent_post(client, "kp01", f"contacts/{n1}/complete", {"outcome": "resolved"})
    await at(service, clock, "2026-11-30 16:10")  # wrap-up over: free, during cover
    assert service.engine.agent("kp01").status.value == "available"
    assert state(service, rx1) == "waiting"  # prescriptions: not in the agreement

    a001 = await login(client, "a001")  # the region's own: prescriptions 2
    assert (await a001.next("offer"))["contact"]["id"] == rx1
    await agent_post(client, "a001", f"offers/{rx1}/accept", {})

    r = await client.get(
        "/api/supervisor/reports/daily?date=2026-11-30&by=service", headers=bearer("supervisor")
    )
    report = await r.json()
    rows = {row["service"]: row for row in report["rows"]}
    assert (rows["nursing_advice"]["answered"], rows["nursing_advice"]["answered_by_partner"]) == (
        1,
        1,
    )
    assert (rows["prescriptions"]["answered"], rows["prescriptions"]["answered_by_partner"]) == (
        1,
        0,
    )
    assert report["total"]["answered_by_partner"] == 1


async def test_an_offer_open_when_cover_ends_is_kept_and_no_new_offers_follow(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-30 21:59:50"
    )  # offers last 20 s
    kp01 = await login(client, "kp01")
    await login(client, "kp02")
    n2 = await call(client, "n2")
    assert (await kp01.next("offer"))["contact"]["id"] == n2  # the longest idle

    await at(service, clock, "2026-11-30 22:00")  # cover ends, the offer is still open
    assert state(service, n2) == "offered"
    clock.set("2026-11-30 22:00:05")
    await agent_post(client, "kp01", f"offers/{n2}/accept", {})
    assert state(service, n2) == "assigned"

    clock.set("2026-11-30 22:01")
    n3 = await call(client, "n3")
    assert state(service, n3) == "waiting"  # kp02 is free, but cover has ended
    assert service.engine.agent("kp02").status.value == "available"
    await agent_post(client, "kp01", f"contacts/{n2}/complete", {"outcome": "resolved"})
    assert n2 not in service.engine.agent("kp01").contacts  # completed as usual

    # Wednesday 16:00: cover again, and the waiting call goes to the partner at once.
    await at(service, clock, "2026-12-02 16:00")
    assert service.engine.contact(n3).state.value == "offered"


async def test_a_partner_agent_outside_cover_is_offered_nothing(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, "2026-12-01 17:00")  # Tuesday
    await login(client, "kp02")
    n4 = await call(client, "n4")
    await at(service, clock, "2026-12-01 21:00")
    assert state(service, n4) == "waiting"
