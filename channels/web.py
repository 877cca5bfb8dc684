"""Web: contact requests from the region's website ("contact me" forms), queued like any
other contact and answered by an agent in the way the person asked for.

Protocol (integration token with the ``web`` channel):

- ``POST /api/channels/web/requests`` ``{service, language?, message, contact_preference:
  {method: phone|email|sms, value}, site?, topic?}`` → ``201 {contact_id, state, position,
  estimated_wait}``; the contact is ``web-<uuid>`` in the ``web`` channel, and the agent's
  offer carries the message and the contact preference as attributes.
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
import uuid
from collections import OrderedDict
from typing import Any

from aiohttp import web

from channels.common import E164, read_language, read_service, read_site
from router.config.reader import Fields
from router.config.tokens import ApiChannel, Role
from router.core import decisions as d
from router.core.errors import Conflict, UnknownContact
from router.core.events import ContactArrived, ContactCancelled
from router.core.model import Channel, ContactSpec, ContactState
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, read_fields
from router.service.routes import Route, Schema
from router.service.service import Service

PREFIX = "web-"
REMEMBER_FINISHED = 10_000
MAX_MESSAGE = 4000
MAX_TOPIC = 200
METHODS = ("phone", "email", "sms")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
MAX_EMAIL = 254


# ---------------------------------------------------------------- shared helpers


def bounded_text(f: Fields, problems: BodyProblems, key: str, max_len: int) -> str | None:
    """A non-empty string of at most ``max_len`` characters (None when absent or bad)."""
    text = f.text(key)
    if text is not None and len(text) > max_len:
        problems.add(f.at(key), f"must be at most {max_len} characters, got {len(text)}")
        return None
    return text


def wait_json(service: Service, contact_id: str) -> tuple[int | None, dict[str, float] | None]:
    """(position, estimated_wait) for a waiting contact, as the API shows them."""
    estimate = service.estimate(contact_id)
    wait = (
        {"min_s": estimate.low_s, "max_s": estimate.high_s}
        if estimate.low_s is not None and estimate.high_s is not None
        else None
    )
    return estimate.position, wait


class StatusBook:
    """The status of one channel's contacts (by id prefix): open ones from the engine,
    closed ones from a bounded memory of their outcomes (the newest ``remember``)."""

    def __init__(self, service: Service, prefix: str, remember: int = REMEMBER_FINISHED) -> None:
        self.service = service
        self.prefix = prefix
        self.remember = remember
        self.finished: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Fields a channel adds to an open contact's status (kept when it closes).
        self.labels: dict[str, dict[str, Any]] = {}
        service.runtime.listeners.append(self.on_decision)

    def label(self, contact_id: str, fields: dict[str, Any]) -> None:
        """Adds ``fields`` to the contact's status (set before it is submitted)."""
        self.labels[contact_id] = fields

    def unlabel(self, contact_id: str) -> None:
        self.labels.pop(contact_id, None)

    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Redirected) and decision.contact_id.startswith(self.prefix):
            self._finish(
                decision.contact_id,
                {
                    "outcome": "redirected",
                    "action": "redirect",
                    "target": decision.target,
                    "urgency": decision.urgency,
                },
            )
        elif (
            isinstance(decision, d.Closed)
            and decision.contact_id.startswith(self.prefix)
            and decision.contact_id not in self.finished
        ):
            self._finish(decision.contact_id, {"outcome": decision.outcome})

    def _finish(self, contact_id: str, record: dict[str, Any]) -> None:
        self.finished[contact_id] = {**self.labels.pop(contact_id, {}), **record}
        while len(self.finished) > self.remember:
            self.finished.popitem(last=False)

    def is_open(self, contact_id: str) -> bool:
        try:
            self.service.engine.contact(contact_id)
        except UnknownContact:
            return False
        return True

    def known(self, contact_id: str) -> bool:
        return contact_id in self.finished or self.is_open(contact_id)

    def status(self, contact_id: str) -> dict[str, Any] | None:
        """The contact's status, or None when it is neither open nor remembered."""
        if not contact_id.startswith(self.prefix):
            return None
        done = self.finished.get(contact_id)
        if done is not None:
            return {
                "contact_id": contact_id,
                "state": ContactState.CLOSED.value,
                "position": None,
                "estimated_wait": None,
                **done,
            }
        try:
            view = self.service.engine.contact(contact_id)
        except UnknownContact:
            return None
        position: int | None = None
        wait: dict[str, float] | None = None
        if view.state is ContactState.WAITING:
            position, wait = wait_json(self.service, contact_id)
        return {
            "contact_id": contact_id,
            **self.labels.get(contact_id, {}),
            "state": view.state.value,
            "position": position,
            "estimated_wait": wait,
        }

    def require(self, contact_id: str, what: str) -> dict[str, Any]:
        status = self.status(contact_id)
        if status is None:
            raise ApiError(404, "not_found", f"no {what} {contact_id!r}")
        return status

    async def cancel(self, contact_id: str, reason: str, what: str) -> dict[str, Any]:
        """Withdraws a contact no agent has yet (outcome ``cancelled``); a closed one is
        answered with its outcome, unchanged."""
        self.require(contact_id, what)
        if contact_id not in self.finished:
            try:
                await self.service.runtime.submit(ContactCancelled(contact_id, reason))
            except Conflict as exc:
                raise ApiError(409, "conflict", f"an agent has it: {exc}") from None
            except UnknownContact:  # closed meanwhile: answer with its outcome
                pass
        return self.require(contact_id, what)


# ---------------------------------------------------------------- the web channel


class WebChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX)

    async def create(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        f, problems = await read_fields(
            request,
            ("service", "message", "contact_preference"),
            ("language", "site", "topic"),
        )
        service_name = read_service(f, problems, self.service)
        language = read_language(f, problems, self.service)
        site = read_site(f, problems, self.service)
        message = bounded_text(f, problems, "message", MAX_MESSAGE)
        topic = bounded_text(f, problems, "topic", MAX_TOPIC)
        method, value = self._preference(f, problems)
        problems.raise_if_any()
        if service_name is None or message is None or method is None or value is None:
            raise ApiError(400, "invalid_input", "service, message and contact_preference needed")
        attributes = {"message": message, "contact_method": method, "contact_value": value}
        if topic is not None:
            attributes["topic"] = topic
        cid = PREFIX + uuid.uuid4().hex
        spec = ContactSpec(
            id=cid,
            channel=Channel.WEB,
            service=service_name,
            language=language,
            preferred_site=site,
            attributes=attributes,
        )
        await self.service.runtime.submit(ContactArrived(spec))
        return web.json_response(self.book.require(cid, "web request"), status=201)

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
                },
                "site": {"type": "string", "description": "the person's own health station"},
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
                {201: "status of the new request", 400: "invalid input", 413: "body too large"},
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


def routes(service: Service) -> list[Route]:
    return WebChannel(service).routes()
