"""The agent's REST API and websocket route: one route per action (each the same as the
websocket's frame, carried out by ``AgentHub.act``), the agent's state and the websocket
itself. The protocol is described in ``router.service.agents``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from router.config.tokens import Role
from router.core.model import (
    AGENT_OUTCOMES,
    CALLBACK_RESULTS,
)
from router.service.agent_answers import AGENT, AGENT_STATE, RECLASSIFIED, SEEN
from router.service.agents import MAX_REASON
from router.service.auth import Principal
from router.service.http import ApiError, read_json
from router.service.routes import Route

if TYPE_CHECKING:
    from router.service.service import Service

# ---------------------------------------------------------------- routes


def _me(principal: Principal | None) -> str:
    if principal is None or principal.agent is None:
        raise ApiError(403, "forbidden", "an agent token is required")
    return principal.agent


def routes(service: Service) -> list[Route]:
    hub = service.agents

    def action(
        name: str,
    ) -> Callable[[web.Request, Principal | None], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, principal: Principal | None) -> web.StreamResponse:
            agent_id = _me(principal)
            body: dict[str, object] = {}
            if request.can_read_body:
                raw = await read_json(request)
                if not isinstance(raw, dict):
                    raise ApiError(400, "invalid_input", "expected a JSON object")
                body = raw
            if "contact_id" in request.match_info:
                body["contact_id"] = request.match_info["contact_id"]
            return web.json_response(await hub.act(agent_id, name, body))

        handler.__name__ = f"agent_{name}"
        return handler

    async def state(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        return web.json_response(hub.state_message(_me(principal)))

    async def ws(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        response: web.StreamResponse = await hub.websocket(request, _me(principal))
        return response

    agent = (Role.AGENT,)
    presence_enum = {"enum": ["available", "not_ready"]}
    presence_body = {
        "type": "object",
        "required": ["presence"],
        "properties": {
            "presence": presence_enum,
            "reason": {"type": "string", "maxLength": MAX_REASON},
        },
    }
    return [
        Route(
            "POST",
            "/api/agent/login",
            action("login"),
            "Log in (once, for every channel), available (default) or not_ready",
            agent,
            # No reason here: a reason belongs to a presence change (POST .../presence).
            body={"type": "object", "properties": {"presence": presence_enum}},
            responses={200: "OK", 409: "already logged in"},
            tag="agent",
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/logout",
            action("logout"),
            "Log out (refused with work in hand unless force)",
            agent,
            body={"type": "object", "properties": {"force": {"type": "boolean"}}},
            responses={200: "OK", 409: "work in hand (see force), or not logged in"},
            tag="agent",
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/presence",
            action("presence"),
            "Set presence: available or not_ready with a reason",
            agent,
            body=presence_body,
            responses={200: "OK", 409: "not logged in, or work in hand"},
            tag="agent",
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/offers/{contact_id}/accept",
            action("accept"),
            "Accept an offer",
            agent,
            tag="agent",
            responses={200: "OK", 404: "no such contact", 409: "the offer expired or is not yours"},
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/offers/{contact_id}/decline",
            action("decline"),
            "Decline an offer; the contact keeps its place",
            agent,
            tag="agent",
            responses={200: "OK", 404: "no such contact", 409: "the offer expired or is not yours"},
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/contacts/{contact_id}/complete",
            action("complete"),
            "Complete an assigned contact with an outcome",
            agent,
            body={"type": "object", "properties": {"outcome": {"enum": list(AGENT_OUTCOMES)}}},
            tag="agent",
            responses={200: "OK", 404: "no such contact", 409: "not assigned to you"},
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/contacts/{contact_id}/attempts",
            action("attempt"),
            "Report one attempt to call a callback back: reached, no_answer, busy or "
            "invalid_number (after the service's last failed attempt it closes unreachable)",
            agent,
            body={
                "type": "object",
                "required": ["result"],
                "properties": {"result": {"enum": list(CALLBACK_RESULTS)}},
            },
            tag="agent",
            responses={200: "OK", 400: "unknown result", 404: "no such contact", 409: "not yours"},
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/contacts/{contact_id}/merge",
            action("merge"),
            "Close a linked open contact of the same person as merged into one you handled",
            agent,
            body={
                "type": "object",
                "required": ["into"],
                "properties": {"into": {"type": "string"}},
            },
            tag="agent",
            responses={
                200: "OK",
                404: "no such contact",
                409: "not linked to a contact you handled, or with an agent",
            },
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/contacts/{contact_id}/urgency",
            action("reclassify"),
            "Re-classify a contact you are handling, after contacting the person: its "
            "urgency class changes (the original is kept and audited) and its due time "
            "follows the new class from the original arrival",
            agent,
            body={
                "type": "object",
                "required": ["urgency"],
                "properties": {
                    "urgency": {"type": "string", "description": "one of the service's classes"}
                },
            },
            tag="agent",
            responses={
                200: "the agent and the contact with both classes",
                400: "unknown urgency class",
                404: "no such contact",
                409: "not assigned to you: only the professional handling it may re-classify",
            },
            schemas={200: RECLASSIFIED},
        ),
        Route(
            "POST",
            "/api/agent/wrapup-done",
            action("wrapup_done"),
            "End wrap-up early",
            agent,
            responses={200: "OK", 409: "not in wrap-up"},
            tag="agent",
            schemas={200: AGENT},
        ),
        Route(
            "POST",
            "/api/agent/heartbeat",
            action("heartbeat"),
            "Show liveness without a websocket",
            agent,
            tag="agent",
            schemas={200: SEEN},
        ),
        Route(
            "GET",
            "/api/agent/state",
            state,
            "The agent's status and contacts in hand",
            agent,
            tag="agent",
            schemas={200: AGENT_STATE},
        ),
        Route(
            "GET",
            "/api/agent/ws",
            ws,
            "The agent's websocket (offers, actions, chat)",
            agent,
            tag="agent",
            websocket=True,
            responses={101: "Switching Protocols"},
        ),
    ]
