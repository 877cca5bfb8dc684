"""End to end over loopback: supervisors edit agents and services live, move and offer
contacts, and watch statistics and alerts over REST and a websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientWebSocketResponse, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.core.events import CustomersSeen
from router.instance import stats_for
from router.service.service import Service, Settings
from router.service.stats import PUSHER_TASK
from tests.service_support import (
    agent_ws,
    bearer,
    make_service,
    next_of,
    region,
    sample_region,
    served_at,
)

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

SUP = bearer("supervisor")
A005 = {
    "name": "Pekka Laine",
    "team": "vaasa-nurses",
    "skills": {"nursing": 2},
    "languages": ["fi"],
    "capacity": {"voice": 1, "callback": 1},
}


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    return client, service


async def call(
    client: Client,
    call_id: str,
    language: str = "fi",
    urgency: str | None = None,
    site: str | None = "vaasa",
) -> dict[str, Any]:
    ivr: dict[str, Any] = {"service": "nursing_advice", "language": language}
    if urgency is not None:
        ivr["urgency"] = urgency
    body: dict[str, Any] = {"call_id": call_id, "caller": "+358401234567", "ivr": ivr}
    if site is not None:
        body["site"] = site
    r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
    assert r.status == 201, await r.text()
    result: dict[str, Any] = await r.json()
    return result


async def answer(client: Client, call_id: str, agent_id: str) -> None:
    r = await client.post(
        f"/api/channels/phone/calls/{call_id}/answered",
        json={"agent_id": agent_id},
        headers=bearer("telephony"),
    )
    assert (await r.json())["action"] == "connected"


async def get(client: Client, path: str, status: int = 200) -> Any:
    r = await client.get(path, headers=SUP)
    assert r.status == status, await r.text()
    return await r.json()


async def send(
    client: Client, method: str, path: str, body: object, status: int = 200
) -> dict[str, Any]:
    r = await client.request(method, path, json=body, headers=SUP)
    assert r.status == status, await r.text()
    result: dict[str, Any] = await r.json()
    return result


async def until(
    ws: ClientWebSocketResponse, kind: str, test: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The next message of ``kind`` that passes ``test``."""

    async def wait() -> dict[str, Any]:
        while True:
            msg = await next_of(ws, kind)
            if test(msg):
                return msg

    return await asyncio.wait_for(wait(), 3)


def problem_fields(error: dict[str, Any]) -> set[str]:
    return {p["field"] for p in error["error"]["problems"]}


async def waiting_ids(client: Client) -> list[str]:
    page = await get(client, "/api/supervisor/contacts?state=waiting")
    return [c["id"] for c in page["contacts"]]


# ------------------------------------------------------------------ agents


async def test_a_finnish_only_agent_given_swedish_is_offered_the_waiting_swedish_call(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    ws = await agent_ws(client, "a005")  # nursing 2, Finnish only, available
    assert (await call(client, "sv1", language="sv"))["action"] == "queue"
    before = await get(client, "/api/supervisor/agents/a005")
    assert before["languages"] == ["fi"] and before["status"] == "available"

    after = await send(
        client, "PUT", "/api/supervisor/agents/a005", {**A005, "languages": ["fi", "sv"]}
    )
    assert after["languages"] == ["fi", "sv"]
    offer = await next_of(ws, "offer")
    assert offer["contact"]["id"] == "phone-sv1"
    assert offer["contact"]["language"] == "sv"
    # The agent's own connection hears of the change too.
    assert (await next_of(ws, "agent"))["agent"]["id"] == "a005"
    r = await client.get("/api/channels/phone/calls/sv1", headers=bearer("telephony"))
    assert (await r.json())["agent_id"] == "a005"
    listed = await get(client, "/api/supervisor/agents")
    a005 = next(a for a in listed["agents"] if a["id"] == "a005")
    assert a005["contacts"] == ["phone-sv1"] and a005["skills"] == {"nursing": 2}
    await ws.close()


async def test_a_bad_agent_edit_is_refused_with_every_problem_and_changes_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    spec = service.engine.agent("a005").spec
    before = await get(client, "/api/supervisor/agents/a005")
    bad = {
        **A005,
        "id": "a006",
        "skills": {"nursing": 7, "astrology": 1},
        "languages": ["fi", "de"],
        "capacity": {"voice": -1},
        "team": "no-such-team",
        "extra": True,
    }
    error = await send(client, "PUT", "/api/supervisor/agents/a005", bad, 400)
    assert problem_fields(error) == {
        "id",
        "skills.nursing",
        "skills.astrology",
        "languages[1]",
        "capacity.voice",
        "team",
        "extra",
    }
    reasons = {p["field"]: p["reason"] for p in error["error"]["problems"]}
    assert reasons["skills.nursing"] == "proficiency must be 1..5, got 7"
    assert service.engine.agent("a005").spec is spec
    assert await get(client, "/api/supervisor/agents/a005") == before
    error = await send(client, "PUT", "/api/supervisor/agents/a005", [1, 2], 400)
    assert problem_fields(error) == {"(body)"}
    missing = {k: v for k, v in A005.items() if k != "languages"}
    error = await send(client, "PUT", "/api/supervisor/agents/a005", missing, 400)
    assert problem_fields(error) == {"languages"}
    await send(client, "PUT", "/api/supervisor/agents/nobody", A005, 404)
    await get(client, "/api/supervisor/agents/nobody", 404)
    assert service.engine.agent("a005").spec is spec


async def test_an_agent_edit_with_a_null_id_keeps_the_paths_id(
    served: tuple[Client, Service],
) -> None:
    """null counts as absent everywhere in an entry, the id too (it was once taken as a
    different id and refused)."""
    client, service = served
    agent = await send(client, "PUT", "/api/supervisor/agents/a005", {**A005, "id": None})
    assert agent["id"] == "a005"
    assert service.engine.agent("a005").spec.id == "a005"
    error = await send(client, "PUT", "/api/supervisor/agents/a005", {**A005, "id": "a006"}, 400)
    assert problem_fields(error) == {"id"}


async def test_moving_an_agent_changes_team_and_site(served: tuple[Client, Service]) -> None:
    client, service = served
    moved = await send(
        client, "POST", "/api/supervisor/agents/a005/move", {"team": "jakobstad-nurses"}
    )
    assert (moved["team"], moved["site"]) == ("jakobstad-nurses", "jakobstad")
    assert moved["skills"] == {"nursing": 2}  # everything else kept
    moved = await send(
        client,
        "POST",
        "/api/supervisor/agents/a005/move",
        {"team": "vaasa-nurses", "site": "narpes"},
    )
    assert (moved["team"], moved["site"]) == ("vaasa-nurses", "narpes")
    spec = service.engine.agent("a005").spec
    error = await send(
        client, "POST", "/api/supervisor/agents/a005/move", {"team": "x", "site": "y"}, 400
    )
    assert problem_fields(error) == {"team", "site"}
    error = await send(client, "POST", "/api/supervisor/agents/a005/move", {}, 400)
    assert problem_fields(error) == {"team"}
    assert service.engine.agent("a005").spec is spec


async def test_forcing_presence_on_an_agent_with_work_in_hand(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    ws = await agent_ws(client, "a001")
    assert (await call(client, "k1"))["action"] == "connect"
    await answer(client, "k1", "a001")
    path = "/api/supervisor/agents/a001/presence"

    for presence in ("not_ready", "offline"):
        error = await send(client, "POST", path, {"presence": presence}, 409)
        assert error["error"]["code"] == "conflict"
        agent = await get(client, "/api/supervisor/agents/a001")
        assert (agent["status"], agent["presence"], agent["contacts"]) == (
            "busy",
            "available",
            ["phone-k1"],
        )

    agent = await send(
        client, "POST", path, {"presence": "not_ready", "reason": "meeting", "force": True}
    )
    assert (agent["presence"], agent["reason"], agent["contacts"]) == (
        "not_ready",
        "meeting",
        ["phone-k1"],
    )
    await until(ws, "agent", lambda m: m["agent"]["presence"] == "not_ready")
    agent = await send(client, "POST", path, {"presence": "offline", "force": True})
    assert (agent["status"], agent["contacts"]) == ("offline", [])
    assert await waiting_ids(client) == ["phone-k1"]  # back in its place

    # Available logs an offline agent in; it is offered the call again at once.
    agent = await send(client, "POST", path, {"presence": "available"})
    assert agent["status"] == "busy" and agent["contacts"] == ["phone-k1"]
    assert (await next_of(ws, "offer"))["contact"]["id"] == "phone-k1"

    error = await send(client, "POST", path, {"presence": "asleep", "force": "yes"}, 400)
    assert problem_fields(error) == {"presence", "force"}
    error = await send(client, "POST", path, {"presence": "available", "reason": "x"}, 400)
    assert problem_fields(error) == {"reason"}
    # A reason is shown in every agent list: at most 200 characters, as the agent's own.
    long = {"presence": "not_ready", "reason": "x" * 201, "force": True}
    error = await send(client, "POST", path, long, 400)
    assert problem_fields(error) == {"reason"}
    assert "at most 200 characters, got 201" in json.dumps(error)
    await send(client, "POST", "/api/supervisor/agents/nobody/presence", {}, 404)
    # An offline agent set not ready is logged in, not ready, with the supervisor's reason.
    agent = await send(
        client, "POST", "/api/supervisor/agents/a002/presence", {"presence": "not_ready"}
    )
    assert (agent["status"], agent["reason"]) == ("not_ready", "supervisor")
    await ws.close()


# ------------------------------------------------------------------ services


async def test_a_new_target_reorders_the_waiting_contacts(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    await call(client, "a", urgency="P4")  # due in 2 h
    await call(client, "b", urgency="P3")  # due in 1 h: first
    page = await get(client, "/api/supervisor/contacts")
    assert [(c["id"], c["position"]) for c in page["contacts"]] == [
        ("phone-b", 1),
        ("phone-a", 2),
    ]
    assert page["contacts"][0]["step"] == "relaxed"  # nobody logged in: the last step
    due_b = page["contacts"][0]["due_at"]

    changed = await send(
        client,
        "PATCH",
        "/api/supervisor/services/nursing_advice",
        {"urgencies": {"P3": {"target_s": 9000}}},
    )
    assert changed["urgencies"]["P3"] == {"target_s": 9000}
    assert changed["urgencies"]["P1"] == {"target_s": 600, "warn_before_s": 180}  # merged
    assert changed["steps"][0] == {"kind": "own_site", "duration_s": 90}
    assert await waiting_ids(client) == ["phone-a", "phone-b"]
    page = await get(client, "/api/supervisor/contacts?service=nursing_advice&limit=1&offset=1")
    assert page["total"] == 2 and page["contacts"][0]["id"] == "phone-b"
    assert page["contacts"][0]["due_at"] == pytest.approx(due_b - 3600 + 9000)
    listed = await get(client, "/api/supervisor/services")
    assert [s["name"] for s in listed["services"]] == list(service.region.services)


async def test_bad_service_changes_are_refused_and_change_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    await call(client, "a", urgency="P3")
    path = "/api/supervisor/services/nursing_advice"
    before = await get(client, path)
    spec = service.engine.service("nursing_advice")
    bad = {
        "urgencies": {"P3": {"target_s": -1}},
        "agent_choice": "random",
        "warn_fraction": 1.5,
        "steps": [{"kind": "own_site"}],
        "name": "other",
        "bogus": 1,
    }
    error = await send(client, "PATCH", path, bad, 400)
    assert problem_fields(error) == {
        "urgencies.P3.target_s",
        "agent_choice",
        "warn_fraction",
        "steps",
        "name",
        "bogus",
    }
    error = await send(
        client,
        "PATCH",
        path,
        {"steps": [{"kind": "overflow", "overflow_to": "mental_health"}]},
        400,
    )
    assert error["error"]["problems"] == [
        {
            "field": "steps[0].overflow_to",
            "reason": "overflow loop: nursing_advice -> mental_health -> nursing_advice",
        }
    ]
    error = await send(client, "PATCH", path, {"requirement": "nursing>=9"}, 400)
    assert problem_fields(error) == {"requirement"}
    # A class with a contact waiting in it cannot be dropped.
    error = await send(client, "PATCH", path, {"urgencies": {"P3": None}}, 409)
    assert "P3" in error["error"]["message"]
    await send(client, "PATCH", path, ["not", "a", "patch"], 400)
    await send(client, "PATCH", "/api/supervisor/services/astrology", {}, 404)
    await get(client, "/api/supervisor/services/astrology", 404)
    assert service.engine.service("nursing_advice") is spec
    assert await get(client, path) == before
    # null puts an optional setting back to its default.
    changed = await send(client, "PATCH", path, {"wrapup_s": None, "agent_choice": None})
    assert (changed["wrapup_s"], changed["agent_choice"]) == (0.0, "longest_idle")


# ------------------------------------------------------------------ contacts


async def test_supervisors_move_a_contact_and_offer_it_to_a_named_agent(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    a005 = await agent_ws(client, "a005", login=False)
    await a005.send_json({"type": "login", "presence": "not_ready"})
    await next_of(a005, "ack")
    a007 = await agent_ws(client, "a007", login=False)  # dental only
    await a007.send_json({"type": "login", "presence": "not_ready"})
    await next_of(a007, "ack")
    await call(client, "k1")
    await call(client, "k2", site="jakobstad")
    page = await get(client, "/api/supervisor/contacts?site=jakobstad")
    assert [c["id"] for c in page["contacts"]] == ["phone-k2"]

    moved = await send(
        client, "POST", "/api/supervisor/contacts/phone-k1/move", {"service": "oral_health"}
    )
    assert (moved["service"], moved["state"], moved["position"]) == ("oral_health", "waiting", 1)
    page = await get(client, "/api/supervisor/contacts?service=oral_health")
    assert [c["id"] for c in page["contacts"]] == ["phone-k1"]
    error = await send(
        client, "POST", "/api/supervisor/contacts/phone-k1/move", {"service": "astrology"}, 400
    )
    assert problem_fields(error) == {"service"}
    await send(
        client, "POST", "/api/supervisor/contacts/nobody/move", {"service": "oral_health"}, 404
    )
    await send(
        client, "POST", "/api/supervisor/contacts/phone-k1/move", {"service": "nursing_advice"}
    )

    offer = "/api/supervisor/contacts/phone-k1/offer"
    error = await send(client, "POST", offer, {"agent_id": "a007"}, 409)  # not a nurse
    assert "requirement" in error["error"]["message"]
    await send(client, "POST", offer, {"agent_id": "a010"}, 409)  # not logged in
    await send(client, "POST", offer, {"agent_id": "nobody"}, 404)
    await send(client, "POST", offer, {}, 400)
    assert service.engine.contact("phone-k1").state.value == "waiting"

    offered = await send(client, "POST", offer, {"agent_id": "a005"})  # not ready: overridden
    assert (offered["state"], offered["agent_id"], offered["position"]) == ("offered", "a005", None)
    assert (await next_of(a005, "offer"))["contact"]["id"] == "phone-k1"
    await send(
        client, "POST", "/api/supervisor/contacts/phone-k1/move", {"service": "oral_health"}, 409
    )
    page = await get(client, "/api/supervisor/contacts")
    assert [(c["id"], c["state"]) for c in page["contacts"]] == [
        ("phone-k2", "waiting"),
        ("phone-k1", "offered"),
    ]
    page = await get(client, "/api/supervisor/contacts?state=offered")
    assert [c["id"] for c in page["contacts"]] == ["phone-k1"]
    error = await get(
        client, "/api/supervisor/contacts?state=closed&limit=0&offset=x&site=y&servic=z", 400
    )
    assert problem_fields(error) == {"state", "limit", "offset", "site", "servic"}
    await a005.close()
    await a007.close()


# ------------------------------------------------------------------ statistics


def block(stats: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(b for b in stats[f"{kind}s"] if b[kind] == name)
    return found


async def test_statistics_per_service_and_site(served: tuple[Client, Service]) -> None:
    client, _ = served
    a001 = await agent_ws(client, "a001")  # nursing 4, omaolo, Vaasa
    a005 = await agent_ws(client, "a005", login=False)
    await a005.send_json({"type": "login", "presence": "not_ready"})
    await next_of(a005, "ack")
    stats = await get(client, "/api/supervisor/stats")
    nursing = block(stats, "service", "nursing_advice")
    assert nursing["agents"] == {"available": 1, "busy": 0, "not_ready": 1, "wrap_up": 0}
    assert block(stats, "service", "symptom_assessment")["agents"]["available"] == 1
    assert block(stats, "service", "oral_health")["agents"]["available"] == 0
    assert block(stats, "site", "vaasa")["agents"]["not_ready"] == 1
    assert nursing["waiting"] == 0 and nursing["oldest_wait_s"] is None

    await call(client, "k1")
    await answer(client, "k1", "a001")
    await call(client, "k2", site="jakobstad")
    stats = await get(client, "/api/supervisor/stats")
    nursing = block(stats, "service", "nursing_advice")
    assert nursing["agents"] == {"available": 0, "busy": 1, "not_ready": 1, "wrap_up": 0}
    assert (nursing["waiting"], nursing["answered_today"]) == (1, 1)
    assert nursing["answered_within_target_today"] == 1 and nursing["service_level"] == 1.0
    assert nursing["oldest_wait_s"] >= 0
    vaasa, jakobstad = block(stats, "site", "vaasa"), block(stats, "site", "jakobstad")
    assert (vaasa["waiting"], vaasa["answered_today"]) == (0, 1)
    assert (jakobstad["waiting"], jakobstad["answered_today"]) == (1, 0)
    assert stats["totals"]["waiting"] == 1 and stats["totals"]["answered_today"] == 1
    assert stats["timezone"] == "Europe/Helsinki"
    await a001.close()
    await a005.close()


async def test_answered_counts_start_again_on_a_new_day_in_the_regions_time_zone(
    aiohttp_client: MakeClient,
) -> None:
    helsinki = ZoneInfo("Europe/Helsinki")
    # 23:30 in Helsinki is still 21:30 the same day in UTC.
    clock = [datetime(2025, 3, 3, 23, 30, tzinfo=helsinki).timestamp()]
    service = Service(region(), Settings(), clock=lambda: clock[0])
    client = await aiohttp_client(build_app(service))
    ws = await agent_ws(client, "a001")
    await call(client, "k1")
    await answer(client, "k1", "a001")
    await call(client, "k2")  # waits: a001 is busy
    clock[0] += 2 * 3600 + 60  # past k2's target of two hours
    a002 = await agent_ws(client, "a002")
    await answer(client, "k2", "a002")
    stats = await get(client, "/api/supervisor/stats")
    assert stats["day"] == "2025-03-04"
    nursing = block(stats, "service", "nursing_advice")
    # k1 was answered on the 3rd; k2 on the 4th, late.
    assert (nursing["answered_today"], nursing["answered_within_target_today"]) == (1, 0)
    assert nursing["service_level"] == 0.0
    clock[0] += 86400
    stats = await get(client, "/api/supervisor/stats")
    assert stats["day"] == "2025-03-05" and stats["totals"]["answered_today"] == 0
    await ws.close()
    await a002.close()


async def test_statistics_and_deadline_alerts_are_pushed_over_the_websocket(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    stats = stats_for(service)
    stats.interval = 0.05
    await send(
        client,
        "PATCH",
        "/api/supervisor/services/nursing_advice",
        {"urgencies": {"P4": {"target_s": 0.4}}},
    )
    ws = await client.ws_connect("/api/supervisor/ws?access_token=demo-supervisor")
    first = await next_of(ws, "stats")
    assert block(first, "service", "nursing_advice")["waiting"] == 0
    await call(client, "late")  # default class P4, now due in 0.4 s; nobody logged in

    seen: list[dict[str, Any]] = []

    async def until_missed() -> None:
        while not seen or seen[-1].get("kind") != "deadline_missed":
            seen.append(await ws.receive_json())

    await asyncio.wait_for(until_missed(), 3)
    assert any(
        m["type"] == "stats" and block(m, "service", "nursing_advice")["waiting"] == 1 for m in seen
    )
    warning, missed = [m for m in seen if m["type"] == "alert"]
    assert warning["kind"] == "escalation_warning"
    assert missed["kind"] == "deadline_missed"
    assert missed["contact_id"] == "phone-late" and missed["service"] == "nursing_advice"
    assert missed["due_at"] == service.engine.contact("phone-late").due_at

    await ws.send_json({"type": "stats"})
    assert (await next_of(ws, "stats"))["totals"]["waiting"] == 1
    await ws.send_str("nonsense")  # not JSON: the same code as on every websocket
    assert (await next_of(ws, "error"))["code"] == "invalid_json"
    await ws.send_json({"type": "other"})
    assert (await next_of(ws, "error"))["code"] == "invalid_input"
    assert len(stats.sockets) == 1
    await ws.close()

    async def pusher_gone() -> None:
        while stats.sockets or any(t.get_name() == PUSHER_TASK for t in asyncio.all_tasks()):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(pusher_gone(), 2)
    assert not service.websockets


# ------------------------------------------------------------------ access


SUPERVISOR_ROUTES = [
    ("GET", "/api/supervisor/agents"),
    ("GET", "/api/supervisor/agents/a001"),
    ("PUT", "/api/supervisor/agents/a001"),
    ("POST", "/api/supervisor/agents/a001/move"),
    ("POST", "/api/supervisor/agents/a001/presence"),
    ("GET", "/api/supervisor/services"),
    ("GET", "/api/supervisor/services/nursing_advice"),
    ("PATCH", "/api/supervisor/services/nursing_advice"),
    ("GET", "/api/supervisor/contacts"),
    ("POST", "/api/supervisor/contacts/phone-k1/move"),
    ("POST", "/api/supervisor/contacts/phone-k1/offer"),
    ("GET", "/api/supervisor/stats"),
    ("GET", "/api/supervisor/ws"),
    ("GET", "/api/supervisor/services/oral_health/hours"),
]


async def test_every_supervisor_endpoint_needs_a_supervisor_token(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    spec = service.engine.agent("a001").spec
    for method, path in SUPERVISOR_ROUTES:
        r = await client.request(method, path, json={})
        assert r.status == 401, (method, path)
        for token in ("agent-a001", "telephony", "omaolo", "public"):
            r = await client.request(method, path, json={}, headers=bearer(token))
            assert r.status == 403, (method, path, token)
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/api/supervisor/ws?access_token=demo-agent-a001")
    assert refused.value.status == 403
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/api/supervisor/ws")
    assert refused.value.status == 401
    assert service.engine.agent("a001").spec is spec


async def test_the_opening_hours_in_force_today_with_their_source(
    aiohttp_client: MakeClient,
) -> None:
    # Thursday 2026-11-26, 10:00 in Helsinki.
    client, _, clock = await served_at(aiohttp_client, "2026-11-26 10:00", sample_region())
    # Child and family health: weekly hours, its chat keeps its own (Mon-Thu 09-15).
    family = await get(client, "/api/supervisor/services/child_family/hours")
    assert family == {
        "service": "child_family",
        "date": "2026-11-26",
        "timezone": "Europe/Helsinki",
        "open_now": True,
        "intervals": [{"from": "08:00", "to": "16:00"}],
        "source": "weekly",
        "holiday": None,
        "channels": {
            "chat": {
                "intervals": [{"from": "09:00", "to": "15:00"}],
                "source": "weekly",
                "holiday": None,
            }
        },
    }
    always = await get(client, "/api/supervisor/services/nursing_advice/hours")
    assert always["intervals"] == [{"from": "00:00", "to": "24:00"}]
    assert always["source"] == "always" and always["open_now"] is True

    # "Today" follows the region's clock: on Christmas Eve dental care is closed by
    # exception (the holiday is named too).
    clock.set("2026-12-24 10:00")
    dental = await get(client, "/api/supervisor/services/oral_health/hours")
    assert (dental["date"], dental["intervals"], dental["source"], dental["holiday"]) == (
        "2026-12-24",
        [],
        "exception",
        "Christmas Eve",
    )
    assert dental["open_now"] is False
    # Another day on request: Christmas Day closes it as a public holiday.
    christmas = await get(client, "/api/supervisor/services/oral_health/hours?date=2026-12-25")
    assert (christmas["intervals"], christmas["source"], christmas["holiday"]) == (
        [],
        "holiday",
        "Christmas Day",
    )
    clock.set("2026-12-28 07:59")
    monday = await get(client, "/api/supervisor/services/oral_health/hours")
    assert (monday["date"], monday["source"], monday["open_now"]) == ("2026-12-28", "weekly", False)

    r = await client.get("/api/supervisor/services/oral_health/hours?date=24.12.", headers=SUP)
    assert r.status == 400 and problem_fields(await r.json()) == {"date"}
    r = await client.get("/api/supervisor/services/nope/hours", headers=SUP)
    assert r.status == 404


async def test_an_edit_made_on_a_stale_read_is_refused_with_412_and_changes_nothing(
    served: tuple[Client, Service],
) -> None:
    """Two supervisors read the same service and agent; the second to save, with the
    ETag they read as If-Match, is told it changed meanwhile (412) instead of silently
    undoing the first one's change. Without If-Match the API applies as before."""
    client, service = served
    headers = {"Authorization": SUP["Authorization"]}
    read = await client.get("/api/supervisor/services/nursing_advice", headers=headers)
    tag = read.headers["ETag"]
    again = await client.get("/api/supervisor/services/nursing_advice", headers=headers)
    # the same state, the same tag (on any instance: there is no counter in it)
    assert tag.startswith('"') and again.headers["ETag"] == tag
    first = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"agent_choice": "least_occupied"},
        headers={**headers, "If-Match": tag},
    )
    assert first.status == 200 and first.headers["ETag"] != tag
    spec = service.engine.service("nursing_advice")
    second = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"agent_choice": "highest_proficiency"},
        headers={**headers, "If-Match": tag},
    )
    assert second.status == 412
    assert (await second.json())["error"]["code"] == "changed_since_read"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert service.engine.service("nursing_advice") is spec  # nothing changed
    # A body wrong whatever the settings in force is told as such: reading again and
    # resending it would only meet the 400 next.
    wrong = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"offer_timeout_s": -5},
        headers={**headers, "If-Match": tag},
    )
    assert wrong.status == 400
    assert [p["field"] for p in (await wrong.json())["error"]["problems"]] == ["offer_timeout_s"]
    assert service.engine.service("nursing_advice") is spec
    unconditional = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"agent_choice": "highest_proficiency"},
        headers=headers,
    )
    assert unconditional.status == 200

    read = await client.get("/api/supervisor/agents/a005", headers=headers)
    tag = read.headers["ETag"]
    moved = await client.post(
        "/api/supervisor/agents/a005/move",
        json={"team": "jakobstad-nurses"},
        headers={**headers, "If-Match": tag},
    )
    assert moved.status == 200
    agent = service.engine.agent("a005").spec
    stale = await client.put(
        "/api/supervisor/agents/a005",
        json={**A005, "skills": {"nursing": 3}},
        headers={**headers, "If-Match": tag},
    )
    assert stale.status == 412
    assert (await stale.json())["error"]["code"] == "changed_since_read"
    assert service.engine.agent("a005").spec is agent  # still moved, skills kept
    fresh = await client.put(
        "/api/supervisor/agents/a005",
        json={**A005, "team": "jakobstad-nurses", "skills": {"nursing": 3}},
        headers={**headers, "If-Match": moved.headers["ETag"]},
    )
    assert fresh.status == 200
    assert (await fresh.json())["team"] == "jakobstad-nurses"


async def test_the_list_names_each_waiting_contacts_eligible_agents_in_one_request(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    for agent in ("agent-a001", "agent-a002"):
        r = await client.post("/api/agent/login", json={}, headers=bearer(agent))
        assert r.status == 200
    await send(
        client,
        "POST",
        "/api/supervisor/agents/a001/presence",
        {"presence": "not_ready", "force": True},
    )
    await send(
        client,
        "POST",
        "/api/supervisor/agents/a002/presence",
        {"presence": "not_ready", "force": True},
    )
    await call(client, "e1")
    await call(client, "e2", language="sv")
    page = await get(client, "/api/supervisor/contacts?eligible=true")
    for contact in page["contacts"]:
        one = await get(client, f"/api/supervisor/contacts/{contact['id']}/eligible")
        assert contact["eligible"] == one["agents"]
    assert any(contact["eligible"] for contact in page["contacts"])
    plain = await get(client, "/api/supervisor/contacts")
    assert all("eligible" not in contact for contact in plain["contacts"])
    error = await get(client, "/api/supervisor/contacts?eligible=yes", 400)
    assert problem_fields(error) == {"eligible"}


async def test_the_statistics_name_versions_that_change_only_with_their_tables(
    aiohttp_client: MakeClient,
) -> None:
    # On a fixed clock: on the wall clock a timer falling due between two reads (a
    # partner's cover starting at 16:00 in Helsinki) is an apply of its own, which
    # may change the contacts' tag (one reload too many, by design).
    client, _, _ = await served_at(aiohttp_client, "2026-11-24 10:00")
    first = (await get(client, "/api/supervisor/stats"))["versions"]
    assert (await get(client, "/api/supervisor/stats"))["versions"] == first  # nothing changed
    await send(client, "POST", "/api/supervisor/agents/a002/presence", {"presence": "available"})
    second = (await get(client, "/api/supervisor/stats"))["versions"]
    assert second["agents"] != first["agents"]
    assert second["contacts"] == first["contacts"]
    await send(client, "PUT", "/api/supervisor/agents/a005", {**A005, "languages": ["fi", "sv"]})
    third = (await get(client, "/api/supervisor/stats"))["versions"]
    assert third["agents"] != second["agents"]  # a configuration change counts too
    await call(client, "v1")
    assert (await get(client, "/api/supervisor/stats"))["versions"]["contacts"] != first["contacts"]


async def test_an_agents_own_event_that_offers_a_waiting_contact_changes_the_contacts_version(
    served: tuple[Client, Service],
) -> None:
    """The versions are counted, not read off the tables: an agent's presence change
    leaves the contacts' version alone only when it moved no contact."""
    client, service = served
    await call(client, "w1")  # nobody is available: it waits
    assert service.engine.contact("phone-w1").state.value == "waiting"
    before = (await get(client, "/api/supervisor/stats"))["versions"]
    await send(client, "POST", "/api/supervisor/agents/a005/presence", {"presence": "available"})
    assert service.engine.contact("phone-w1").agent_id == "a005"  # offered to it at once
    after = (await get(client, "/api/supervisor/stats"))["versions"]
    assert after["contacts"] != before["contacts"]
    assert after["agents"] != before["agents"]


async def test_a_report_of_the_chat_customers_seen_changes_no_version(
    served: tuple[Client, Service],
) -> None:
    """Each instance reports its chat customers every few seconds in Redis mode: a
    console's contacts table must not reload on every report, only on what it shows."""
    client, service = served
    await call(client, "w1")
    before = (await get(client, "/api/supervisor/stats"))["versions"]
    for _ in range(3):
        await service.runtime.submit(CustomersSeen(("phone-w1", "gone"), 30.0, 60.0))
    assert (await get(client, "/api/supervisor/stats"))["versions"] == before
    await call(client, "w2")  # a real change still counts
    after = (await get(client, "/api/supervisor/stats"))["versions"]
    assert after["contacts"] != before["contacts"]


@pytest.fixture
def slow_submits(served: tuple[Client, Service], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every submit takes a round trip, as a store's does in Redis mode: edits sent
    together are both read and checked before either lands."""
    runtime = served[1].runtime
    real = runtime.submit

    async def slow(event: Any) -> Any:
        await asyncio.sleep(0.01)
        return await real(event)

    monkeypatch.setattr(runtime, "submit", slow)


async def test_two_edits_of_one_agent_against_the_same_read_never_both_land(
    served: tuple[Client, Service], slow_submits: None
) -> None:
    """The submit is a round trip (a store's, in Redis mode): two edits with one If-Match
    that are both checked before either lands must not both answer 200, the first
    silently undone by the second."""
    client, _ = served
    tag = (await client.get("/api/supervisor/agents/a005", headers=SUP)).headers["ETag"]
    headers = {**SUP, "If-Match": tag}
    one, two = await asyncio.gather(
        client.put(
            "/api/supervisor/agents/a005", json={**A005, "skills": {"nursing": 3}}, headers=headers
        ),
        client.put(
            "/api/supervisor/agents/a005", json={**A005, "languages": ["fi", "sv"]}, headers=headers
        ),
    )
    assert sorted([one.status, two.status]) == [200, 412]
    now = await get(client, "/api/supervisor/agents/a005")
    landed = (
        {**A005, "skills": {"nursing": 3}}
        if one.status == 200
        else {**A005, "languages": ["fi", "sv"]}
    )
    assert (now["skills"], now["languages"]) == (landed["skills"], landed["languages"])


async def test_a_move_is_made_on_the_settings_in_force_when_it_lands(
    served: tuple[Client, Service], slow_submits: None
) -> None:
    """A move rebuilds the agent from its settings: an edit landing while the move is
    on its way is kept, not undone by a move made from what was read before it."""
    client, _ = served
    edit, move = await asyncio.gather(
        client.put(
            "/api/supervisor/agents/a005", json={**A005, "languages": ["fi", "sv"]}, headers=SUP
        ),
        client.post(
            "/api/supervisor/agents/a005/move", json={"team": "jakobstad-nurses"}, headers=SUP
        ),
    )
    assert (edit.status, move.status) == (200, 200)
    now = await get(client, "/api/supervisor/agents/a005")
    assert (now["languages"], now["team"]) == (["fi", "sv"], "jakobstad-nurses")
