"""The bare aiohttp server of ``benchmarks/service_floor.py`` answers a phone webhook in
the service's own shape, sends an agent the frames the service sends over a call's
lifecycle, and the side-by-side benchmark runs end to end in a tiny mode. Nothing here
is timed: only answers, frames and the report's lines are checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bare_agents import AGENT_WS_PATH
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


Frame = tuple[str, int]  # (type, length)


async def _one_lifecycle(port: int, agent_token: str, phone_token: str) -> list[Frame]:
    """Every frame an agent receives while it logs in and takes one call from offer to
    completion, and the webhook's answer, as (type, length)."""
    seen: list[Frame] = []
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            f"http://{HOST}:{port}{AGENT_WS_PATH}", params={"access_token": agent_token}
        )

        async def read(n: int) -> dict[str, Any]:
            body: dict[str, Any] = {}
            for _ in range(n):
                msg = await ws.receive(timeout=10)
                body = json.loads(msg.data)
                seen.append((body["type"], len(msg.data)))
            return body

        await read(1)
        await ws.send_str('{"type":"login","id":"login"}')
        await read(2)
        url = f"http://{HOST}:{port}{CALLS_PATH}"
        headers = {"Authorization": f"Bearer {phone_token}", "Content-Type": "application/json"}
        async with http.post(url, data=call_body("sh-0000002"), headers=headers) as r:
            answer = await r.read()
            seen.append((f"answer {json.loads(answer)['action']}", len(answer)))
        contact_id = (await read(1))["contact"]["id"]
        await read(1)
        await ws.send_str(f'{{"type":"accept","contact_id":"{contact_id}"}}')
        await read(2)
        await ws.send_str(f'{{"type":"complete","contact_id":"{contact_id}"}}')
        await read(3)
        await ws.close()
    return seen


def test_the_bare_server_sends_an_agent_the_services_frames_over_a_lifecycle(
    tmp_path: Path,
) -> None:
    region = write_region(tmp_path, 1)
    agent_token = next(iter(region.agent_tokens.values()))
    server = ServerProcess(region.path, free_port(), tmp_path / "server.log")
    bare = BareServer(free_port())

    async def both() -> tuple[list[Frame], list[Frame]]:
        async with aiohttp.ClientSession() as http:
            await server.wait_ready(http)
            await bare.wait_ready(http)
        return (
            await _one_lifecycle(server.port, agent_token, region.phone_token),
            await _one_lifecycle(bare.port, agent_token, region.phone_token),
        )

    try:
        server.start()
        bare.start()
        service, floor = asyncio.run(asyncio.wait_for(both(), 60))
    finally:
        server.stop()
        bare.stop()
    kinds = ["state", "agent", "ack", "answer connect", "offer", "agent", "assigned", "ack"]
    kinds += ["closed", "agent", "ack"]
    assert [k for k, _ in service] == kinds
    assert [k for k, _ in floor] == kinds
    # Each of a similar size, so writing and reading them costs both sides alike.
    for (kind, s_len), (_, b_len) in zip(service, floor, strict=True):
        assert 0.6 < b_len / s_len < 1.6, (kind, s_len, b_len)


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
    (lifecycle,) = figures["lifecycle"]
    assert lifecycle["service"]["agents_completed"] == 40
    assert lifecycle["bare"]["agents_completed"] == 40
    assert lifecycle["ratio"] > 0
    text = report(figures)
    assert "ratio service / bare" in text
    assert "target ≤ 1.5" in text and "target ≥ 5,000)" in text
    assert "service <= 1.5x the bare lifecycle's server CPU per call" in text
