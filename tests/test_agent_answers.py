"""The agent's REST answers, the chat's agent routes and the public status hold to the
response schemas the OpenAPI document publishes (``router.service.agent_answers``):
every answer of each route, driven over real loopback HTTP, in each of its forms (an
agent logged in or not, a contact offered or assigned, re-classified, with or without
attributes; a service open or closed, with an estimate or none)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema_rs

from router.core.events import TimerDue
from tests.service_support import (
    Client,
    bearer,
    customer,
    login,
    sample_region,
    served_at,
)

MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"
PHONE = "+358401234567"
CALL = {"call_id": "k1", "caller": PHONE, "ivr": {"service": "nursing_advice", "language": "fi"}}
ITEM = {
    "source": "omaolo",
    "item_id": "OA-1",
    "service": "symptom_assessment",
    "topic": "respiratory",
    "urgency": "P5",
    "link": "https://omaolo.example/items/OA-1",
    "phone": PHONE,
    "language": "fi",
}
START = {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}


class Answers:
    """Sends requests and keeps each answer with its documented route."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[tuple[str, str, Any]] = []

    async def send(self, method: str, url: str, path: str, token: str, body: object = None) -> Any:
        r = await self.client.request(method, url, json=body, headers=bearer(token))
        assert r.status == 200, (url, r.status, await r.text())
        answer = await r.json()
        self.seen.append((path, method.lower(), answer))
        return answer

    async def act(self, agent: str, action: str, body: object = None) -> Any:
        url = f"/api/agent/{action}"
        path = url
        for cid in ("phone-k1", "phone-k2", "wi-omaolo-OA-1", "phone-c1"):
            path = path.replace(cid, "{contact_id}")
        return await self.send("POST", url, path, f"agent-{agent}", body)

    async def check(self) -> set[tuple[str, str]]:
        """Every answer seen against its route's published 200 schema; the routes."""
        doc = await (await self.client.get("/openapi.json")).json()
        for path, method, answer in self.seen:
            documented = doc["paths"][path][method]["responses"]["200"]
            schema = documented["content"]["application/json"]["schema"]
            validator = jsonschema_rs.validator_for(schema)
            errors = [str(e) for e in validator.iter_errors(answer)]
            assert errors == [], (path, method, answer, errors)
            if isinstance(answer, dict):
                # Closed: a key the shape does not know is not valid.
                assert not validator.is_valid({**answer, "surprise": 1}), (path, method)
        return {(path, method) for path, method, _ in self.seen}


async def test_the_agent_routes_answers_match_their_documented_schemas(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    a = Answers(client)
    state = "/api/agent/state"
    offline = await a.send("GET", state, state, "agent-a001")
    assert offline["agent"]["status"] == "offline" and offline["contacts"] == []
    await a.act("a001", "login", {})
    away = await a.act("a001", "presence", {"presence": "not_ready", "reason": "break"})
    assert away["agent"]["reason"] == "break"
    await a.act("a001", "presence", {"presence": "available"})
    assert await a.act("a001", "heartbeat") == {}

    # A work item of the same person (linked, with a link and attributes) and a call,
    # both offered to a001 (the only one logged in): it takes the call, declines the item.
    r = await client.post("/api/channels/workitems", json=ITEM, headers=bearer("omaolo"))
    assert r.status == 201, await r.text()
    r = await client.post(CALLS, json=CALL, headers=bearer("telephony"))
    assert (await r.json())["agent_id"] == "a001"
    offered = await a.send("GET", state, state, "agent-a001")
    assert {(c["id"], c["state"]) for c in offered["contacts"]} == {
        ("phone-k1", "offered"),
        ("wi-omaolo-OA-1", "offered"),
    }
    assert all("offer_expires_at" in c for c in offered["contacts"])
    await a.act("a001", "offers/phone-k1/accept")
    await a.act("a001", "offers/wi-omaolo-OA-1/decline")
    both = await a.act("a001", "contacts/phone-k1/urgency", {"urgency": "P3"})
    assert (both["contact"]["urgency"], both["contact"]["original_urgency"]) == ("P3", "P4")
    linked_url = "/api/agent/contacts/phone-k1/linked"
    linked = await a.send(
        "GET", linked_url, "/api/agent/contacts/{contact_id}/linked", "agent-a001"
    )
    assert [c["id"] for c in linked["open"]] == ["wi-omaolo-OA-1"]
    assert "attributes" in linked["open"][0] and "link" in linked["open"][0]
    done = await a.act("a001", "contacts/phone-k1/complete", {"outcome": "resolved"})
    assert done["agent"]["status"] == "wrap_up"
    assert done["agent"]["wrapup_until"] is not None
    await a.act("a001", "contacts/wi-omaolo-OA-1/merge", {"into": "phone-k1"})
    await a.act("a001", "wrapup-done")

    # A call that waits for nobody (a001 not ready) becomes a callback, with attempts.
    await a.act("a001", "presence", {"presence": "not_ready", "reason": "break"})
    r = await client.post(CALLS, json={**CALL, "call_id": "k2"}, headers=bearer("telephony"))
    assert (await r.json())["action"] == "queue"
    r = await client.post(f"{CALLS}/k2/callback", json={}, headers=bearer("telephony"))
    assert (await r.json())["action"] == "callback", await r.text()
    await a.act("a001", "presence", {"presence": "available"})
    attempts_url = "/api/agent/contacts/phone-k2/attempts"
    attempts_path = "/api/agent/contacts/{contact_id}/attempts"
    await a.act("a001", "offers/phone-k2/accept")
    none_yet = await a.send("GET", attempts_url, attempts_path, "agent-a001")
    assert none_yet["attempts"] == []
    await a.act("a001", "contacts/phone-k2/attempts", {"result": "no_answer"})
    clock.t += 900  # the retry falls due and is offered again
    await service.runtime.submit(TimerDue())
    # Silent for the 15 minutes, a001 was set not ready: it comes back to take the retry.
    back = await a.act("a001", "presence", {"presence": "available"})
    assert back["agent"]["contacts"] == ["phone-k2"]
    await a.act("a001", "offers/phone-k2/accept")
    (tried,) = (await a.send("GET", attempts_url, attempts_path, "agent-a001"))["attempts"]
    assert tried["result"] == "no_answer" and tried["retry_at"] is not None
    await a.act("a001", "contacts/phone-k2/attempts", {"result": "reached"})
    both_tries = (await a.send("GET", attempts_url, attempts_path, "agent-a001"))["attempts"]
    assert [t["retry_at"] is None for t in both_tries] == [False, True]
    await a.act("a001", "contacts/phone-k2/complete", {})

    await a.act("a001", "logout", {"force": True})

    # The chat's agent routes: a Swedish chat for a004 (over its websocket).
    agent = await login(client, "a004")
    chat = await customer(client)
    await chat.send(START)
    await chat.next("session")
    offer = await agent.next("offer")
    cid = offer["contact"]["id"]
    await agent.send({"type": "accept", "contact_id": cid})
    await agent.next("assigned")
    await chat.send({"type": "message", "text": "first"})
    await agent.next("chat.message")
    chat_path = "/api/channels/chat/{contact_id}"
    said = await a.send(
        "POST",
        f"/api/channels/chat/{cid}/messages",
        f"{chat_path}/messages",
        "agent-a004",
        {"text": "ok"},
    )
    assert said["message"]["from"] == "agent"
    transcript = await a.send(
        "GET", f"/api/channels/chat/{cid}/transcript", f"{chat_path}/transcript", "agent-a004"
    )
    assert [m["from"] for m in transcript["messages"]] == ["customer", "agent"]
    await chat.close()
    await agent.close()

    routes = await a.check()
    assert len(routes) == 16


async def test_the_public_status_matches_its_documented_schema(
    aiohttp_client: MakeClient,
) -> None:
    """Open and closed services (with their next opening), with an estimate and none."""
    client, _, _ = await served_at(aiohttp_client, "2026-11-24 03:00", sample_region())
    a = Answers(client)
    one = "/api/public/services/{name}"
    night = await a.send("GET", "/api/public/services", "/api/public/services", "public")
    assert {s["availability"] for s in night} >= {"closed"}
    assert any("opens_at" in s for s in night)
    await a.send("GET", "/api/public/services/nursing_advice", one, "public")
    await a.act("a001", "login", {})
    day = await a.send("GET", "/api/public/services", "/api/public/services", "public")
    assert any(s["estimated_wait"] is not None for s in day)
    assert any(s["estimated_wait"] is None for s in night)
    await a.check()
