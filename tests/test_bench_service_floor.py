"""The bare aiohttp server of ``benchmarks/service_floor.py`` answers a phone webhook in
the service's own shape, and the side-by-side benchmark runs end to end in a tiny mode.
Nothing here is timed: only answers and the report's lines are checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bare_aiohttp import BareServer
from benchmarks.load_region import write_region
from benchmarks.service_floor import Settings, report, run
from benchmarks.service_load_calls import CALLS_PATH, call_body
from benchmarks.service_load_processes import HOST, ServerProcess, free_port


async def _post_both(server: ServerProcess, bare: BareServer, token: str) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = call_body("sh-0000001")
    answers: list[Any] = []
    async with aiohttp.ClientSession() as http:
        await server.wait_ready(http)
        await bare.wait_ready(http)
        for port in (server.port, bare.port):
            url = f"http://{HOST}:{port}{CALLS_PATH}"
            async with http.post(url, data=body, headers=headers) as r:
                answers.append((r.status, await r.read()))
    return answers


def test_the_bare_server_answers_a_webhook_in_the_services_shape(tmp_path: Path) -> None:
    region = write_region(tmp_path, 2)
    server = ServerProcess(region.path, free_port(), tmp_path / "server.log")
    bare = BareServer(free_port())
    try:
        server.start()
        bare.start()
        (s_status, s_raw), (b_status, b_raw) = asyncio.run(
            asyncio.wait_for(_post_both(server, bare, region.phone_token), 60)
        )
    finally:
        server.stop()
        bare.stop()
    service, floor = json.loads(s_raw), json.loads(b_raw)
    assert (s_status, b_status) == (201, 201)
    assert service["action"] == floor["action"] == "queue"
    assert service["call_id"] == floor["call_id"] == "sh-0000001"
    assert set(floor) == set(service)
    assert set(floor["announcement"]) == set(service["announcement"])
    assert floor["announcement"]["language"] == service["announcement"]["language"]
    # Of a similar size, so the answer's writing costs both sides alike.
    assert 0.6 < len(b_raw) / len(s_raw) < 1.6


def test_the_side_by_side_run_reports_both_servers_and_the_ratio() -> None:
    # More agents than calls in flight, so every lifecycle call finds one at once.
    s = Settings.of(True, rounds=2, calls=80, lifecycle_calls=40, lifecycle_rounds=1, agents=70)
    figures = run(s)
    assert len(figures["rounds"]) == 2
    for pair in figures["rounds"]:
        # Every webhook on both sides was answered as queued (the agents hold the
        # warm-up's calls) and every one was then abandoned.
        assert pair["service"]["actions"] == {"queue": 80}
        assert pair["bare"]["actions"] == {"queue": 80}
        assert pair["abandoned"] == {"200": 80}
        assert pair["service"]["cpu_us"] > 0 and pair["bare"]["cpu_us"] > 0
    assert figures["lifecycle"][0]["agents_completed"] == 40
    text = report(figures)
    assert "ratio service / bare" in text
    assert "target ≤ 1.5" in text and "target ≥ 5,000/s" in text
