"""The API the pages needed: a callback's attempts for the agent who has it, and the
agents a supervisor may offer a waiting contact to; and every label in every language."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from router.service.faces import pages_dir
from tests.service_support import bearer, login, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


async def test_an_agent_reads_the_attempts_of_its_own_callback_only(
    aiohttp_client: MakeClient,
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401112222", "service": "nursing_advice", "language": "fi"},
        headers=bearer("telephony"),
    )
    cid = (await r.json())["contact_id"]
    path = f"/api/agent/contacts/{cid}/attempts"
    agent = await login(client, "a001")
    assert (await agent.next("offer"))["contact"]["id"] == cid
    await agent.send({"type": "accept", "contact_id": cid})
    await agent.next("assigned")
    r = await client.get(path, headers=bearer("agent-a001"))
    assert r.status == 200 and (await r.json())["attempts"] == []
    await agent.send({"type": "attempt", "contact_id": cid, "result": "reached"})
    await agent.next("ack")
    r = await client.get(path, headers=bearer("agent-a001"))
    attempts = (await r.json())["attempts"]
    assert [(a["attempt"], a["result"]) for a in attempts] == [(1, "reached")]
    # Another agent, another role, an unknown contact:
    r = await client.get(path, headers=bearer("agent-a002"))
    assert r.status == 409
    r = await client.get(path, headers=bearer("supervisor"))
    assert r.status == 403
    r = await client.get("/api/agent/contacts/cb-nothing/attempts", headers=bearer("agent-a001"))
    assert r.status == 404
    r = await client.get(path)
    assert r.status == 401


async def test_a_supervisor_sees_who_may_be_offered_a_waiting_contact(
    aiohttp_client: MakeClient,
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    # a005 (nursing 2, Finnish) is busy with the first call; a002 (nursing 3) is not
    # ready; a011 has no nursing skill.
    a005 = await login(client, "a005")
    a002 = await login(client, "a002", presence="not_ready")
    await login(client, "a011")
    for n in (1, 2):
        call = {
            "call_id": f"el-{n}",
            "caller": "+358401234567",
            "ivr": {"service": "nursing_advice"},
        }
        r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
        assert r.status == 201
    await a005.next("offer")
    r = await client.get(
        "/api/supervisor/contacts/phone-el-2/eligible", headers=bearer("supervisor")
    )
    assert r.status == 200
    body = await r.json()
    agents = {a["id"]: (a["status"], a["free"]) for a in body["agents"]}
    assert agents == {"a005": ("busy", False), "a002": ("not_ready", True)}
    assert "nursing" in body["requirement"]
    r = await client.get("/api/supervisor/contacts/nothing/eligible", headers=bearer("supervisor"))
    assert r.status == 404
    r = await client.get(
        "/api/supervisor/contacts/phone-el-2/eligible", headers=bearer("agent-a001")
    )
    assert r.status == 403
    await a002.close()


def test_every_label_is_in_finnish_swedish_and_english_and_every_used_label_exists() -> None:
    labels = json.loads((pages_dir() / "labels.json").read_text(encoding="utf-8"))
    assert set(labels) == {"fi", "sv", "en"}
    assert set(labels["fi"]) == set(labels["sv"]) == set(labels["en"])
    assert all(text.strip() for lang in labels.values() for text in lang.values())
    used: set[str] = set()
    for page in Path(pages_dir()).iterdir():
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".html":
            used |= set(re.findall(r'data-i18n(?:-label|-title)?="([^"]+)"', text))
        if page.suffix == ".js":
            used |= set(re.findall(r'\bt\("([a-z_.]+)"', text))
    assert used, "no labels found in the pages"
    assert sorted(used - set(labels["en"])) == []
