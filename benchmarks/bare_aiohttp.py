"""The floor under the service's request path: a bare aiohttp + uvloop server with one
phone-webhook handler, run as its own process (``BareServer``) beside ``yhteys serve``.

``python -m benchmarks.bare_aiohttp --port P`` serves ``POST /api/channels/phone/calls``
(and ``GET /readyz``) the way ``router/serve.py`` serves the real service: the same
``web.run_app`` on a uvloop loop, no access log, the collector settled the same way
(``settle_collector``). The handler reads the body, parses it as JSON, takes the call id
and the IVR's language from it, hands the call to a free agent (``benchmarks/bare_agents.py``:
the ``offer`` goes out on its websocket and the answer is the service's ``connect``) or
else queues it and answers ``201`` with a JSON of the service's queue shape and size
(``{"call_id", "action": "queue", "announcement": {...}}``). Nothing else: no bearer
token, no validation of the fields, no engine. What the service spends above this
process, per request, is what the service adds to aiohttp + JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from aiohttp import web

from benchmarks.bare_agents import AGENT_WS_PATH, BareDesk
from benchmarks.service_load_processes import HOST, ROOT, HttpProcess, log, stop_process
from router.serve import new_event_loop
from router.service.collector import settle_collector

CALLS_PATH = "/api/channels/phone/calls"
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


def build_app() -> web.Application:
    desk = BareDesk()

    async def arrived(request: web.Request) -> web.Response:
        body: Any = json.loads(await request.read())
        call_id = body["call_id"]
        agent = await desk.arrived(call_id, body)
        if agent is not None:
            answer = {
                "call_id": call_id,
                "action": "connect",
                "agent_id": agent.id,
                "agent_name": f"Agent {agent.id}",
            }
            return web.json_response(answer, status=201)
        queued = len(desk.waiting)
        ivr = body.get("ivr") or {}
        return web.json_response(
            {
                "call_id": call_id,
                "action": "queue",
                "announcement": {
                    "position": queued,
                    "estimated_wait": {"min_s": 60.0, "max_s": 120.0 + queued % 600},
                    "language": ivr.get("language"),
                },
            },
            status=201,
        )

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"ready": True})

    app = web.Application()
    app.router.add_post(CALLS_PATH, arrived)
    app.router.add_get(AGENT_WS_PATH, desk.websocket)
    app.router.add_get("/readyz", ready)
    return app


def serve(host: str, port: int) -> None:
    app = build_app()
    loop, _ = new_event_loop()
    settle_collector()
    web.run_app(app, host=host, port=port, access_log=None, print=None, loop=loop)


class BareServer(HttpProcess):
    """``python -m benchmarks.bare_aiohttp`` as a subprocess, always stopped."""

    name = "the bare server"

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [sys.executable, "-m", "benchmarks.bare_aiohttp", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log(f"bare server pid {self.proc.pid} on http://{HOST}:{self.port}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        return stop_process(self.proc, "the bare server", STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bare_aiohttp",
        description="A bare aiohttp + uvloop phone-webhook handler (the service's floor).",
    )
    p.add_argument("--host", default=HOST)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    serve(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
