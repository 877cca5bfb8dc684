"""Callback: a request to be called back, queued as a ``callback`` contact so it keeps
its place in the one priority order — the plumbing only.

Protocol (integration token with the ``callback`` channel):

- ``POST /api/channels/callbacks`` ``{number, service, language?, site?, urgency?,
  own_agent?, own_team?}`` →
  ``201 {contact_id, state, position, estimated_wait}``; the contact is ``cb-<uuid>``
  with the attributes ``number`` and ``via`` (the registering integration's name). With
  an ``Idempotency-Key`` header the contact is ``cb-<key>``: the same request again (from
  the same integration) answers 200 with it; the key from another integration or with
  a different request is 409 ``idempotency_key_reused`` and changes nothing
  (``channels.status.StatusBook.create``). The number must be E.164; a hidden number ('hidden',
  'anonymous', ...) is refused with 400: it cannot be called back, and the caller stays
  in the live queue. The most urgent class (P0) is never queued: ``{"action":
  "redirect", "target": "112", ...}``.
- ``GET /api/channels/callbacks/{contact_id}`` → the same status; once closed,
  ``state: "closed"`` with the ``outcome``. Another integration's request is unknown
  to the caller (404), also to ``DELETE``.
- ``DELETE /api/channels/callbacks/{contact_id}`` → the caller cancels their own request
  (outcome ``cancelled``, audited with the integration's name); a retry answers the same
  closed status. ``409 with_agent`` once an agent has accepted it, ``409 closed`` when it
  closed otherwise (reached, unreachable). A caller who chose a callback in the phone
  queue cancels it with ``DELETE /api/channels/phone/calls/{call_id}/callback``. There is
  no bulk cancellation; hanging up never cancels a callback.

- ``GET /api/channels/callbacks/windows?service=S`` → ``{service, windows: [{start,
  end}]}``: the next windows (the callback channel's opening hours cut into the
  service's ``callback.window_s``); a request with ``window_start`` set to one of them is
  ``scheduled`` until then, due at its start (the front of the queue) and offered then.

Only Finnish numbers (+358) are called back; foreign and hidden ones are refused with the
reason. Attempts, retries and the ``unreachable`` outcome: see ``docs/service.md``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from channels.answers import STATUS, WINDOWS
from channels.refusals import admitted, recording
from channels.shapes import CallbackRequestBody, own_of
from channels.status import StatusBook, name_of, with_via
from router.calendar.opening_hours import Schedule
from router.config.tokens import ApiChannel, Role
from router.core.errors import Conflict, UnknownContact
from router.core.events import ContactCancelled
from router.core.model import Channel, ContactSpec, ContactState
from router.service.auth import Principal
from router.service.body_shapes import read_body, request_schema
from router.service.http import ApiError, BodyProblems
from router.service.routes import Query, Route, choice
from router.service.service import Service

PREFIX = "cb-"  # (the routes' {contact_id} pattern keeps /callbacks/windows apart)


def caller_cancelled(principal: Principal | None) -> str:
    """The audited reason of a caller's own cancellation (who passed it on)."""
    via = principal.name if principal is not None else "unknown"
    return f"the caller cancelled the callback request (via {via})"


async def cancel_callback(
    service: Service,
    book: StatusBook,
    contact_id: str,
    reason: str,
    what: str,
    who: str | None = None,
) -> None:
    """The caller withdraws their callback request: it closes ``cancelled``, audited
    with ``reason``. Idempotent: one already closed ``cancelled`` is left as it is.
    Refused (409, nothing changes) once an agent has accepted it, when it closed
    otherwise, or when the contact is not a callback."""
    # 404 for an unknown (or long closed) one, and for another integration's than ``who``
    book.require(contact_id, what, who)
    done = book.finished.get(contact_id)
    if done is None:
        try:
            view = service.engine.contact(contact_id)
        except UnknownContact:
            view = None  # closed meanwhile: answered below with its outcome
        if view is not None:
            if view.channel is not Channel.CALLBACK:
                raise ApiError(
                    409,
                    "not_a_callback",
                    f"{contact_id} is a {view.channel.value} contact, not a callback request",
                )
            if view.state is ContactState.ASSIGNED:
                raise ApiError(
                    409,
                    "with_agent",
                    f"the callback request is with agent {view.agent_id}; "
                    "it can no longer be cancelled",
                )
            try:
                await service.runtime.submit(ContactCancelled(contact_id, reason))
            except Conflict as exc:
                raise ApiError(
                    409, "with_agent", f"the callback request is with an agent: {exc}"
                ) from None
            except UnknownContact:
                pass
        done = book.finished.get(contact_id)
    outcome = None if done is None else done.get("outcome")
    if outcome != "cancelled":
        raise ApiError(
            409,
            "closed",
            f"the callback request has already closed with the outcome {outcome!r}; "
            "there is nothing to cancel",
        )


MAX_WINDOWS = 12
WINDOW_DAYS = 14


def windows(schedule: Schedule, now: float, length_s: float) -> list[tuple[float, float]]:
    """The next windows a caller may pick: the callback channel's opening hours cut
    into ``length_s`` slices (the last of a span may be shorter), starting after ``now``.
    An always-open service offers whole hours over the next day."""
    out: list[tuple[float, float]] = []
    if schedule.always_open:
        start = (now // 3600 + 1) * 3600
        while len(out) < MAX_WINDOWS and start < now + 86400:
            out.append((start, start + length_s))
            start += length_s
        return out
    day = schedule.day_of(now)
    for offset in range(WINDOW_DAYS):
        for span_start, span_end in schedule.spans(day + timedelta(days=offset)):
            start = span_start
            while start < span_end:
                end = min(start + length_s, span_end)
                if start > now:
                    out.append((start, end))
                    if len(out) >= MAX_WINDOWS:
                        return out
                start = end
    return out


class CallbackChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX)

    async def create(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        body = await read_body(request, CallbackRequestBody, self.service)
        number, service_name, window_start = body.number, body.service, body.window_start
        urgency, language = body.urgency, body.language
        own = own_of(self.service, body.own_agent, body.own_team, body.site)

        request_spec = ContactSpec(
            id=PREFIX,  # the id comes from the Idempotency-Key (StatusBook.create)
            channel=Channel.CALLBACK,
            service=service_name,
            urgency=urgency,
            language=language,
            preferred_agent=own.agent,
            preferred_team=own.team,
            preferred_site=own.site,
            attributes=with_via({"number": number}, principal),
        )
        if window_start is not None:  # due when its window opens, offered from then on
            request_spec = replace(request_spec, not_before=window_start, due_at=window_start)

        def admit(spec: ContactSpec) -> ContactSpec:
            if window_start is None:
                return admitted(self.service, spec)
            # A window the service offers now (a retry may come after it has begun).
            if window_start not in {start for start, _ in self._windows(service_name)}:
                raise ApiError(
                    409,
                    "no_such_window",
                    "window_start must be the start of a window the service offers now "
                    "(GET /api/channels/callbacks/windows?service=...)",
                )
            return spec

        async with recording(self.service):  # closed: 409 closed, recorded
            return await self.book.create(request.headers, request_spec, admit, "callback request")

    def _windows(self, service_name: str) -> list[tuple[float, float]]:
        schedule = self.service.region.hours_of(service_name).schedule(Channel.CALLBACK)
        length = self.service.engine.service(service_name).callback_window_s
        return windows(schedule, self.service.runtime.clock(), length)

    async def offered_windows(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        name = request.query.get("service", "")
        if name not in self.service.region.services:
            problems = BodyProblems()
            known = ", ".join(self.service.region.services)
            if not name:
                problems.add("service", f"required: the service's name, one of: {known}")
            else:
                problems.add("service", f"unknown service {name!r}; expected one of: {known}")
            problems.raise_if_any()
        return web.json_response(
            {
                "service": name,
                "windows": [{"start": s, "end": e} for s, e in self._windows(name)],
            }
        )

    async def current(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        return web.json_response(self.book.require(cid, "callback request", name_of(principal)))

    async def cancel(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        what, who = "callback request", name_of(principal)
        reason = caller_cancelled(principal)
        await cancel_callback(self.service, self.book, cid, reason, what, who)
        return web.json_response(self.book.require(cid, what, who))

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.CALLBACK
        return [
            Route(
                "GET",
                "/api/channels/callbacks/windows",
                self.offered_windows,
                "The windows a caller may pick for a scheduled callback (?service=)",
                integ,
                ch,
                responses={200: "the next windows (epoch seconds)", 400: "unknown service"},
                query=(Query("service", choice(self.service.region.services), required=True),),
                tag="callback",
                schemas={200: WINDOWS},
            ),
            Route(
                "POST",
                "/api/channels/callbacks",
                self.create,
                "A callback request; queued for an agent to call back",
                integ,
                ch,
                request_schema(CallbackRequestBody),
                {
                    201: "status of the new request (or a redirect for the most urgent class)",
                    400: "invalid input, or a hidden number",
                    409: "idempotency_key_reused: the Idempotency-Key was used by another "
                    "integration or for a different request; no_such_window: window_start "
                    "is not an offered window; or "
                    "closed: the service is closed after hours, the error carries opens_at "
                    "(epoch s, null: no opening hours ahead), recorded as a refusal",
                    413: "body too large",
                },
                tag="callback",
                schemas={200: STATUS, 201: STATUS},
            ),
            Route(
                "GET",
                f"/api/channels/callbacks/{{contact_id:{PREFIX}[^/]+}}",
                self.current,
                "Status of a callback request: position and estimated wait, or its outcome",
                integ,
                ch,
                responses={200: "status", 404: "unknown or long closed"},
                tag="callback",
                schemas={200: STATUS},
            ),
            Route(
                "DELETE",
                f"/api/channels/callbacks/{{contact_id:{PREFIX}[^/]+}}",
                self.cancel,
                "The caller cancels their own callback request (outcome cancelled, audited); "
                "a retry answers the same closed status",
                integ,
                ch,
                responses={
                    200: "status: closed, outcome cancelled",
                    404: "unknown or long closed",
                    409: "with_agent: an agent has accepted it; closed: it closed with "
                    "another outcome",
                },
                tag="callback",
                schemas={200: STATUS},
            ),
        ]


def routes(channel: CallbackChannel) -> list[Route]:
    return channel.routes()
