"""Issue 11.5: nothing the region turns away is invisible. After hours the sample's
dental line tells callers when it opens and makes no contact; every such refusal, on
every channel, is in the audit (personal data masked as for arrivals), counted in
``/metrics`` and shown in the daily report — through the real HTTP API."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from router.service.service import Service, Settings
from tests.service_support import WallClock, at, bearer, customer, sample_region

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
SUP = bearer("supervisor")
FRIDAY_EVENING = "2026-11-27 17:30"
MONDAY_OPENING = at("2026-11-30 08:00")


async def test_after_hours_refusals_are_audited_counted_and_reported_on_every_channel(
    aiohttp_client: MakeClient,
) -> None:
    clock = WallClock(at(FRIDAY_EVENING))
    service = Service(sample_region(), Settings(), clock=clock)
    client = await aiohttp_client(build_app(service))
    # Phone: an instruction, as always to the platform: 200, closed, no contact.
    call = {
        "call_id": "d2",
        "caller": "+358401234567",
        "ivr": {"service": "oral_health", "language": "fi"},
    }
    for _ in range(2):  # a retried webhook is the same refusal
        r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
        assert r.status == 200
        assert await r.json() == {"call_id": "d2", "action": "closed", "opens_at": MONDAY_OPENING}
    # Callback, web, work item: 409 closed, with opens_at in the error.
    posts = [
        (
            "/api/channels/callbacks",
            {"number": "+358401112222", "service": "oral_health", "language": "sv"},
            "telephony",
        ),
        (
            "/api/channels/web/requests",
            {
                "service": "oral_health",
                "message": "A filling came loose",
                "contact_preference": {"method": "email", "value": "m@example.fi"},
                "site": "vaasa",
            },
            "website",
        ),
        (
            "/api/channels/workitems",
            {
                "source": "omaolo",
                "item_id": "OA-D-1",
                "service": "oral_health",
                "topic": "tooth",
                "urgency": "normal",
                "link": "https://omaolo.example/items/OA-D-1",
                "person_ref": "p:1",
            },
            "omaolo",
        ),
    ]
    for path, body, token in posts:
        r = await client.post(path, json=body, headers=bearer(token))
        assert r.status == 409, (path, await r.text())
        error = (await r.json())["error"]
        assert (error["code"], error["opens_at"]) == ("closed", MONDAY_OPENING), path
    # Chat: an error frame saying the same.
    chat = await customer(client)
    await chat.send({"type": "start", "service": "oral_health", "language": "fi"})
    frame = await chat.next("error")
    assert (frame["status"], frame["code"], frame["opens_at"]) == (409, "closed", MONDAY_OPENING)
    assert service.engine.waiting_count == 0

    # The audit: one closed record per refusal, outcome refused, number masked.
    r = await client.get("/api/supervisor/audit/contacts/refused-phone-d2", headers=SUP)
    assert r.status == 200
    record = await r.json()
    assert (record["outcome"], record["channel"], record["service"]) == (
        "refused",
        "voice",
        "oral_health",
    )
    assert record["number"] == "+35840*****67"
    assert [(c["change"], c["opens_at"]) for c in record["trail"]] == [("refused", MONDAY_OPENING)]
    r = await client.get(
        "/api/supervisor/audit/export?from=2026-11-27&format=csv&rows=contacts", headers=SUP
    )
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert sorted((row["channel"], row["outcome"]) for row in rows) == [
        ("callback", "refused"),
        ("chat", "refused"),
        ("voice", "refused"),
        ("web", "refused"),
        ("workitem", "refused"),
    ]
    text = await r.text()
    for secret in ("+358401112222", "+358401234567", "filling", "m@example.fi", "p:1"):
        assert secret not in text
    # /metrics counts them per channel and service.
    metrics = await (await client.get("/metrics")).text()
    for channel in ("voice", "callback", "web", "workitem", "chat"):
        line = f'yhteys_refused_total{{channel="{channel}",service="oral_health"}} 1.0'
        assert line in metrics, channel
    # The daily report shows them, apart from the contacts (none was made).
    r = await client.get("/api/supervisor/reports/daily?date=2026-11-27&by=channel", headers=SUP)
    report = await r.json()
    assert (report["total"]["refused"], report["total"]["contacts"]) == (5, 0)
    by_channel = {row["channel"]: row["refused"] for row in report["rows"]}
    assert by_channel == {
        "voice": 1,
        "chat": 1,
        "web": 1,
        "callback": 1,
        "workitem": 1,
    }
