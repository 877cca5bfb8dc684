"""The survey after a contact (net promoter score) through the real HTTP API, with a
fake SMS gateway behind the notification hook and virtual time: a resolved call is
followed by a request in the caller's language; the answer shows in the daily report,
the feedback report and the audit export, never by agent; one request per number per
period; opt-outs; masked free text; bad answers change nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router.app import build_app
from router.service.feedback import DIMENSIONS
from router.service.regionfile import differences, region_document
from router.service.replica_state import ReplicaSettings
from router.service.reports import DIMENSIONS as DAILY_BY
from router.service.service import Service, Settings
from router.store.memory import MemoryStore
from tests.service_support import Socket, WallClock, at, bearer, login, region, until

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"
CALLBACKS = "/api/channels/callbacks"
ANSWERS = "/api/channels/feedback/answers"
OPT_OUTS = "/api/channels/feedback/opt-outs"
SMS = bearer("sms")
SUP = bearer("supervisor")
DAY = "2026-11-24"
FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)


@dataclass
class Gateway:
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.json_response({"ok": True})

    async def next(self, count: int) -> dict[str, Any]:
        """The ``count``-th message the gateway received (waits for the hook)."""
        for _ in range(200):
            if len(self.received) >= count:
                return self.received[count - 1]
            await asyncio.sleep(0.025)
        raise AssertionError(f"the gateway has {len(self.received)} messages, not {count}")


@dataclass
class World:
    service: Service
    client: Client
    clock: WallClock
    gateway: Gateway
    agent: Socket


@asynccontextmanager
async def world(aiohttp_client: MakeClient) -> AsyncIterator[World]:
    gateway = Gateway()
    app = web.Application()
    app.router.add_post("/sms", gateway.handle)
    async with TestServer(app) as sms:
        clock = WallClock(at(f"{DAY} 10:00"))
        service = Service(region(), Settings(notify_url=str(sms.make_url("/sms"))), clock=clock)
        client = await aiohttp_client(build_app(service))
        agent = await login(client, "a001")  # Aino Nieminen, vaasa-nurses, fi and sv
        yield World(service, client, clock, gateway, agent)


async def resolved_call(
    w: World, call_id: str, caller: str, language: str = "fi", callback: bool = False
) -> str:
    """A call (or a callback request) answered by the agent and completed as resolved;
    its contact id."""
    if callback:
        body: dict[str, Any] = {
            "number": caller,
            "service": "nursing_advice",
            "language": language,
        }
        r = await w.client.post(CALLBACKS, json=body, headers=bearer("telephony"))
    else:
        body = {"call_id": call_id, "caller": caller, "ivr": {"service": "nursing_advice"}}
        body["ivr"]["language"] = language
        r = await w.client.post(CALLS, json=body, headers=bearer("telephony"))
    assert r.status in (200, 201), await r.text()
    offer = await w.agent.next("offer")
    cid = str(offer["contact"]["id"])
    await w.agent.send({"type": "accept", "contact_id": cid})
    await w.agent.next("assigned")
    if callback:
        await w.agent.send({"type": "attempt", "contact_id": cid, "result": "reached"})
    w.clock.t += 120
    await w.agent.send({"type": "complete", "contact_id": cid, "outcome": "resolved"})
    assert (await w.agent.next("closed"))["outcome"] == "resolved"
    await w.agent.send({"type": "wrapup_done"})
    return cid


async def feedback_report(w: World, query: str = "") -> dict[str, Any]:
    r = await w.client.get(f"/api/supervisor/feedback?from={DAY}{query}", headers=SUP)
    assert r.status == 200, await r.text()
    report: dict[str, Any] = await r.json()
    return report


async def test_a_resolved_call_is_surveyed_in_its_language_and_the_answer_is_reported(
    aiohttp_client: MakeClient,
) -> None:
    async with world(aiohttp_client) as w:
        cid = await resolved_call(w, "c1", "+358401112222", "sv")
        request = await w.gateway.next(1)
        assert request["type"] == "feedback_request"
        assert request["contact_id"] == cid and request["number"] == "+358401112222"
        assert request["language"] == "sv" and request["text"].startswith("Tack för")
        rid = request["request_id"]
        assert request["answer_by"] == w.clock.t + 3 * 86_400  # asked when it closed
        # A second, unanswered request: the response rate is one in two.
        await resolved_call(w, "c2", "+358401113333", "fi")
        assert (await w.gateway.next(2))["language"] == "fi"

        w.clock.t += 3600
        answer = {"request_id": rid, "score": 10, "text": "Tack, mycket bra!"}
        r = await w.client.post(ANSWERS, json=answer, headers=SMS)
        assert r.status == 200, await r.text()
        assert (await r.json())["score"] == 10
        # A retried answer (the gateway lost our reply) counts once.
        r = await w.client.post(ANSWERS, json=answer, headers=SMS)
        assert r.status == 200
        r = await w.client.post(ANSWERS, json={**answer, "score": 3}, headers=SMS)
        assert r.status == 409 and (await r.json())["error"]["code"] == "already_answered"

        for by, key in (("service", "nursing_advice"), ("channel", "voice"), ("language", "sv")):
            r = await w.client.get(f"/api/supervisor/reports/daily?date={DAY}&by={by}", headers=SUP)
            daily = await r.json()
            row = next(row for row in daily["rows"] if row[by] == key)
            assert row["feedback_answers"] == 1 and row["nps"] == 100.0
            assert row["feedback_requests"] == (2 if by != "language" else 1)
        assert daily["total"]["feedback_requests"] == 2
        assert daily["total"]["feedback_response_pct"] == 50.0
        r = await w.client.get(f"/api/supervisor/reports/daily?date={DAY}&format=csv", headers=SUP)
        header, *_, total = (await r.text()).splitlines()
        assert header.endswith("feedback_requests,feedback_answers,feedback_response_pct,nps")
        assert total.endswith(",2,1,50.0,100.0")

        # Per team over a period; the audit export links the answer to its contact.
        report = await feedback_report(w, "&to=2026-11-30&by=team")
        (team,) = [row for row in report["period"]["rows"] if row["requests"]]
        assert team["team"] == "vaasa-nurses" and team["nps"] == 100.0
        assert team["response_pct"] == 50.0 and len(report["days"]) == 7
        r = await w.client.get(f"/api/supervisor/audit/export?from={DAY}", headers=SUP)
        lines = [json.loads(line) for line in (await r.text()).splitlines()]
        (contact,) = [c for c in lines if c["contact_id"] == cid]
        assert contact["feedback_score"] == 10 and contact["feedback_text"] == "Tack, mycket bra!"

        # No figure names the agent who took the call.
        reports = [f"/api/supervisor/feedback?from={DAY}&by={by}" for by in DIMENSIONS]
        reports += [f"/api/supervisor/reports/daily?date={DAY}&by={by}" for by in DAILY_BY]
        for path in reports:
            for fmt in ("json", "csv"):
                text = await (await w.client.get(f"{path}&format={fmt}", headers=SUP)).text()
                assert "a001" not in text and "Aino" not in text and "Nieminen" not in text


async def test_two_different_answers_at_once_keep_one_and_refuse_the_other(
    aiohttp_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with world(aiohttp_client) as w:
        # The sample runs without YHTEYS_FEEDBACK_KEY: the service says the hashes are weak.
        assert "YHTEYS_FEEDBACK_KEY is not set" in caplog.text
        await resolved_call(w, "c1", "+358401112222", "fi")
        rid = (await w.gateway.next(1))["request_id"]
        first, second = await asyncio.gather(
            w.client.post(ANSWERS, json={"request_id": rid, "score": 9}, headers=SMS),
            w.client.post(ANSWERS, json={"request_id": rid, "score": 2}, headers=SMS),
        )
        statuses = sorted([first.status, second.status])
        assert statuses == [200, 409], statuses
        kept = await (first if first.status == 200 else second).json()
        refused = await (second if first.status == 200 else first).json()
        assert refused["error"]["code"] == "already_answered"
        assert kept["score"] in (9, 2)


async def test_one_request_per_number_per_period_and_opt_outs_are_honoured(
    aiohttp_client: MakeClient,
) -> None:
    async with world(aiohttp_client) as w:
        await resolved_call(w, "c1", "+358401112222")
        await w.gateway.next(1)
        # The same number again within 30 days (as a callback): no second request.
        await resolved_call(w, "c2", "+358401112222", callback=True)
        assert (await feedback_report(w))["period"]["total"]["requests"] == 1

        # A number that opted out through the endpoint is never asked.
        r = await w.client.post(OPT_OUTS, json={"number": "+358405556666"}, headers=SMS)
        assert r.status == 200
        await resolved_call(w, "c3", "+358405556666")
        # Opting out by keyword answers the request and records it.
        await resolved_call(w, "c4", "+358407778888")
        request = await w.gateway.next(2)
        assert request["number"] == "+358407778888"
        r = await w.client.post(
            ANSWERS, json={"request_id": request["request_id"], "text": " lopeta "}, headers=SMS
        )
        assert r.status == 200 and (await r.json())["opted_out"] is True
        total = (await feedback_report(w))["period"]["total"]
        assert (total["requests"], total["answers"], total["opt_outs"]) == (2, 0, 2)
        w.clock.t += 31 * 86_400  # a month later
        await resolved_call(w, "c5", "+358407778888")
        await resolved_call(w, "c6", "+358401112222")  # asked again after the period
        assert (await w.gateway.next(3))["number"] == "+358401112222"
        assert len(w.gateway.received) == 3
        assert not w.service.notifier.pending


async def test_free_text_is_masked_and_bad_answers_change_nothing(
    aiohttp_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with world(aiohttp_client) as w:
        cid = await resolved_call(w, "c1", "+358401112222")
        rid = (await w.gateway.next(1))["request_id"]
        bad: list[tuple[dict[str, Any], set[str]]] = [
            ({"request_id": rid, "score": 11}, {"score"}),
            ({"request_id": rid, "score": "9"}, {"score"}),
            ({"request_id": rid, "score": True}, {"score"}),
            ({"request_id": rid, "text": "hyvä"}, {"score"}),
            ({"request_id": rid, "score": 9, "text": "x" * 1001}, {"text"}),
            ({"request_id": rid, "score": 9, "text": "  "}, {"text"}),
            ({"request_id": rid, "score": 9.5}, {"score"}),
            ({"score": 9}, {"request_id"}),
            ({"request_id": rid, "score": -1, "text": 5, "extra": 1}, {"score", "text", "extra"}),
        ]
        for body, fields in bad:
            r = await w.client.post(ANSWERS, json=body, headers=SMS)
            assert r.status == 400, body
            problems = (await r.json())["error"]["problems"]
            assert {p["field"] for p in problems} == fields, problems
        r = await w.client.post(OPT_OUTS, json={"number": "hidden"}, headers=SMS)
        assert r.status == 400 and (await r.json())["error"]["problems"][0]["field"] == "number"
        r = await w.client.post(ANSWERS, json={"request_id": "fb-nope", "score": 5}, headers=SMS)
        assert r.status == 404
        r = await w.client.post(
            ANSWERS, json={"request_id": rid, "score": 5}, headers=bearer("telephony")
        )
        assert r.status == 403
        total = (await feedback_report(w))["period"]["total"]
        assert (total["answers"], total["opt_outs"]) == (0, 0)

        text = "Hyvä palvelu. Hetuni on 131052-308T ja numeroni 040 123 4567."
        r = await w.client.post(
            ANSWERS, json={"request_id": rid, "score": 8, "text": text}, headers=SMS
        )
        assert r.status == 200
        kept = (await r.json())["text"]
        assert "131052-308T" not in kept and "******-****" in kept and "4567" not in kept
        assert "131052-308T" not in caplog.text and "123 4567" not in caplog.text
        assert "score 8" in caplog.text
        r = await w.client.get(f"/api/supervisor/audit/contacts/{cid}", headers=SUP)
        assert (await r.json())["feedback_text"] == kept

        # The answering window closes three days after the request.
        await resolved_call(w, "c2", "+358409990000")
        late = (await w.gateway.next(2))["request_id"]
        w.clock.t += 3 * 86_400 + 1
        r = await w.client.post(ANSWERS, json={"request_id": late, "score": 5}, headers=SMS)
        assert r.status == 409 and (await r.json())["error"]["code"] == "window_closed"
        assert (await feedback_report(w))["period"]["total"]["answers"] == 1


async def test_requests_answers_and_the_per_number_limit_survive_a_restart_in_redis_mode(
    aiohttp_client: MakeClient,
) -> None:
    gateway = Gateway()
    app = web.Application()
    app.router.add_post("/sms", gateway.handle)
    store = MemoryStore()  # the region's log and snapshots, shared by both lives
    async with TestServer(app) as sms:
        settings = Settings(notify_url=str(sms.make_url("/sms")))
        first = Service(region(), settings, store=store, replica=FAST)
        client = await aiohttp_client(build_app(first))
        await until(lambda: first.runtime.healthy and first.runtime.is_leader, timeout=5)
        clock = WallClock(0.0)
        w = World(first, client, clock, gateway, await login(client, "a001"))
        await resolved_call(w, "c1", "+358401112222")
        rid = (await gateway.next(1))["request_id"]
        await w.agent.close()
        await client.close()

        second = Service(region(), settings, store=store, replica=FAST)
        client = await aiohttp_client(build_app(second))
        await until(lambda: second.runtime.healthy and second.runtime.is_leader, timeout=5)
        r = await client.post(ANSWERS, json={"request_id": rid, "score": 6}, headers=SMS)
        assert r.status == 200, await r.text()
        w = World(second, client, clock, gateway, await login(client, "a001"))
        await resolved_call(w, "c2", "+358401112222")
        r = await client.get("/api/supervisor/feedback", headers=SUP)
        total = (await r.json())["period"]["total"]
        assert (total["requests"], total["answers"], total["nps"]) == (1, 1, -100.0)
        assert len(gateway.received) == 1 and not second.notifier.pending


async def test_the_survey_is_set_in_the_region_file_not_by_a_live_patch(
    aiohttp_client: MakeClient,
) -> None:
    async with world(aiohttp_client) as w:
        patch = {"feedback": {"after": ["resolved"]}, "wrapup_s": 30}
        r = await w.client.patch("/api/supervisor/services/oral_health", json=patch, headers=SUP)
        assert r.status == 400
        (problem,) = (await r.json())["error"]["problems"]
        assert problem == {
            "field": "feedback",
            "reason": "the feedback survey is set in the region file",
        }
        await resolved_call(w, "c1", "+358401112222")
        await w.gateway.next(1)  # the file's survey still stands


def test_a_changed_survey_in_the_region_file_is_named_and_never_applied_live() -> None:
    """Redis mode compares each instance's region file with the stored one: a survey
    added (or changed) is a difference like opening hours, read from the file."""
    with_survey = region_document(region())
    without = region_document(replace(region(), feedback={}))
    diff = differences(without, with_survey)
    assert diff.lines == ["service nursing_advice: changed feedback null -> …"]
    assert diff.fixed == [] and diff.services == {}
    assert not differences(with_survey, region_document(region()))
