"""End to end over loopback: public status per service (open, waiting, estimated wait),
without personal data."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.service.service import Service
from tests.service_support import (
    agent_ws,
    bearer,
    make_service,
    next_of,
    sample_region,
    served_at,
)

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

PUBLIC = bearer("public")
CALLER = "+358401234567"


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    return client, service


async def status(client: Client, path: str = "/api/public/services") -> Any:
    r = await client.get(path, headers=PUBLIC)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_with_nobody_logged_in_every_service_is_open_but_unstaffed_with_no_estimate(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    listed = await status(client)
    assert [s["service"] for s in listed] == list(service.region.services)
    assert all(
        s
        == {
            "service": s["service"],
            # The test region has no opening hours: open round the clock, whoever is in.
            "open": True,
            "in_hours": True,
            "staffed": False,
            "availability": "open_unstaffed",
            "waiting": 0,
            "estimated_wait": None,
        }
        for s in listed
    )


async def test_public_status_shows_waiting_counts_and_a_wait_range_without_personal_data(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    # a002 (nursing 3, one call at a time) is busy with a call, and a005 (nursing 2,
    # Finnish) is logged in but not ready, so calls wait.
    busy = await agent_ws(client, "a002")
    body = {"call_id": "secret-call-0", "caller": CALLER, "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
    assert (await r.json())["action"] == "connect"
    ws = await agent_ws(client, "a005", login=False)
    await ws.send_json({"type": "login", "presence": "not_ready"})
    await next_of(ws, "ack")
    for call_id in ("secret-call-1", "secret-call-2"):
        body = {
            "call_id": call_id,
            "caller": CALLER,
            "ivr": {"service": "nursing_advice", "language": "fi"},
            "site": "vaasa",
        }
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        assert (await r.json())["action"] == "queue"

    nursing = await status(client, "/api/public/services/nursing_advice")
    assert nursing["open"] is True and nursing["waiting"] == 2
    assert nursing["staffed"] is True and nursing["availability"] == "answering"
    wait = nursing["estimated_wait"]
    assert 0 <= wait["min_s"] < wait["max_s"]
    assert wait["min_s"] % 60 == 0 and wait["max_s"] % 60 == 0
    listed = await status(client)
    assert next(s for s in listed if s["service"] == "nursing_advice") == nursing
    oral = next(s for s in listed if s["service"] == "oral_health")
    assert oral == {
        "service": "oral_health",
        "open": True,
        "in_hours": True,
        "staffed": False,
        "availability": "open_unstaffed",
        "waiting": 0,
        "estimated_wait": None,
    }

    text = json.dumps(listed)
    for personal in ("secret-call", "phone-", CALLER, "a005", "Pekka", "Laine", "vaasa"):
        assert personal not in text
    fields = {"service", "open", "in_hours", "staffed", "availability", "waiting", "estimated_wait"}
    assert all(set(s) == fields for s in listed)

    r = await client.get("/api/public/services/astrology", headers=PUBLIC)
    assert r.status == 404
    await ws.close()
    await busy.close()


async def test_nurses_not_ready_do_not_shorten_the_published_wait(
    served: tuple[Client, Service],
) -> None:
    """An outside tester's find: with half the staff on a break the public status
    promised half the wait. Agents not ready are someone who can answer (``staffed``)
    but finish nobody's call, so the wait is what the agents serving give; with none
    serving it is unknown, never a short one."""
    client, service = served
    path = "/api/public/services/nursing_advice"
    sockets = []
    for nurse in ("a003", "a004", "a005"):  # nursing, Finnish
        ws = await agent_ws(client, nurse, login=False)
        await ws.send_json({"type": "login", "presence": "not_ready"})
        await next_of(ws, "ack")
        sockets.append(ws)
    for i in range(3):
        body = {"call_id": f"w{i}", "caller": CALLER, "ivr": {"service": "nursing_advice"}}
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        assert (await r.json())["action"] == "queue"
    nobody = await status(client, path)
    assert nobody["staffed"] is True and nobody["availability"] == "answering"
    assert nobody["waiting"] == 3 and nobody["estimated_wait"] is None
    # a002 logs in and is offered w0: one nurse serving; the wait is hers alone.
    busy = await agent_ws(client, "a002")
    assert service.engine.contact("phone-w0").agent_id == "a002"
    one = await status(client, path)
    assert one["waiting"] == 2 and one["estimated_wait"] is not None
    # The three not ready logging out leaves the published wait as it was.
    for ws in sockets:
        await ws.send_json({"type": "logout"})
        await next_of(ws, "ack")
    assert await status(client, path) == one
    for ws in (*sockets, busy):
        await ws.close()


async def test_public_status_needs_a_public_or_supervisor_token(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    for path in ("/api/public/services", "/api/public/services/nursing_advice"):
        assert (await client.get(path)).status == 401
        r = await client.get(path, headers={"Authorization": "Bearer wrong"})
        assert r.status == 401
        for token in ("agent-a001", "telephony", "website", "omaolo"):
            assert (await client.get(path, headers=bearer(token))).status == 403, token
        for token in ("public", "supervisor"):
            assert (await client.get(path, headers=bearer(token))).status == 200, token


async def test_a_round_the_clock_line_nobody_staffs_is_open_not_closed(
    served: tuple[Client, Service],
) -> None:
    """Opening (by hours) and staffing (someone can answer) are published apart: an
    unstaffed round-the-clock line still takes calls, so it must not read as closed."""
    client, _ = served
    path = "/api/public/services/nursing_advice"
    before = await status(client, path)
    assert before["open"] is True and before["staffed"] is False
    assert before["availability"] == "open_unstaffed" and "opens_at" not in before
    # A caller who rings now is queued, not turned away: the line is open.
    body = {"call_id": "n1", "caller": CALLER, "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
    assert (await r.json())["action"] == "queue"
    assert (await status(client, path))["waiting"] == 1

    ws = await agent_ws(client, "a005", login=False)  # nursing 2, Finnish
    await ws.send_json({"type": "login", "presence": "not_ready"})
    await next_of(ws, "ack")
    after = await status(client, path)
    assert after["open"] is True and after["staffed"] is True
    assert after["availability"] == "answering"
    await ws.close()


async def test_the_openapi_text_of_the_public_routes_names_every_field(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    doc = await (await client.get("/openapi.json")).json()
    for path in ("/api/public/services", "/api/public/services/{name}"):
        text = doc["paths"][path]["get"]["responses"]["200"]["description"]
        for field in ("`open`", "`staffed`", "`availability`", "`open_unstaffed`", "`opens_at`"):
            assert field in text, (path, field)


async def test_the_announced_position_counts_the_callers_own_line_not_the_whole_service(
    served: tuple[Client, Service],
) -> None:
    """As docs/service.md and the OpenAPI text say: a Finnish and a Swedish call for the
    same service wait for different agents, so each is first in its own line, while the
    public status counts both."""
    client, _ = served
    told = {}
    for call_id, language in (("p-fi-1", "fi"), ("p-sv-1", "sv"), ("p-fi-2", "fi")):
        body = {
            "call_id": call_id,
            "caller": CALLER,
            "ivr": {"service": "nursing_advice", "language": language},
        }
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        answer = await r.json()
        assert answer["action"] == "queue", answer
        told[call_id] = answer["announcement"]["position"]
    assert told == {"p-fi-1": 1, "p-sv-1": 1, "p-fi-2": 2}
    assert (await status(client, "/api/public/services/nursing_advice"))["waiting"] == 3
    doc = await (await client.get("/openapi.json")).json()
    assert "`position` counts only the contacts ahead of it" in doc["info"]["description"]


async def test_a_closed_service_has_no_estimate_even_when_its_agents_are_in(
    aiohttp_client: MakeClient,
) -> None:
    """At 03:00 prescriptions is closed; a001, who could serve it, is logged in. A contact
    arriving now waits for the opening, so no wait range is promised (the status page
    shows "–" too); nursing advice, open round the clock, has one."""
    client, _, _ = await served_at(aiohttp_client, "2026-11-24 03:00", sample_region())
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 200, await r.text()
    closed = await status(client, "/api/public/services/prescriptions")
    assert closed["availability"] == "closed" and closed["staffed"] is True
    assert closed["estimated_wait"] is None and closed["opens_at"] > 0
    assert (await status(client, "/api/public/services/nursing_advice"))["estimated_wait"]


async def test_with_an_agent_free_and_nobody_waiting_a_caller_is_told_no_wait(
    served: tuple[Client, Service],
) -> None:
    """The next call is connected at once: the public estimate says 0-2 min (at most the
    own-site step's 90 s before a caller's reach is the region and a001's), not a whole
    handle time (15-25 min, with a001 counted as a quarter of an agent)."""
    client, _ = served
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 200, await r.text()
    nursing = await status(client, "/api/public/services/nursing_advice")
    assert nursing["waiting"] == 0
    assert nursing["estimated_wait"] == {"min_s": 0.0, "max_s": 120.0}
    body = {
        "call_id": "n1",
        "caller": CALLER,
        "ivr": {"service": "nursing_advice", "language": "fi"},
    }
    r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
    assert (await r.json())["action"] == "connect"


async def test_a_callers_language_counts_only_the_agents_who_speak_it(
    served: tuple[Client, Service],
) -> None:
    """An outside tester saw /status?lang=sv promise 3-6 min while a Swedish call was told
    15-25 min: the public figure counted every nurse, the Finnish-only ones too."""
    client, _ = served
    path = "/api/public/services/nursing_advice"
    # Two Finnish-only nurses (a003, a005) and one Swedish-speaking (a004), all busy
    # (serving: not ready ones are no servers), and callers waiting.
    sockets = []
    for agent in ("a003", "a005", "a004"):
        ws = await agent_ws(client, agent)
        body = {"call_id": f"b-{agent}", "caller": CALLER, "ivr": {"service": "nursing_advice"}}
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        assert (await r.json())["agent_id"] == agent
        sockets.append(ws)
    for i in range(4):
        body = {"call_id": f"w{i}", "caller": CALLER, "ivr": {"service": "nursing_advice"}}
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        assert (await r.json())["action"] == "queue"
    anyone = await status(client, path)
    swedish = await status(client, f"{path}?language=sv")
    finnish = await status(client, f"{path}?language=fi")
    assert anyone["staffed"] and swedish["staffed"] and finnish["staffed"]
    # One Swedish speaker of three nurses: the Swedish caller waits longer.
    assert swedish["estimated_wait"]["max_s"] > anyone["estimated_wait"]["max_s"]
    assert finnish["estimated_wait"] == anyone["estimated_wait"]  # every nurse speaks Finnish
    listed = {s["service"]: s for s in await status(client, "/api/public/services?language=sv")}
    assert listed["nursing_advice"] == swedish
    # The Swedish speaker logs out: nobody can answer a Swedish caller, everyone else can.
    await sockets[2].send_json({"type": "logout"})
    await next_of(sockets[2], "ack")
    swedish = await status(client, f"{path}?language=sv")
    assert swedish["staffed"] is False and swedish["estimated_wait"] is None
    assert (await status(client, path))["staffed"] is True
    # The status page asks in its own language: unstaffed for its Swedish reader only.
    rows = {}
    for lang in ("sv", "fi"):
        page = await (await client.get(f"/status?lang={lang}")).text()
        rows[lang] = page.split('data-service="nursing_advice"')[1].split("</tr>")[0]
    assert "Ingen i tjänst just nu" in rows["sv"]
    assert "Ei päivystäjää juuri nyt" not in rows["fi"]
    # An unknown language is refused with the field named.
    r = await client.get(f"{path}?language=xx", headers=PUBLIC)
    assert r.status == 400
    assert [p["field"] for p in (await r.json())["error"]["problems"]] == ["language"]
    for ws in sockets:
        await ws.close()


async def test_an_agent_who_takes_no_calls_is_nobody_to_answer_a_caller(
    served: tuple[Client, Service],
) -> None:
    """The public status is "how long would I wait if I called now": a nurse who takes
    chats and work items only (a021) answers no call, so the line is unstaffed and
    promises no wait, as the queued callers' own announcements say (an outside
    tester's find: it said "answering, 3–6 min")."""
    client, _ = served
    ws = await agent_ws(client, "a021")
    for n in range(3):
        body = {
            "call_id": f"c{n}",
            "caller": CALLER,
            "ivr": {"service": "nursing_advice", "language": "fi"},
        }
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        answer = await r.json()
        assert answer["action"] == "queue"
        assert answer["announcement"]["estimated_wait"] is None
    nursing = await status(client, "/api/public/services/nursing_advice")
    assert nursing["waiting"] == 3
    assert nursing["staffed"] is False and nursing["availability"] == "open_unstaffed"
    assert nursing["estimated_wait"] is None
    await ws.close()
