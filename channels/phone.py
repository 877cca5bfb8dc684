"""Phone: webhooks from the telephony platform behind the one number.

The platform posts a call when the caller has chosen language, service (and urgency) in
the IVR, and asks again (``GET``) while the caller waits. Every answer is an instruction:

- ``{"action": "connect", "agent_id", "agent_name"}`` — ring this agent now;
- ``{"action": "queue", "announcement": {"position", "estimated_wait"}}`` — play the
  queue announcement (``estimated_wait`` is ``{"min_s", "max_s"}`` or null when unknown);
- ``{"action": "connected", "agent_id"}`` — the call is with an agent;
- ``{"action": "redirect", "target": "112"}`` — never queued (the most urgent class);
- ``{"action": "hangup", "outcome"}`` — the contact has closed.

- ``{"action": "closed", "opens_at"}`` — after hours, and the service tells callers
  when to call again (``opens_at``: epoch seconds, or null); no contact is made;
- ``{"action": "scheduled", "until"}`` — after hours, the call waits for the opening;
- ``{"action": "callback", "state", "position", "estimated_wait"}`` — the caller asked
  to be called back (``POST .../callback``): thank them and hang up; the contact keeps
  its place as a callback. Reporting the hang-up (``POST .../abandoned``) is then
  harmless: a callback is never closed by its caller hanging up. The caller cancels it
  with ``DELETE .../callback`` (e.g. from the IVR when they call again): it closes
  ``cancelled`` (audited); 409 once an agent has accepted it or it closed otherwise.

The call may name the caller's own nurse and team (``own_agent``, ``own_team``, beside
``site``), checked against the roster (the body's shape: ``channels.shapes.CallBody``).

The contact id is ``phone-<call_id>``; posting the same call again returns its current
instruction (a retried webhook has no second effect); the ``call_id`` of an open call
posted with another service, language, urgency, caller, site or own nurse or team is 409
``call_id_reused``, nothing changed. Hidden and foreign numbers cannot
turn into callbacks: the answer is 409 with the reason, and the caller stays in the queue.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.admission import CallAgainAt, admit
from channels.answers import INSTRUCTION, INSTRUCTION_OR_CLOSED, queue_text
from channels.callback import caller_cancelled, cancel_callback
from channels.common import STAYS_QUEUED, InFlight, Own, callback_refusal
from channels.refusals import record
from channels.shapes import AnsweredBody, CallBody, CallCallbackBody, own_of
from channels.status import StatusBook, wait_json
from router.config.tokens import ApiChannel, Role
from router.core.errors import Conflict, UnknownContact
from router.core.events import ChannelSwitched, ContactAbandoned, ContactArrived, OfferAccepted
from router.core.model import Channel, ContactSpec, ContactState
from router.core.state import ContactView
from router.service.auth import Principal
from router.service.body_shapes import read_body, request_schema
from router.service.http import ApiError, dumps, json_text_answer
from router.service.routes import Route
from router.service.service import Service

PREFIX = "phone-"


def _connect(call_id: str, state: ContactState, agent_id: str, name: str) -> dict[str, Any]:
    """The instruction for a call an agent holds: ``connect`` while offered, else
    ``connected``."""
    action = "connect" if state is ContactState.OFFERED else "connected"
    return {"call_id": call_id, "action": action, "agent_id": agent_id, "agent_name": name}


class PhoneChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX)
        self.arriving = InFlight()

    def instruction(self, call_id: str) -> dict[str, Any]:
        cid = PREFIX + call_id
        done = self.book.finished.get(cid)
        if done is not None:
            if done.get("action") == "redirect":
                return {"call_id": call_id, "action": "redirect", "target": done["target"]}
            return {"call_id": call_id, "action": "hangup", "outcome": done["outcome"]}
        try:
            view = self.service.engine.contact(cid)
        except UnknownContact:
            raise ApiError(404, "not_found", f"no call {call_id!r}") from None
        if view.channel is Channel.CALLBACK:
            position, wait = (
                wait_json(self.service, cid, view.service)
                if view.state is ContactState.WAITING
                else (None, None)
            )
            return {
                "call_id": call_id,
                "action": "callback",
                "state": view.state.value,
                "position": position,
                "estimated_wait": wait,
            }
        if view.state is ContactState.SCHEDULED:
            return {"call_id": call_id, "action": "scheduled", "until": view.hold_until}
        if view.state is ContactState.WAITING:
            return self._queue_answer(call_id, view.service, view.spec.language)
        agent = self.service.engine.agent(view.agent_id or "")
        return _connect(call_id, view.state, agent.id, agent.spec.name)

    def _queue_answer(self, call_id: str, service: str, language: str | None) -> dict[str, Any]:
        """The ``queue`` instruction of a waiting call of ``service``."""
        position, wait = wait_json(self.service, PREFIX + call_id, service)
        return {
            "call_id": call_id,
            "action": "queue",
            "announcement": {"position": position, "estimated_wait": wait, "language": language},
        }

    def _new_call_answer(self, call_id: str, spec: ContactSpec) -> str:
        """The instruction (its JSON) for a call just registered: most wait in the queue,
        and their answer reads the engine's state, channel and service without a view of
        the contact (one per webhook), the language the one it arrived with, and is
        written from its template (``answers.queue_text``)."""
        cid = PREFIX + call_id
        glance = self.service.runtime.engine.contact_glance(cid)
        if glance is not None and glance[0] is ContactState.WAITING and glance[1] is Channel.VOICE:
            # ``wait_json``, inline
            estimate = self.service.estimate(cid, glance[2])
            low, high = estimate.low_s, estimate.high_s
            wait = None if low is None or high is None else {"min_s": low, "max_s": high}
            return queue_text(call_id, estimate.position, wait, spec.language)
        held = self.service.runtime.engine.holder_glance(cid)
        if held is not None and held[1] is Channel.VOICE:
            # ``instruction``'s answer to a call offered (or already taken) as it came in
            state = held[0]
            if state is ContactState.OFFERED or state is ContactState.ASSIGNED:
                return dumps(_connect(call_id, state, held[2], held[3]))
        return dumps(self.instruction(call_id))

    async def arrived(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        body = await read_body(request, CallBody, self.service)
        call_id, caller, service_name = body.call_id, body.caller, body.ivr.service
        urgency, language = body.ivr.urgency, body.ivr.language
        if body.own_agent is None:
            # ``own_of``'s answer without an own nurse (team and site as given), kept in
            # three names: no ``Own`` made on every webhook for a retry's check.
            own_agent, own_team, own_site = None, body.own_team, body.site
        else:
            own = own_of(self.service, body.own_agent, body.own_team, body.site)
            own_agent, own_team, own_site = own.agent, own.team, own.site
        cid = PREFIX + call_id
        if cid in self.arriving:
            await self.arriving.wait(cid)
        if self.book.known(cid):
            # A retry (only then: a first post pays nothing for the check).
            self._same_call(call_id, body, Own(own_agent, own_team, own_site))
            return web.json_response(self.instruction(call_id))
        spec = ContactSpec(
            id=cid,
            channel=Channel.VOICE,
            service=service_name,
            urgency=urgency,
            language=language,
            preferred_agent=own_agent,
            preferred_team=own_team,
            preferred_site=own_site,
            external_ref=call_id,
            attributes={"caller": caller},
        )
        service, runtime = self.service, self.service.runtime
        admitted = admit(
            service.region, runtime.engine.service(service_name), spec, runtime.clock()
        )
        if isinstance(admitted, CallAgainAt):
            # No contact is made; the refusal is recorded (audit, metrics, report).
            await record(service, spec, admitted.at)
            return web.json_response(
                {"call_id": call_id, "action": "closed", "opens_at": admitted.at}
            )
        with self.arriving.registering(cid):
            await runtime.submit(ContactArrived(admitted))
        return json_text_answer(self._new_call_answer(call_id, admitted), status=201)

    def _same_call(self, call_id: str, body: CallBody, own: Own) -> None:
        """409 ``call_id_reused`` when a call posted again under a known ``call_id``
        is not the call it names (another service, language, urgency, caller, site or
        own nurse or team): a retried webhook has no second effect, and a different
        call must not be answered with another's instruction. Checked while the call
        is open, against the contact as it arrived; a closed one keeps only its outcome."""
        try:
            first = self.service.engine.contact(PREFIX + call_id).spec
        except UnknownContact:
            return
        ivr = body.ivr
        differs = [
            name
            for name, was, now in (
                ("ivr.service", first.service, ivr.service),
                ("ivr.language", first.language, ivr.language),
                ("ivr.urgency", first.urgency, ivr.urgency),
                ("caller", first.attributes.get("caller"), body.caller),
                ("site", first.preferred_site, own.site),
                ("own_agent", first.preferred_agent, own.agent),
                ("own_team", first.preferred_team, own.team),
            )
            if was != now
        ]
        if differs:
            raise ApiError(
                409,
                "call_id_reused",
                f"call {call_id!r} is already known with another {', '.join(differs)}; "
                "nothing was changed. A retry must repeat the same call; a new call "
                "needs a new call_id",
            )

    def _open_call(self, call_id: str) -> ContactView:
        try:
            return self.service.engine.contact(PREFIX + call_id)
        except UnknownContact:
            raise ApiError(404, "not_found", f"no open call {call_id!r}") from None

    async def callback(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        """The waiting caller chose to be called back: same place, callback channel."""
        call_id = request.match_info["call_id"]
        given = (await read_body(request, CallCallbackBody)).number
        cid = PREFIX + call_id
        view = self._open_call(call_id)
        if view.channel is not Channel.CALLBACK:
            number = given or view.spec.attributes.get("caller", "")
            reason = callback_refusal(number)
            if reason is not None:
                raise ApiError(409, "not_callable", reason + STAYS_QUEUED)
            try:
                await self.service.runtime.submit(
                    ChannelSwitched(cid, Channel.CALLBACK, {"number": number})
                )
            except Conflict as exc:
                raise ApiError(409, "conflict", f"the call is with an agent: {exc}") from None
        return web.json_response(self.instruction(call_id))

    async def cancel_callback(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        """The caller cancels the callback they chose in the queue."""
        call_id = request.match_info["call_id"]
        reason = caller_cancelled(principal)
        await cancel_callback(self.service, self.book, PREFIX + call_id, reason, "call")
        return web.json_response(self.instruction(call_id))

    async def current(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        return web.json_response(self.instruction(request.match_info["call_id"]))

    async def answered(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        call_id = request.match_info["call_id"]
        agent_id = (await read_body(request, AnsweredBody)).agent_id
        cid = PREFIX + call_id
        view = self._open_call(call_id)
        if not (view.state is ContactState.ASSIGNED and view.agent_id == agent_id):
            await self.service.runtime.submit(OfferAccepted(cid, agent_id or ""))
        return web.json_response(self.instruction(call_id))

    async def abandoned(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        call_id = request.match_info["call_id"]
        cid = PREFIX + call_id
        if cid not in self.book.finished:
            try:
                await self.service.runtime.submit(ContactAbandoned(cid))
            except UnknownContact:
                raise ApiError(404, "not_found", f"no call {call_id!r}") from None
            except Conflict as exc:
                raise ApiError(409, "conflict", f"the call is with an agent: {exc}") from None
        return web.json_response(self.instruction(call_id))

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.PHONE
        return [
            Route(
                "POST",
                "/api/channels/phone/calls",
                self.arrived,
                "A call arrived from the IVR; returns what to do",
                integ,
                ch,
                request_schema(CallBody),
                {
                    200: "no new contact: the call was already known (its instruction), or "
                    'the service is closed after hours ({"action": "closed", "opens_at"}: '
                    "play the closed message; recorded as a refusal)",
                    201: "instruction for the new contact",
                    400: "invalid input",
                    409: "call_id_reused: the call_id names an open call with another "
                    "service, language, urgency, caller, site or own nurse or team",
                },
                tag="phone",
                schemas={200: INSTRUCTION_OR_CLOSED, 201: INSTRUCTION},
            ),
            Route(
                "GET",
                "/api/channels/phone/calls/{call_id}",
                self.current,
                "What to do with a call now",
                integ,
                ch,
                tag="phone",
                responses={200: "instruction", 404: "unknown call"},
                schemas={200: INSTRUCTION},
            ),
            Route(
                "POST",
                "/api/channels/phone/calls/{call_id}/answered",
                self.answered,
                "The offered agent picked up",
                integ,
                ch,
                request_schema(AnsweredBody),
                {200: "instruction", 404: "unknown call", 409: "not offered to that agent"},
                tag="phone",
                schemas={200: INSTRUCTION},
            ),
            Route(
                "POST",
                "/api/channels/phone/calls/{call_id}/callback",
                self.callback,
                "The waiting caller asks to be called back: keeps the place as a callback",
                integ,
                ch,
                request_schema(CallCallbackBody),
                {
                    200: "instruction (action: callback)",
                    400: "invalid input",
                    404: "unknown call",
                    409: "hidden or foreign number, or the call is with an agent",
                },
                tag="phone",
                schemas={200: INSTRUCTION},
            ),
            Route(
                "DELETE",
                "/api/channels/phone/calls/{call_id}/callback",
                self.cancel_callback,
                "The caller cancels the callback they chose (outcome cancelled, audited); "
                "a retry answers the same hangup instruction",
                integ,
                ch,
                tag="phone",
                responses={
                    200: "instruction (action: hangup, outcome: cancelled)",
                    404: "unknown call",
                    409: "not_a_callback: the call is not a callback; with_agent: an agent "
                    "has accepted it; closed: it closed with another outcome",
                },
                schemas={200: INSTRUCTION},
            ),
            Route(
                "POST",
                "/api/channels/phone/calls/{call_id}/abandoned",
                self.abandoned,
                "The caller hung up before being answered (a call that became a "
                "callback stays queued as a callback)",
                integ,
                ch,
                tag="phone",
                responses={
                    200: "instruction",
                    404: "unknown call",
                    409: "the call is with an agent",
                },
                schemas={200: INSTRUCTION},
            ),
        ]


def routes(channel: PhoneChannel) -> list[Route]:
    return channel.routes()
