"""The floor under the call lifecycle (#15 part 2): the bare server's agents on
websockets, doing in plain aiohttp what an agent's calls make the service do on the
wire, and nothing else.

``GET /api/agent/ws`` takes an agent's websocket (the token is not checked: the first
connection is the first agent). It sends the frames the service sends, of the same
shape and about the same size, in the same order:

- on connect ``state``; on ``login`` the agent's ``agent`` view and an ``ack``;
- a call the webhook hands to a free agent: ``offer`` and ``agent``;
- on ``accept``: ``assigned`` and ``ack``; on ``complete``: ``closed``, ``agent`` and
  ``ack``, and the agent takes the next queued call, if any, or is free again.

A call finding no free agent waits in one FIFO queue. There is no validation, no
engine, no audit, no outbox: each frame is ``json.dumps`` of a dict and one
``send_str`` awaited where it is made. What the service spends above this per call is
what it adds to aiohttp, websockets and JSON.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

AGENT_WS_PATH = "/api/agent/ws"
OFFER_TIMEOUT_S = 600.0
TARGET_S = 3600.0
SITE = "bench-site"
TEAM = "bench-team"
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class BareAgent:
    __slots__ = ("contacts", "id", "ws")

    def __init__(self, agent_id: str, ws: web.WebSocketResponse) -> None:
        self.id = agent_id
        self.ws = ws
        self.contacts: dict[str, dict[str, Any]] = {}

    def view(self, status: str = "available") -> dict[str, Any]:
        busy = bool(self.contacts)
        return {
            "id": self.id,
            "name": f"Agent {self.id}",
            "status": "busy" if busy else status,
            "presence": status,
            "reason": "",
            "site": SITE,
            "team": TEAM,
            "load": {"voice": len(self.contacts)} if busy else {},
            "free_channels": [] if busy else ["voice"],
            "contacts": list(self.contacts),
            "wrapup_until": None,
        }


class BareDesk:
    """Who is free, what waits, and the websocket handler of the bare server."""

    def __init__(self) -> None:
        self.free: deque[BareAgent] = deque()
        # (call id, webhook body): a queued call costs no more than keeping it
        self.waiting: deque[tuple[str, dict[str, Any]]] = deque()
        self.logged_in = 0

    @staticmethod
    def contact(call_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The call as the service's ``offer`` shows it (the same keys)."""
        now = time.time()
        ivr = body.get("ivr") or {}
        return {
            "id": f"phone-{call_id}",
            "channel": "voice",
            "service": ivr.get("service") or "general",
            "urgency": "normal",
            "original_urgency": "normal",
            "state": "waiting",
            "arrived_at": now,
            "due_at": now + TARGET_S,
            "step": "region",
            "language": ivr.get("language"),
            "agent_id": None,
            "external_ref": call_id,
            "attributes": {"caller": body.get("caller")},
        }

    async def arrived(self, call_id: str, body: dict[str, Any]) -> BareAgent | None:
        """Offers the call to a free agent (which it returns), or queues it (None)."""
        if not self.free:
            self.waiting.append((call_id, body))
            return None
        agent = self.free.popleft()
        await self._offer(agent, call_id, body)
        return agent

    async def _offer(self, agent: BareAgent, call_id: str, body: dict[str, Any]) -> None:
        contact = self.contact(call_id, body)
        expires = time.time() + OFFER_TIMEOUT_S
        contact["state"] = "offered"
        contact["agent_id"] = agent.id
        agent.contacts[contact["id"]] = contact
        offer = {**contact, "offer_expires_at": expires}
        trace = "step=region rule=longest_idle candidates=1"
        await agent.ws.send_str(
            _dumps({"type": "offer", "contact": offer, "expires_at": expires, "trace": trace})
        )
        await agent.ws.send_str(_dumps({"type": "agent", "agent": agent.view()}))

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=64 * 1024)
        await ws.prepare(request)
        self.logged_in += 1
        agent = BareAgent(f"b{self.logged_in:05d}", ws)
        state = {"type": "state", "agent": agent.view("offline"), "contacts": []}
        await ws.send_str(_dumps(state))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._message(agent, json.loads(msg.data))
        finally:
            if agent in self.free:
                self.free.remove(agent)
        return ws

    async def _message(self, agent: BareAgent, body: dict[str, Any]) -> None:
        ws, kind, ref = agent.ws, body.get("type"), body.get("id")
        if kind == "login":
            await ws.send_str(_dumps({"type": "agent", "agent": agent.view()}))
            self.free.append(agent)
        elif kind == "accept":
            contact = agent.contacts[body["contact_id"]]
            contact["state"] = "assigned"
            await ws.send_str(_dumps({"type": "assigned", "contact": contact}))
        elif kind == "complete":
            del agent.contacts[body["contact_id"]]
            closed = {"type": "closed", "contact_id": body["contact_id"], "outcome": "resolved"}
            await ws.send_str(_dumps(closed))
            await ws.send_str(_dumps({"type": "agent", "agent": agent.view()}))
        await ws.send_str(_dumps({"type": "ack", "id": ref, "agent": agent.view()}))
        if kind == "complete":
            if self.waiting:
                await self._offer(agent, *self.waiting.popleft())
            else:
                self.free.append(agent)
