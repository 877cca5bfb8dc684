"""The agents of the service benchmark: ``A`` agents logged in on websockets who accept
every offer at once and complete every assigned call (or, in a surge, keep it), noting
when each offer arrived; only offers and assignments are decoded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import aiohttp
from aiohttp import ClientWebSocketResponse, WSMsgType

from benchmarks.service_load_processes import HOST

LOGIN_TIMEOUT_S = 30.0
LOGIN_CONCURRENCY = 25
CLIENT_TIMEOUT_S = 10.0

OFFER = '{"type":"offer",'
ASSIGNED = '{"type":"assigned",'
CLOSED = '{"type":"closed",'
ERROR = '{"type":"error",'
_ID = '"id":"'


def contact_id_of(message: str) -> str:
    """The contact id of an ``offer`` or ``assigned`` message (its first ``"id"``), without
    decoding the whole message."""
    start = message.index(_ID) + len(_ID)
    return message[start : message.index('"', start)]


class Agents:
    """``A`` agents on websockets: accept every offer, complete every assigned call."""

    def __init__(self, session: aiohttp.ClientSession, port: int, tokens: dict[str, str]):
        self.session = session
        self.url = f"http://{HOST}:{port}/api/agent/ws"
        self.tokens = tokens
        self.offered_at: dict[str, float] = {}  # contact id -> first offer seen
        self.offers = 0
        self.assigned = 0
        self.closed = 0
        self.errors = 0
        self.last_error = ""
        self.disconnected = 0
        self.hold = False  # True: accept an offer and keep the call (never complete)
        self.held = 0
        self._sockets: list[ClientWebSocketResponse] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def log_in(self) -> float:
        """Connects and logs in every agent; returns the seconds it took."""
        started = time.perf_counter()
        gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

        async def one(agent: str, token: str) -> ClientWebSocketResponse:
            async with gate:
                ws = await self.session.ws_connect(
                    self.url, params={"access_token": token}, autoping=True
                )
                await self._expect(ws, "state", agent)
                await ws.send_str('{"type":"login","id":"login"}')
                await self._expect(ws, "ack", agent)
                return ws

        logins = (one(a, t) for a, t in self.tokens.items())
        self._sockets = list(await asyncio.wait_for(asyncio.gather(*logins), LOGIN_TIMEOUT_S))
        self._tasks = [asyncio.create_task(self._serve(ws)) for ws in self._sockets]
        return time.perf_counter() - started

    @staticmethod
    async def _expect(ws: ClientWebSocketResponse, kind: str, agent: str) -> None:
        for _ in range(20):  # the first messages after connect are state, then ack
            msg = await ws.receive(timeout=CLIENT_TIMEOUT_S)
            if msg.type is not WSMsgType.TEXT:
                raise RuntimeError(f"agent {agent}: websocket {msg.type.name} before {kind}")
            body = json.loads(msg.data)
            if body.get("type") == "error":
                raise RuntimeError(f"agent {agent}: {body}")
            if body.get("type") == kind:
                return
        raise RuntimeError(f"agent {agent}: no {kind} message")

    async def _serve(self, ws: ClientWebSocketResponse) -> None:
        try:
            await self._handle(ws)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        self.disconnected += 1

    async def _handle(self, ws: ClientWebSocketResponse) -> None:
        """Reads until the websocket closes; only offers and assignments are decoded."""
        perf = time.perf_counter
        offered_at = self.offered_at
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if msg.type is WSMsgType.ERROR:
                raise RuntimeError(f"websocket error: {ws.exception()}")
            if msg.type is not WSMsgType.TEXT:
                continue
            data: str = msg.data
            if data.startswith(OFFER):
                seen = perf()
                cid = contact_id_of(data)
                offered_at.setdefault(cid, seen)
                self.offers += 1
                await ws.send_str(f'{{"type":"accept","contact_id":"{cid}"}}')
            elif data.startswith(ASSIGNED):
                self.assigned += 1
                if self.hold:
                    self.held += 1
                    continue
                cid = contact_id_of(data)
                await ws.send_str(
                    f'{{"type":"complete","contact_id":"{cid}","outcome":"resolved"}}'
                )
            elif data.startswith(CLOSED):
                self.closed += 1
            elif data.startswith(ERROR):
                self.errors += 1
                self.last_error = data[:200]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in self._sockets), return_exceptions=True),
                5.0,
            )

    async def wait_idle(self, offered: int, timeout_s: float) -> bool:
        """Waits until ``offered`` calls have closed (bounded); True when they have."""
        for _ in range(int(timeout_s / 0.01)):
            if self.closed >= offered:
                return True
            await asyncio.sleep(0.01)
        return self.closed >= offered
