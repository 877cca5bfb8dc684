"""The chat customer's protocol: a customer's websocket, queued like any other contact
and relayed to the agent who accepts it, with a transcript that survives reconnects until
the chat closes. (The agent's side is ``channels.chat_channel``.)

Customer websocket ``GET /api/channels/chat/ws?access_token=...`` (public token, or an
integration token with the ``chat`` channel). JSON text frames; the customer sends:

- ``{"type": "start", "service", "language"?, "topic"?, "site"?}`` → ``session
  {session_id, resume_token, contact_id}``, then ``queued {position, estimated_wait}``
  (``{"min_s", "max_s"}`` or null when unknown) or ``connecting`` (offered at once);
- ``{"type": "message", "text"}`` (1..4000 characters) → kept in the transcript and, once
  an agent has the chat, relayed to the agent;
- ``{"type": "leave"}`` → before an agent has it the chat is abandoned at once; after,
  the agent is told and the chat stays open for a resume until the agent completes it.

The service sends ``connecting`` (offered to an agent), ``queued`` (waiting again, e.g.
the offer was declined), ``joined {agent_name}`` (the agent's ``display_name`` from the
region file, by default the first name: never the full name unless set so),
``message {from: "agent", text, at}``, ``redirect {target}``, ``closed {outcome}`` (then
the socket closes) and ``error {code, message, problems?}`` for a bad frame, which
changes nothing.

Resume: ``GET /api/channels/chat/ws?session=<id>&resume=<token>`` (plus the token) →
``resumed {session_id, contact_id, state, transcript, agent_name?}``; a wrong or unknown
session gets ``error {code: "resume_refused"}`` and the socket closes (1008). A newer
connection replaces an older one. A customer whose socket closes before an agent has the
chat is abandoned after ``grace_s`` (60 s) unless they resume (or an agent takes it);
if an agent has it, the grace starts if the chat leaves the agent's hands. The instance
holding the socket says so (``CustomerAway`` / ``CustomerBack`` events) and the engine's
timer on the region's clock decides, so a failover or virtual time changes nothing.

An instance that dies says nothing: in Redis mode each instance also reports the chats
whose customer's socket it holds (``CustomersSeen``), at the start or resume of a chat and
then every third of ``heartbeat_timeout_s``, as for agents; a chat not reported for that
long is taken as its customer gone at that moment (the grace starts), so the chats held
by a dead instance end like any other. Alone (memory mode) an instance outlives none of
its sockets and each close says ``CustomerAway`` itself: it reports none, and a chat never
reported is never judged.

The agent (over the agent websocket, see ``router.service.agents``) gets
``chat.transcript {contact_id, messages}`` when the chat is assigned, ``chat.message
{contact_id, from: "customer", text, at}``, ``chat.customer_left`` and
``chat.customer_back`` (left: once each time the customer goes, when their socket's
close is heard or, unheard, when the engine takes them as gone; back: a resume, or a
sighting after such a lapse: ``chat_sessions``); it
sends ``chat.message {contact_id, text}``. REST equivalents
for agents: ``GET /api/channels/chat/{contact_id}/transcript`` (e.g. after the agent's
browser reconnected) and ``POST /api/channels/chat/{contact_id}/messages {text}``.
The transcript lives while the chat is open and is dropped when it closes (in Redis mode
it goes through the region's log and snapshots, so every instance has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import uuid
from typing import Any

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from channels.chat import (
    MAX_FRAME,
    MAX_MESSAGES,
    MAX_TEXT,
    MAX_TOPIC,
    PREFIX,
    ChatAttached,
    ChatDetached,
    ChatDropped,
    ChatOpened,
    ChatSaid,
    ChatSession,
    digest,
)
from channels.chat_sessions import ChatSessions
from channels.common import bounded_text, read_language, read_service, read_site
from channels.refusals import admitted, recording
from router.core.errors import Conflict, RoutingError, UnknownContact
from router.core.events import (
    ContactAbandoned,
    ContactArrived,
    CustomerAway,
    CustomerBack,
    CustomersSeen,
)
from router.core.model import Channel, ContactSpec, ContactState
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, from_routing, parse_frame
from router.service.inbox import Inbox
from router.service.outbox import Outbox
from router.service.reader_bridge import fields_of
from router.service.runtime import Note, Stopped
from router.store import StoreUnavailable

log = logging.getLogger("yhteys.chat")

BUSY = ApiError(503, "busy", "too many frames waiting for an answer; this one was not handled")


def _not_text(box: Outbox, msg: WSMessage) -> None:
    if msg.type is WSMsgType.BINARY:
        box.send(_error(ApiError(400, "invalid_input", "expected JSON text frames")))


def _error(exc: ApiError) -> dict[str, Any]:
    return {"type": "error", **exc.body()["error"]}  # type: ignore[dict-item]


class CustomerProtocol(ChatSessions):
    """The customer's websocket: start, message, leave, resume."""

    # ------------------------------------------------------------ the customer

    async def websocket(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            heartbeat=self.service.settings.ws_ping_s, max_msg_size=MAX_FRAME
        )
        await ws.prepare(request)
        box = Outbox(ws, "chat customer")
        self.service.websockets.add(box)
        session: ChatSession | None = None

        async def handle(text: str) -> None:
            nonlocal session
            session = await self._frame(box, session, text)

        # Frames are handled in turn by the inbox's task while this loop reads on: a
        # message waiting for the store must not leave the client's pings unanswered.
        inbox: Inbox | None = None
        try:
            if "session" in request.query or "resume" in request.query:
                session = await self._resume(
                    box, request.query.get("session", ""), request.query.get("resume", "")
                )
                if session is None:
                    await box.close(WSCloseCode.POLICY_VIOLATION, "resume refused")
                    return ws
            inbox = Inbox(
                handle,
                lambda _: box.send(_error(BUSY)),
                "chat customer",
                lambda msg: _not_text(box, msg),
            )
            await inbox.serve(ws)
        finally:

            async def closed() -> None:
                log.info("chat customer disconnected (close code %s)", ws.close_code)
                self.service.websockets.discard(box)
                if session is not None:
                    self._detach(session, box)
                await box.finished()

            if inbox is None:
                await closed()
            else:
                await inbox.close(closed)
        return ws

    def _detach(self, s: ChatSession, box: Outbox) -> None:
        """The customer's connection ``box`` ended."""
        if s.box is not box:
            return  # replaced by a newer connection, or the chat closed
        conn = s.box_conn or ""
        s.box = s.box_conn = None
        if s.id in self.sessions:
            self._spawn(self._gone(s, conn))

    async def grace_upgrade(self) -> None:
        """Once this instance has caught up: chats whose customer was away under an older
        version (which timed the grace itself) get the engine's timer for what is left
        of it. Every instance may do this; the engine arms one timer per contact."""
        runtime = self.service.runtime
        await runtime.started.wait()  # caught up: the snapshot's sessions are here
        now = runtime.clock()
        for s in list(self.sessions.values()):
            since, s.away_since = s.away_since, None
            if since is None or s.conn is not None:
                continue
            left = max(0.0, self.grace_s - (now - since))
            with contextlib.suppress(RoutingError, Stopped, StoreUnavailable):
                await runtime.submit(CustomerAway(s.contact_id, left, s.epoch))

    async def _gone(self, s: ChatSession, conn: str) -> None:
        """The customer's connection ended: every instance hears of it, and the engine's
        grace timer (on the region's clock) abandons the chat unless they come back or
        an agent has it."""
        await self._note_quietly(ChatDetached(s.id, conn))
        if s.conn is not None:
            return  # a newer connection holds it already: the customer is there
        with contextlib.suppress(RoutingError, Stopped, StoreUnavailable):
            await self.service.runtime.submit(CustomerAway(s.contact_id, self.grace_s, s.epoch))

    # ------------------------------------------------------------ liveness

    def held(self) -> tuple[str, ...]:
        """The chats whose customer holds a websocket on this instance."""
        return tuple(s.contact_id for s in self.sessions.values() if s.box is not None)

    async def report_sightings(self) -> None:
        """Runs for the life of the service, telling the region every third of
        ``heartbeat_timeout_s`` which chats' customers hold a socket here, so that those
        of an instance that dies lapse with it. It judges nobody: that is the engine's
        timer, the same on every instance. Alone, nothing is reported (see the module)."""
        if self.service.store is None:
            return
        every_s = self.service.settings.heartbeat_timeout_s / 3
        while True:
            await asyncio.sleep(every_s)
            held = self.held()
            if held:
                await self._report(held)

    async def _report(self, contact_ids: tuple[str, ...]) -> None:
        if self.service.store is None:
            return
        timeout = self.service.settings.heartbeat_timeout_s
        # Nobody is judged while the report cannot be written: with the store away no
        # instance can write the timer's decision either.
        with contextlib.suppress(RoutingError, StoreUnavailable, Stopped):
            await self.service.runtime.submit(CustomersSeen(contact_ids, timeout, self.grace_s))

    async def _note_quietly(self, note: Note) -> None:
        try:
            await self.service.runtime.submit(note)
        except (Stopped, StoreUnavailable) as exc:
            log.info("chat note %s not kept: %s", type(note).__name__, exc)

    async def _frame(self, box: Outbox, s: ChatSession | None, text: str) -> ChatSession | None:
        """Handles one customer frame; returns the connection's session afterwards."""
        try:
            body = parse_frame(text)
            kind = body["type"]
            if kind == "start":
                if s is not None:
                    raise ApiError(409, "already_started", "this connection has a chat already")
                return await self._start(box, body)
            if kind not in ("message", "leave"):
                raise ApiError(
                    400,
                    "invalid_input",
                    f"unknown type {kind!r}; expected one of: start, message, leave",
                )
            if s is None or s.box is not box:
                raise ApiError(409, "no_session", "send 'start' first (or resume)")
            if kind == "message":
                await self._customer_says(s, body)
            else:
                await self._leave(s, box)
        except ApiError as exc:
            box.send(_error(exc))
        except RoutingError as exc:
            box.send(_error(from_routing(exc)))
        except Stopped:
            box.send(_error(ApiError(503, "unavailable", "the service is shutting down")))
        except StoreUnavailable as exc:
            box.send(_error(ApiError(503, "store_unavailable", str(exc))))
        return s

    async def _start(self, box: Outbox, body: dict[str, Any]) -> ChatSession | None:
        problems = BodyProblems()
        f = fields_of(problems, body, ("type", "service"), ("language", "topic", "site"))
        service_name = read_service(f, problems, self.service)
        language = read_language(f, problems, self.service)
        site = read_site(f, problems, self.service)
        topic = bounded_text(f, problems, "topic", MAX_TOPIC)
        problems.raise_if_any()
        if service_name is None:
            raise ApiError(400, "invalid_input", "service is required")
        if len(self.sessions) >= self.max_sessions:
            raise ApiError(503, "busy", "too many open chats; try again later")
        session_id, token = uuid.uuid4().hex, secrets.token_urlsafe(24)
        contact_id = PREFIX + uuid.uuid4().hex
        spec = ContactSpec(
            id=contact_id,
            channel=Channel.CHAT,
            service=service_name,
            language=language,
            preferred_site=site,
            attributes={"topic": topic} if topic is not None else {},
        )
        async with recording(self.service):  # closed: an error frame saying when it opens
            spec = admitted(self.service, spec)
        # Known before it arrives, so the listener sees its decisions; the customer is
        # told only once the session is sent (``ready``), from the engine's state then.
        runtime = self.service.runtime
        await runtime.submit(ChatOpened(session_id, digest(token), contact_id))
        s = self.sessions[session_id]
        try:
            await runtime.submit(ContactArrived(spec))
        except asyncio.CancelledError:
            # It may still arrive: abandoned unless the customer resumes.
            self._spawn(self._gone(s, ""))
            raise
        except BaseException:
            self._forget(s)
            self._spawn(self._note_quietly(ChatDropped(session_id)))
            raise
        if s.outcome is not None:  # never queued (redirected)
            if s.redirect is not None:
                box.send({"type": "redirect", "target": s.redirect})
            box.send({"type": "closed", "outcome": s.outcome})
            self._spawn(self._close_box(box, WSCloseCode.OK, "the chat has closed"))
            return None
        conn = uuid.uuid4().hex
        # Reported at once (batched with the attach): an instance that dies
        # before its next report must not leave the chat unjudged.
        await asyncio.gather(
            runtime.submit(ChatAttached(s.id, conn, resumed=False)), self._report((contact_id,))
        )
        if s.id not in self.sessions:  # closed meanwhile (the customer is told below)
            box.send({"type": "closed", "outcome": s.outcome or "abandoned"})
            self._spawn(self._close_box(box, WSCloseCode.OK, "the chat has closed"))
            return None
        s.box, s.box_conn = box, conn
        box.send(
            {
                "type": "session",
                "session_id": s.id,
                "resume_token": token,
                "contact_id": s.contact_id,
            }
        )
        now = self._now_message(s)
        if now is not None:
            box.send(now)
        return s

    async def _customer_says(self, s: ChatSession, body: dict[str, Any]) -> None:
        problems = BodyProblems()
        f = fields_of(problems, body, ("type", "text"))
        text = bounded_text(f, problems, "text", MAX_TEXT)
        problems.raise_if_any()
        await self._say(s, "customer", text or "")

    async def _say(self, s: ChatSession, who: str, text: str) -> dict[str, Any]:
        """Adds a message to the transcript on every instance; the one holding the other
        side's socket delivers it."""
        if len(s.transcript) >= MAX_MESSAGES:
            raise ApiError(409, "transcript_full", f"a chat holds at most {MAX_MESSAGES} messages")
        note = ChatSaid(s.contact_id, who, text, self.service.runtime.clock())
        await self.service.runtime.submit(note)
        return {"from": who, "text": text, "at": note.at}

    async def _leave(self, s: ChatSession, box: Outbox) -> None:
        if s.agent_id is None:
            try:
                # The Closed decision tells the customer and closes the socket.
                await self.service.runtime.submit(ContactAbandoned(s.contact_id))
                return
            except (Conflict, UnknownContact):
                if s.agent_id is None:  # closed meanwhile: nothing more to do
                    return
            # An agent accepted the chat meanwhile: leave it as an assigned chat.
        conn = s.box_conn or ""
        s.box = s.box_conn = None
        await self.service.runtime.submit(ChatDetached(s.id, conn))  # tells the agent
        # Gone as when the socket drops: the grace starts if the chat leaves the agent's
        # hands. Said here, where the socket is let go, or the instance would stop
        # reporting it and its lapse say so later (in Redis mode only).
        with contextlib.suppress(RoutingError):
            await self.service.runtime.submit(CustomerAway(s.contact_id, self.grace_s, s.epoch))
        box.send({"type": "left"})
        self._spawn(self._close_box(box, WSCloseCode.OK, "you left the chat"))

    async def _resume(self, box: Outbox, session_id: str, token: str) -> ChatSession | None:
        s = self.sessions.get(session_id)
        view = None
        if (
            s is not None
            and s.ready
            and token
            and hmac.compare_digest(s.token_digest.encode(), digest(token).encode())
        ):
            with contextlib.suppress(UnknownContact):
                view = self.service.engine.contact(s.contact_id)
        if s is None or view is None:
            box.send(
                _error(
                    ApiError(
                        403,
                        "resume_refused",
                        "unknown or closed chat session, or a wrong resume token",
                    )
                )
            )
            return None
        conn = uuid.uuid4().hex
        # Every instance hears of it: an older connection, wherever it is, is replaced.
        await self.service.runtime.submit(ChatAttached(s.id, conn, resumed=True))
        with contextlib.suppress(RoutingError):  # closed meanwhile: told just below
            await asyncio.gather(
                self.service.runtime.submit(CustomerBack(s.contact_id, s.epoch)),
                self._report((s.contact_id,)),  # held here now
            )
        try:
            view = self.service.engine.contact(s.contact_id)
        except UnknownContact:
            box.send({"type": "closed", "outcome": s.outcome or "closed"})
            return None
        s.box, s.box_conn = box, conn
        resumed: dict[str, Any] = {
            "type": "resumed",
            "session_id": s.id,
            "contact_id": s.contact_id,
            "state": view.state.value,
            "transcript": list(s.transcript),
        }
        if s.agent_id is not None:
            resumed["agent_name"] = self._agent_name(s.agent_id)
        box.send(resumed)
        if view.state is ContactState.WAITING:
            box.send(self._queued(s.contact_id))
        return s
