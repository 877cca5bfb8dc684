"""Callback: a request to be called back, queued as a ``callback`` contact so it keeps
its place in the one priority order — the plumbing only.

Protocol (integration token with the ``callback`` channel):

- ``POST /api/channels/callbacks`` ``{number, service, language?, site?, urgency?}`` →
  ``201 {contact_id, state, position, estimated_wait}``; the contact is ``cb-<uuid>``
  with the attribute ``number``. The number must be E.164; a hidden number ('hidden',
  'anonymous', ...) is refused with 400: it cannot be called back, and the caller stays
  in the live queue. The most urgent class (P0) is never queued: ``{"action":
  "redirect", "target": "112", ...}``.
- ``GET /api/channels/callbacks/{contact_id}`` → the same status; once closed,
  ``state: "closed"`` with the ``outcome``.

Not here yet (the callback policy comes in its own issue): turning a waiting caller into
a callback that keeps the caller's place (``ContactSpec.arrived_at``/``due_at``), more
than one attempt with each attempt recorded, foreign numbers, and closing only with an
outcome (no deletion endpoint, on purpose).
"""

from __future__ import annotations

import uuid

from aiohttp import web

from channels.common import (
    E164,
    HIDDEN_NUMBERS,
    read_language,
    read_service,
    read_site,
    read_urgency,
)
from channels.status import StatusBook
from router.config.reader import Fields
from router.config.tokens import ApiChannel, Role
from router.core.events import ContactArrived
from router.core.model import Channel, ContactSpec
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, read_fields
from router.service.routes import Route, Schema
from router.service.service import Service

PREFIX = "cb-"
HIDDEN_REASON = "a hidden number cannot be called back; the caller stays in the live queue"


def read_number(f: Fields, problems: BodyProblems, key: str = "number") -> str | None:
    """A number that can be called back: E.164, never hidden."""
    number = f.text(key)
    if number is None:
        return None
    if number.strip().lower() in HIDDEN_NUMBERS:
        problems.add(f.at(key), HIDDEN_REASON)
        return None
    if not E164.fullmatch(number):
        problems.add(f.at(key), "expected an E.164 number such as +358401234567")
        return None
    return number


class CallbackChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX)

    async def create(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        f, problems = await read_fields(
            request, ("number", "service"), ("language", "site", "urgency")
        )
        number = read_number(f, problems)
        service_name = read_service(f, problems, self.service)
        urgency = read_urgency(f, problems, self.service, service_name)
        language = read_language(f, problems, self.service)
        site = read_site(f, problems, self.service)
        problems.raise_if_any()
        if number is None or service_name is None:
            raise ApiError(400, "invalid_input", "number and service are required")
        cid = PREFIX + uuid.uuid4().hex
        spec = ContactSpec(
            id=cid,
            channel=Channel.CALLBACK,
            service=service_name,
            urgency=urgency,
            language=language,
            preferred_site=site,
            attributes={"number": number},
        )
        await self.service.runtime.submit(ContactArrived(spec))
        return web.json_response(self.book.require(cid, "callback request"), status=201)

    async def current(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        return web.json_response(self.book.require(cid, "callback request"))

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.CALLBACK
        body: Schema = {
            "type": "object",
            "required": ["number", "service"],
            "properties": {
                "number": {
                    "type": "string",
                    "description": "E.164 number to call back; hidden numbers are refused",
                },
                "service": {"type": "string"},
                "language": {"type": "string"},
                "site": {"type": "string", "description": "the caller's own health station"},
                "urgency": {"type": "string", "description": "the service's urgency class"},
            },
        }
        return [
            Route(
                "POST",
                "/api/channels/callbacks",
                self.create,
                "A callback request; queued for an agent to call back",
                integ,
                ch,
                body,
                {
                    201: "status of the new request (or a redirect for the most urgent class)",
                    400: "invalid input, or a hidden number",
                    413: "body too large",
                },
                tag="callback",
            ),
            Route(
                "GET",
                "/api/channels/callbacks/{contact_id}",
                self.current,
                "Status of a callback request: position and estimated wait, or its outcome",
                integ,
                ch,
                responses={200: "status", 404: "unknown or long closed"},
                tag="callback",
            ),
        ]


def routes(service: Service) -> list[Route]:
    return CallbackChannel(service).routes()
