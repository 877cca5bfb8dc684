"""The chat channel: the customer's protocol (``channels.chat_customer``) joined to the
agent's relay (here): the agent's messages to the customer, the transcript for an agent
whose browser reconnected, and the channel's routes. The protocol is described in
``channels.chat_customer``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from channels.chat import MAX_TEXT, ChatSession
from channels.chat_customer import CustomerProtocol
from channels.common import bounded_text
from router.config.tokens import ApiChannel, Role
from router.service.agent_answers import POSTED, TRANSCRIPT
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, read_fields
from router.service.routes import Query, Route, Schema

log = logging.getLogger("yhteys.chat")


class ChatChannel(CustomerProtocol):
    """A customer's websocket queued like any other contact and relayed to its agent."""

    # ------------------------------------------------------------ the agent

    async def agent_says(self, contact_id: str, agent_id: str, text: str) -> None:
        """The agent's message to the customer (``AgentHub`` checked the assignment)."""
        await self._agent_message(contact_id, agent_id, text)

    async def _agent_message(self, contact_id: str, agent_id: str, text: str) -> dict[str, Any]:
        s = self._agents_chat(contact_id, agent_id)
        if len(text) > MAX_TEXT:
            problems = BodyProblems()
            problems.at_most("text", text, MAX_TEXT)
            problems.raise_if_any()
        return await self._say(s, "agent", text)

    def _agents_chat(self, contact_id: str, agent_id: str | None) -> ChatSession:
        s = self.by_contact.get(contact_id)
        if s is None:
            raise ApiError(404, "not_found", f"no open chat {contact_id!r}")
        if agent_id is None or s.agent_id != agent_id:
            raise ApiError(409, "conflict", f"chat {contact_id!r} is not assigned to you")
        return s

    async def transcript(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        s = self._agents_chat(cid, principal.agent if principal is not None else None)
        return web.json_response({"contact_id": cid, "messages": s.transcript})

    async def post_message(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        agent_id = principal.agent if principal is not None else None
        f, problems = await read_fields(request, ("text",))
        text = bounded_text(f, problems, "text", MAX_TEXT)
        problems.raise_if_any()
        entry = await self._agent_message(cid, agent_id or "", text or "")
        return web.json_response({"contact_id": cid, "message": entry})

    def routes(self) -> list[Route]:
        text_body: Schema = {
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}},
        }
        return [
            Route(
                "GET",
                "/api/channels/chat/ws",
                self.websocket,
                "The customer's chat websocket (start or resume a chat; see the chat module)",
                (Role.PUBLIC, Role.INTEGRATION),
                ApiChannel.CHAT,
                responses={
                    101: "Switching Protocols",
                    401: "no valid token",
                    403: "the token may not use the chat channel",
                },
                tag="chat",
                websocket=True,
                query=(
                    Query("session", {"type": "string"}, "resume: the chat's session id"),
                    Query("resume", {"type": "string"}, "resume: the session's resume token"),
                ),
            ),
            Route(
                "GET",
                "/api/channels/chat/{contact_id}/transcript",
                self.transcript,
                "The transcript of a chat assigned to the calling agent",
                (Role.AGENT,),
                responses={200: "the messages so far", 404: "no open chat", 409: "not yours"},
                schemas={200: TRANSCRIPT},
                tag="chat",
            ),
            Route(
                "POST",
                "/api/channels/chat/{contact_id}/messages",
                self.post_message,
                "The agent writes to the customer of a chat assigned to them",
                (Role.AGENT,),
                body=text_body,
                responses={
                    200: "the message as kept in the transcript",
                    400: "invalid input",
                    404: "no open chat",
                    409: "not yours",
                },
                schemas={200: POSTED},
                tag="chat",
            ),
        ]


def routes(channel: ChatChannel) -> list[Route]:
    return channel.routes()
