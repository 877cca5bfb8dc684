"""The supervisor API's route table: each route's method, path, handler, summary, role,
bodies (``router.service.supervisor_shapes``) and documented answers, for the aiohttp
router and the OpenAPI document alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.config.tokens import Role
from router.service.audit_shapes import REMOVED_SCHEMA
from router.service.body_shapes import request_schema
from router.service.routes import DAY, Query, Route, choice
from router.service.supervisor_contacts import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    OPEN_STATES,
)
from router.service.supervisor_shapes import (
    AGENT_BODY,
    AGENT_DETAIL_SCHEMA,
    AGENTS_SCHEMA,
    CONTACT_SCHEMA,
    CONTACTS_PAGE_SCHEMA,
    HOURS_SCHEMA,
    MOVE_BODY,
    PRESENCE_BODY,
    SERVICE_PATCH_BODY,
    SERVICE_SCHEMA,
    SERVICES_SCHEMA,
    STATS_SCHEMA,
    MoveContactBody,
    OfferContactBody,
    RemoveContactBody,
)

if TYPE_CHECKING:
    from router.service.supervisor import SupervisorApi

SUPERVISOR = (Role.SUPERVISOR,)


def supervisor_routes(api: SupervisorApi) -> list[Route]:
    s = SUPERVISOR
    tag = "supervisor"
    denied = {401: "no valid token", 403: "not a supervisor token"}
    region = api.service.region
    return [
        Route(
            "GET",
            "/api/supervisor/agents",
            api.list_agents,
            "Every agent: status, presence, site, team, load, contacts and configuration",
            s,
            tag=tag,
            schemas={200: AGENTS_SCHEMA},
            responses={200: "the agents", **denied},
        ),
        Route(
            "GET",
            "/api/supervisor/agents/{agent_id}",
            api.get_agent,
            "One agent: status and configuration",
            s,
            tag=tag,
            schemas={200: AGENT_DETAIL_SCHEMA},
            responses={200: "the agent", **denied, 404: "unknown agent"},
        ),
        Route(
            "PUT",
            "/api/supervisor/agents/{agent_id}",
            api.put_agent,
            "Replace an agent's configuration (skills, languages, authorisations, "
            "capacity, team, site); takes effect at once. With If-Match (the ETag of "
            "GET): refused with 412 when the agent changed since",
            s,
            body=AGENT_BODY,
            tag=tag,
            schemas={200: AGENT_DETAIL_SCHEMA},
            responses={
                200: "the agent as it is now",
                400: "invalid input (every problem)",
                **denied,
                404: "unknown agent",
                412: "If-Match given and the agent's configuration changed since it was read",
            },
        ),
        Route(
            "POST",
            "/api/supervisor/agents/{agent_id}/move",
            api.move_agent,
            "Move an agent to another team (and site; default the team's site)",
            s,
            body=MOVE_BODY,
            tag=tag,
            schemas={200: AGENT_DETAIL_SCHEMA},
            responses={
                200: "the agent as it is now",
                400: "invalid input (every problem)",
                **denied,
                404: "unknown agent",
                412: "If-Match given and the agent's configuration changed since it was read",
            },
        ),
        Route(
            "POST",
            "/api/supervisor/agents/{agent_id}/presence",
            api.presence,
            "Set an agent available, not ready or offline",
            s,
            body=PRESENCE_BODY,
            tag=tag,
            schemas={200: AGENT_DETAIL_SCHEMA},
            responses={
                200: "the agent as it is now",
                400: "invalid input",
                **denied,
                404: "unknown agent",
                409: "the agent has assigned work in hand and force is not set",
            },
        ),
        Route(
            "GET",
            "/api/supervisor/services",
            api.list_services,
            "Every service's settings as now in force",
            s,
            tag=tag,
            schemas={200: SERVICES_SCHEMA},
            responses={200: "the services", **denied},
        ),
        Route(
            "GET",
            "/api/supervisor/services/{name}",
            api.get_service,
            "One service's settings as now in force",
            s,
            tag=tag,
            schemas={200: SERVICE_SCHEMA},
            responses={200: "the service", **denied, 404: "unknown service"},
        ),
        Route(
            "GET",
            "/api/supervisor/services/{name}/hours",
            api.service_hours,
            "A service's opening hours in force on a local day (default today), with "
            "their source (weekly hours, holiday, holiday eve, exception) and the hours "
            "of channels that keep their own; read-only (the region file sets them)",
            s,
            tag=tag,
            responses={
                200: "the day's hours",
                400: "malformed date",
                **denied,
                404: "unknown service",
            },
            query=(Query("date", DAY, "the local day, YYYY-MM-DD (default: today)"),),
            schemas={200: HOURS_SCHEMA},
        ),
        Route(
            "PATCH",
            "/api/supervisor/services/{name}",
            api.patch_service,
            "Change a service's targets, steps, agent choice, timeouts or flags "
            "(JSON merge patch); waiting contacts are re-ordered at once. With If-Match "
            "(the ETag of GET): refused with 412 when the service changed since",
            s,
            body=SERVICE_PATCH_BODY,
            tag=tag,
            schemas={200: SERVICE_SCHEMA},
            responses={
                200: "the service as it is now",
                400: "invalid input (every problem)",
                **denied,
                404: "unknown service",
                409: "open contacts are in an urgency class the change removes",
                412: "If-Match given and the service changed since it was read",
            },
        ),
        Route(
            "GET",
            "/api/supervisor/contacts",
            api.contacts.list_contacts,
            "Open contacts, waiting ones first in the one priority order "
            "(query: service, site, state, limit, offset, eligible)",
            s,
            tag=tag,
            schemas={200: CONTACTS_PAGE_SCHEMA},
            responses={200: "a page of contacts", 400: "invalid query", **denied},
            query=(
                Query("service", choice(region.services), "only this service's contacts"),
                Query("site", choice(region.sites), "only contacts preferring this site"),
                Query("state", choice(st.value for st in OPEN_STATES), "only this state"),
                Query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    f"page size (default {DEFAULT_LIMIT})",
                ),
                Query("offset", {"type": "integer", "minimum": 0}, "rows to skip"),
                Query(
                    "eligible",
                    {"type": "string", "enum": ["true", "false"]},
                    "true: each waiting contact also names its eligible agents (as "
                    ".../eligible does, for the whole page in one request; at most 20 "
                    "each, free ones first, with eligible_total); limit at most 100",
                ),
            ),
        ),
        Route(
            "POST",
            "/api/supervisor/contacts/{contact_id}/move",
            api.contacts.move_contact,
            "Move a waiting contact to another service; it keeps its place",
            s,
            body=request_schema(MoveContactBody),
            tag=tag,
            schemas={200: CONTACT_SCHEMA},
            responses={
                200: "the contact as it is now",
                400: "invalid input",
                **denied,
                404: "unknown contact",
                409: "the contact is not waiting",
            },
        ),
        Route(
            "POST",
            "/api/supervisor/contacts/{contact_id}/offer",
            api.contacts.offer_contact,
            "Offer a waiting contact to a named agent, out of order",
            s,
            body=request_schema(OfferContactBody),
            tag=tag,
            schemas={200: CONTACT_SCHEMA},
            responses={
                200: "the contact, now offered",
                400: "invalid input",
                **denied,
                404: "unknown contact or agent",
                409: "not waiting, or the agent is offline, not eligible or has no "
                "free capacity in the channel",
            },
        ),
        Route(
            "POST",
            "/api/supervisor/contacts/{contact_id}/remove",
            api.contacts.remove_contact,
            "Remove one contact no agent has yet, with a reason (outcome cancelled; "
            "audited with who and why). There is no bulk deletion",
            s,
            body=request_schema(RemoveContactBody),
            tag=tag,
            schemas={200: REMOVED_SCHEMA},
            responses={
                200: "the contact's audit record, now closed as cancelled",
                400: "no reason, or one too long",
                **denied,
                404: "unknown contact",
                409: "an agent has it (or it closed meanwhile)",
            },
        ),
        Route(
            "GET",
            "/api/supervisor/stats",
            api.get_stats,
            "Real-time statistics per service and per site",
            s,
            tag=tag,
            schemas={200: STATS_SCHEMA},
            responses={200: "the statistics", **denied},
        ),
        Route(
            "GET",
            "/api/supervisor/ws",
            api.ws,
            "Statistics pushed every few seconds, and alerts as they happen "
            "(token as ?access_token=)",
            s,
            tag=tag,
            websocket=True,
            responses={101: "Switching Protocols", **denied},
        ),
    ]
