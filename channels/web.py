"""Web: contact requests from the region's website ("contact me" forms), queued like any
other contact and answered by an agent in the way the person asked for.

Protocol (integration token with the ``web`` channel):

- ``POST /api/channels/web/requests`` ``{service, language?, message, contact_preference:
  {method: phone|email|sms, value}, site?, topic?, own_agent?, own_team?}`` → ``201
  {contact_id, state, position, estimated_wait}``; the contact is ``web-<uuid>`` in the
  ``web`` channel, and the agent's offer carries the message and the contact preference
  as attributes.
- ``GET /api/channels/web/requests/{contact_id}`` → the same status; once closed,
  ``state: "closed"`` with the ``outcome`` (remembered for the most recent closures).
- ``DELETE /api/channels/web/requests/{contact_id}`` → the person withdrew the request
  (outcome ``cancelled``); ``409`` once an agent has it.

``estimated_wait`` is ``{"min_s", "max_s"}`` while waiting and known, else null.
This module also holds :class:`StatusBook` and the small readers that the request-style
channels (web, callback, work items) share.
"""

from __future__ import annotations

import re

from aiohttp import web

from channels.common import (
    E164,
    OWN_FIELDS,
    bounded_text,
    read_language,
    read_own,
    read_service,
    read_site,
)
from channels.refusals import admitted, recording
from channels.status import StatusBook
from router.config.reader import Fields
from router.config.tokens import ApiChannel, Role
from router.core.model import Channel, ContactSpec
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, read_fields
from router.service.openapi import PY_SPACE
from router.service.routes import Route, Schema
from router.service.service import Service

PREFIX = "web-"
REMEMBER_FINISHED = 10_000
MAX_MESSAGE = 4000
MAX_TOPIC = 200
METHODS = ("phone", "email", "sms")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
MAX_EMAIL = 254


# ---------------------------------------------------------------- the web channel


class WebChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX)

    async def create(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        f, problems = await read_fields(
            request,
            ("service", "message", "contact_preference"),
            ("language", "site", "topic", "own_agent", "own_team"),
        )
        service_name = read_service(f, problems, self.service)
        language = read_language(f, problems, self.service)
        site = read_site(f, problems, self.service)
        own = read_own(f, problems, self.service, site)
        message = bounded_text(f, problems, "message", MAX_MESSAGE)
        topic = bounded_text(f, problems, "topic", MAX_TOPIC)
        method, value = self._preference(f, problems)
        problems.raise_if_any()
        if service_name is None or message is None or method is None or value is None:
            raise ApiError(400, "invalid_input", "service, message and contact_preference needed")
        attributes = {"message": message, "contact_method": method, "contact_value": value}
        if topic is not None:
            attributes["topic"] = topic

        def build(cid: str) -> ContactSpec:
            spec = ContactSpec(
                id=cid,
                channel=Channel.WEB,
                service=service_name,
                language=language,
                preferred_agent=own.agent,
                preferred_team=own.team,
                preferred_site=own.site,
                attributes=attributes,
            )
            return admitted(self.service, spec)

        async with recording(self.service):  # closed: 409 closed, recorded
            return await self.book.create(request.headers, build, "web request")

    def _preference(self, f: Fields, problems: BodyProblems) -> tuple[str | None, str | None]:
        pref = f.mapping("contact_preference")
        if pref is None:
            return None, None
        pf = Fields(problems, f.at("contact_preference"), pref, ("method", "value"))
        method = pf.text("method")
        if method is not None and method not in METHODS:
            problems.add(
                pf.at("method"), f"unknown method {method!r}; expected one of: {', '.join(METHODS)}"
            )
            method = None
        value = pf.text("value")
        if value is None or method is None:
            return method, value
        if method == "email":
            if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
                problems.add(pf.at("value"), "expected an e-mail address such as name@example.fi")
                return method, None
        elif not E164.fullmatch(value):
            problems.add(pf.at("value"), "expected an E.164 number such as +358401234567")
            return method, None
        return method, value

    async def current(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        return web.json_response(self.book.require(request.match_info["contact_id"], "request"))

    async def withdraw(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        return web.json_response(await self.book.cancel(cid, "withdrawn on the website", "request"))

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.WEB
        body: Schema = {
            "type": "object",
            "required": ["service", "message", "contact_preference"],
            "properties": {
                "service": {"type": "string"},
                "language": {"type": "string"},
                "message": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE},
                "contact_preference": {
                    "type": "object",
                    "required": ["method", "value"],
                    "properties": {
                        "method": {"enum": list(METHODS)},
                        "value": {
                            "type": "string",
                            "description": "E.164 number (phone, sms) or e-mail address",
                        },
                    },
                    "anyOf": [
                        {
                            "properties": {
                                "method": {"const": "email"},
                                "value": {
                                    "pattern": "^(?:{})$".format(
                                        EMAIL.pattern.replace(r"\s", PY_SPACE)
                                    ),
                                    "maxLength": MAX_EMAIL,
                                },
                            }
                        },
                        {
                            "properties": {
                                "method": {"enum": ["phone", "sms"]},
                                "value": {"pattern": f"^(?:{E164.pattern})$"},
                            }
                        },
                    ],
                },
                "site": {"type": "string", "description": "the person's own health station"},
                **OWN_FIELDS,
                "topic": {"type": "string", "maxLength": MAX_TOPIC},
            },
        }
        return [
            Route(
                "POST",
                "/api/channels/web/requests",
                self.create,
                "A contact request from the website; queued for an agent",
                integ,
                ch,
                body,
                {
                    201: "status of the new request",
                    400: "invalid input",
                    409: "closed: the service is closed after hours; the error carries "
                    "opens_at (epoch s, null: no opening hours ahead); recorded as a refusal",
                    413: "body too large",
                },
                tag="web",
            ),
            Route(
                "GET",
                "/api/channels/web/requests/{contact_id}",
                self.current,
                "Status of a web request: position and estimated wait, or its outcome",
                integ,
                ch,
                responses={200: "status", 404: "unknown or long closed"},
                tag="web",
            ),
            Route(
                "DELETE",
                "/api/channels/web/requests/{contact_id}",
                self.withdraw,
                "The person withdrew the request (outcome cancelled)",
                integ,
                ch,
                responses={200: "status", 404: "unknown", 409: "an agent has it"},
                tag="web",
            ),
        ]


def routes(channel: WebChannel) -> list[Route]:
    return channel.routes()
