"""Web: contact requests from the region's website ("contact me" forms), queued like any
other contact and answered by an agent in the way the person asked for.

Protocol (integration token with the ``web`` channel):

- ``POST /api/channels/web/requests`` ``{service, language?, message, contact_preference:
  {method: phone|email|sms, value}, site?, topic?, own_agent?, own_team?}`` → ``201
  {contact_id, state, position, estimated_wait}``; the contact is ``web-<uuid>`` in the
  ``web`` channel, and the agent's offer carries the message and the contact preference
  as attributes, with ``via`` (the registering integration's name). An
  ``Idempotency-Key`` header makes it ``web-<key>``: the same request again answers 200
  with it; the key from another integration or with a different request is 409
  ``idempotency_key_reused``.
- ``GET /api/channels/web/requests/{contact_id}`` → the same status; once closed,
  ``state: "closed"`` with the ``outcome`` (remembered for the most recent closures).
  Another integration's request is unknown to the caller (404), also to ``DELETE``.
- ``DELETE /api/channels/web/requests/{contact_id}`` → the person withdrew the request
  (outcome ``cancelled``); ``409`` once an agent has it.

``estimated_wait`` is ``{"min_s", "max_s"}`` while waiting and known, else null.
The request body is ``channels.shapes.WebRequestBody`` and the answers'
``channels.answers.ContactStatus``: one model each gives the check and the OpenAPI schema.
"""

from __future__ import annotations

from aiohttp import web

from channels.answers import STATUS
from channels.refusals import admitted, recording
from channels.shapes import WebRequestBody, own_of
from channels.status import StatusBook, name_of, with_via
from router.config.tokens import ApiChannel, Role
from router.core.model import Channel, ContactSpec
from router.service.auth import Principal
from router.service.body_shapes import read_body, request_schema
from router.service.routes import Route
from router.service.service import Service

PREFIX = "web-"
REMEMBER_FINISHED = 10_000


# ---------------------------------------------------------------- the web channel


class WebChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX)

    async def create(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        body = await read_body(request, WebRequestBody, self.service)
        service_name, language, message, topic = (
            body.service,
            body.language,
            body.message,
            body.topic,
        )
        method, value = body.contact_preference.method, body.contact_preference.value
        own = own_of(self.service, body.own_agent, body.own_team, body.site)
        attributes = {"message": message, "contact_method": method, "contact_value": value}
        if topic is not None:
            attributes["topic"] = topic

        request_spec = ContactSpec(
            id=PREFIX,  # the id comes from the Idempotency-Key (StatusBook.create)
            channel=Channel.WEB,
            service=service_name,
            language=language,
            preferred_agent=own.agent,
            preferred_team=own.team,
            preferred_site=own.site,
            attributes=with_via(attributes, principal),
        )

        def admit(spec: ContactSpec) -> ContactSpec:
            return admitted(self.service, spec)

        async with recording(self.service):  # closed: 409 closed, recorded
            return await self.book.create(request.headers, request_spec, admit, "web request")

    async def current(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        return web.json_response(self.book.require(cid, "request", name_of(principal)))

    async def withdraw(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        reason, who = "withdrawn on the website", name_of(principal)
        return web.json_response(await self.book.cancel(cid, reason, "request", who))

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.WEB
        return [
            Route(
                "POST",
                "/api/channels/web/requests",
                self.create,
                "A contact request from the website; queued for an agent",
                integ,
                ch,
                request_schema(WebRequestBody),
                {
                    201: "status of the new request",
                    400: "invalid input",
                    409: "idempotency_key_reused: the Idempotency-Key was used by another "
                    "integration or for a different request; closed: the service is closed "
                    "after hours; the error carries "
                    "opens_at (epoch s, null: no opening hours ahead); recorded as a refusal",
                    413: "body too large",
                },
                tag="web",
                schemas={200: STATUS, 201: STATUS},
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
                schemas={200: STATUS},
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
                schemas={200: STATUS},
            ),
        ]


def routes(channel: WebChannel) -> list[Route]:
    return channel.routes()
