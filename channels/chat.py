"""Chat: a customer's websocket, queued like any other contact and relayed to the agent
who accepts it, with a transcript that survives reconnects until the chat closes.

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

The agent (over the agent websocket, see ``router.service.agents``) gets
``chat.transcript {contact_id, messages}`` when the chat is assigned, ``chat.message
{contact_id, from: "customer", text, at}``, ``chat.customer_left`` and
``chat.customer_back``; it sends ``chat.message {contact_id, text}``. REST equivalents
for agents: ``GET /api/channels/chat/{contact_id}/transcript`` (e.g. after the agent's
browser reconnected) and ``POST /api/channels/chat/{contact_id}/messages {text}``.
The transcript lives while the chat is open and is dropped when it closes (in Redis mode
it goes through the region's log and snapshots, so every instance has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from channels.common import bounded_text, read_language, read_service, read_site
from channels.refusals import admitted, recording
from channels.status import wait_json
from router.config.tokens import ApiChannel, Role
from router.core import decisions as d
from router.core.errors import Conflict, RoutingError, UnknownAgent, UnknownContact
from router.core.events import ContactAbandoned, ContactArrived, CustomerAway, CustomerBack
from router.core.model import Channel, ContactSpec, ContactState
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, from_routing, parse_frame, read_fields
from router.service.inbox import Inbox
from router.service.outbox import Outbox
from router.service.reader_bridge import fields_of
from router.service.routes import Query, Route, Schema
from router.service.runtime import Note, Stopped
from router.service.service import Service
from router.store import StoreUnavailable
from router.store.codec import allow

log = logging.getLogger("yhteys.chat")

PREFIX = "chat-"
MAX_TEXT = 4000
MAX_TOPIC = 200
MAX_MESSAGES = 1000
MAX_SESSIONS = 10_000
MAX_FRAME = 64 * 1024
DEFAULT_GRACE_S = 60.0


@dataclass(eq=False, slots=True)
class ChatSession:
    # Replicated: every instance keeps these, changed only by notes and decisions.
    id: str
    token_digest: str  # SHA-256 of the resume token: the token itself is never stored
    contact_id: str
    transcript: list[dict[str, Any]] = field(default_factory=list)
    conn: str | None = None  # the customer's current connection, on whichever instance
    agent_id: str | None = None  # the agent who accepted the chat
    ready: bool = False  # the customer has been told the session
    outcome: str | None = None
    redirect: str | None = None
    # How many connections have held the chat: the latest one's number goes with the
    # engine's CustomerAway/CustomerBack, so a late report about an older one is ignored.
    epoch: int = 0
    # Set only from an older version's snapshot: since when the customer was away.
    away_since: float | None = None
    # This instance's own: the customer's socket when it is connected here.
    box: Outbox | None = None
    box_conn: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Notes: what changes a chat besides the engine's decisions. They go through the same
# log as engine events, so in Redis mode every instance's sessions stay the same and the
# instance holding a socket (customer's or agent's) delivers to it.


@allow
@dataclass(frozen=True, slots=True)
class ChatOpened(Note):
    session_id: str
    token_digest: str
    contact_id: str


@allow
@dataclass(frozen=True, slots=True)
class ChatDropped(Note):
    """The chat's contact never arrived (refused, or the service stopping)."""

    session_id: str


@allow
@dataclass(frozen=True, slots=True)
class ChatAttached(Note):
    """The customer's connection ``conn`` holds the chat now (``resumed``: it came back)."""

    session_id: str
    conn: str
    resumed: bool


@allow
@dataclass(frozen=True, slots=True)
class ChatDetached(Note):
    """The customer's connection ``conn`` ended or left."""

    session_id: str
    conn: str


@allow
@dataclass(frozen=True, slots=True)
class ChatSaid(Note):
    contact_id: str
    who: str  # "customer" or "agent"
    text: str
    at: float


BUSY = ApiError(503, "busy", "too many frames waiting for an answer; this one was not handled")


def _not_text(box: Outbox, msg: WSMessage) -> None:
    if msg.type is WSMsgType.BINARY:
        box.send(_error(ApiError(400, "invalid_input", "expected JSON text frames")))


def _error(exc: ApiError) -> dict[str, Any]:
    return {"type": "error", **exc.body()["error"]}  # type: ignore[dict-item]


class ChatChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.grace_s = DEFAULT_GRACE_S
        self.max_sessions = MAX_SESSIONS
        self.sessions: dict[str, ChatSession] = {}
        self.by_contact: dict[str, ChatSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ notes (every instance)

    def on_opened(self, n: ChatOpened, now: float) -> None:
        s = ChatSession(n.session_id, n.token_digest, n.contact_id)
        self.sessions[s.id] = s
        self.by_contact[s.contact_id] = s

    def on_dropped(self, n: ChatDropped, now: float) -> None:
        s = self.sessions.get(n.session_id)
        if s is not None:
            self._forget(s)

    def on_attached(self, n: ChatAttached, now: float) -> None:
        s = self.sessions.get(n.session_id)
        if s is None:
            return
        was_away = s.conn is None
        s.conn = n.conn
        s.ready = True
        s.epoch += 1
        s.away_since = None
        if s.box is not None and s.box_conn != n.conn:  # replaced by a newer connection
            old = s.box
            s.box = s.box_conn = None
            old.send({"type": "replaced"})
            self._spawn(
                self._close_box(old, WSCloseCode.POLICY_VIOLATION, "resumed on another connection")
            )
        if n.resumed and was_away and s.agent_id is not None:
            self.service.agents.push(
                s.agent_id, {"type": "chat.customer_back", "contact_id": s.contact_id}
            )

    def on_detached(self, n: ChatDetached, now: float) -> None:
        s = self.sessions.get(n.session_id)
        # conn "" : the customer went before the session was ever attached.
        if s is None or (s.conn != n.conn and not (n.conn == "" and s.conn is None)):
            return  # a newer connection holds it already
        s.conn = None
        s.ready = True
        if s.agent_id is not None:
            self.service.agents.push(
                s.agent_id, {"type": "chat.customer_left", "contact_id": s.contact_id}
            )

    def on_said(self, n: ChatSaid, now: float) -> None:
        s = self.by_contact.get(n.contact_id)
        if s is None or len(s.transcript) >= MAX_MESSAGES:
            return
        entry = {"from": n.who, "text": n.text, "at": n.at}
        s.transcript.append(entry)
        if n.who == "customer":
            if s.agent_id is not None:
                self.service.agents.push(
                    s.agent_id, {"type": "chat.message", "contact_id": s.contact_id, **entry}
                )
        else:
            self._tell(s, {"type": "message", **entry})

    def capture(self) -> list[tuple[Any, ...]]:
        return [
            (
                s.id,
                s.token_digest,
                s.contact_id,
                list(s.transcript),
                s.conn,
                s.agent_id,
                s.ready,
                s.outcome,
                s.redirect,
                None,  # where an older version kept ``away_since``
                s.epoch,
            )
            for s in self.sessions.values()
        ]

    def restore(self, data: list[tuple[Any, ...]]) -> None:
        local = self.sessions
        self.sessions, self.by_contact = {}, {}
        for row in data:
            sid, token_digest, cid, transcript, conn, agent_id, ready, outcome, redirect = row[:9]
            s = ChatSession(sid, token_digest, cid, list(transcript), conn, agent_id, ready)
            s.outcome, s.redirect = outcome, redirect
            s.epoch = row[10] if len(row) > 10 else 0
            # An older version timed the grace itself: a customer away at the upgrade is
            # handed to the engine's timer once this instance runs (``grace_upgrade``).
            s.away_since = row[9] if len(row) > 9 and conn is None and agent_id is None else None
            mine = local.pop(sid, None)
            if mine is not None:  # this instance's socket, if the customer is here
                s.box, s.box_conn = mine.box, mine.box_conn
            self.sessions[sid] = s
            self.by_contact[cid] = s
        for gone in local.values():  # closed while this instance was behind
            if gone.box is not None:
                gone.box.send({"type": "closed", "outcome": "closed"})
                self._spawn(self._close_box(gone.box, WSCloseCode.OK, "the chat has closed"))

    # ------------------------------------------------------------ decisions

    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(
            decision, d.AgentPresenceSet | d.WrapUpStarted | d.WrapUpEnded | d.CoverChanged
        ):
            return
        s = self.by_contact.get(decision.contact_id)
        if s is None:
            return
        match decision:
            case d.Queued():  # e.g. a chat that waited for the opening is queued now
                self._tell(s, self._queued(s.contact_id))
            case d.Offered():
                self._tell(s, {"type": "connecting"})
            case d.Assigned(agent_id=aid):
                self._assigned(s, aid)
            case d.Requeued(agent_id=aid) | d.OfferWithdrawn(agent_id=aid):
                self._offer_back(s, aid, now)
            case d.Redirected(target=target):
                s.redirect = target
                self._tell(s, {"type": "redirect", "target": target})
            case d.Closed(outcome=outcome):
                self._closed(s, outcome)
            case _:
                pass

    def _tell(self, s: ChatSession, message: dict[str, Any]) -> None:
        if s.box is not None and s.ready:
            s.box.send(message)

    def _agent_name(self, agent_id: str) -> str:
        """The name the customer is told: the agent's display name (default: the first
        name), never the full name unless the region file sets it so."""
        try:
            return self.service.engine.agent(agent_id).spec.shown_name
        except UnknownAgent:
            return agent_id

    def _send_transcript(self, s: ChatSession, agent_id: str) -> None:
        self.service.agents.push(
            agent_id,
            {"type": "chat.transcript", "contact_id": s.contact_id, "messages": list(s.transcript)},
        )

    def agent_connected(self, agent_id: str) -> None:
        """A reconnecting agent gets the transcript of every chat it has."""
        for s in self.by_contact.values():
            if s.agent_id == agent_id:
                self._send_transcript(s, agent_id)

    def _assigned(self, s: ChatSession, agent_id: str) -> None:
        s.agent_id = agent_id
        agents = self.service.agents
        self._send_transcript(s, agent_id)
        if s.conn is not None:
            self._tell(s, {"type": "joined", "agent_name": self._agent_name(agent_id)})
        elif s.ready:
            agents.push(agent_id, {"type": "chat.customer_left", "contact_id": s.contact_id})

    def _offer_back(self, s: ChatSession, agent_id: str, now: float) -> None:
        """An offer came back, or the agent who had the chat logged out: waiting again
        (unless another offer was made in the same step, or the chat closed)."""
        if s.agent_id == agent_id:
            s.agent_id = None
        try:
            view = self.service.engine.contact(s.contact_id)
        except UnknownContact:
            return
        if view.state is ContactState.WAITING:
            self._tell(s, self._queued(s.contact_id))

    def _closed(self, s: ChatSession, outcome: str) -> None:
        s.outcome = outcome
        self._forget(s)
        box = s.box
        if box is not None and s.ready:
            s.box = s.box_conn = None
            box.send({"type": "closed", "outcome": outcome})
            self._spawn(self._close_box(box, WSCloseCode.OK, "the chat has closed"))

    def _forget(self, s: ChatSession) -> None:
        self.sessions.pop(s.id, None)
        self.by_contact.pop(s.contact_id, None)

    def _queued(self, contact_id: str) -> dict[str, Any]:
        position, wait = wait_json(self.service, contact_id)
        return {"type": "queued", "position": position, "estimated_wait": wait}

    def _now_message(self, s: ChatSession) -> dict[str, Any] | None:
        """Where the chat stands now, as the customer is told it."""
        try:
            view = self.service.engine.contact(s.contact_id)
        except UnknownContact:
            return None
        if view.state is ContactState.WAITING:
            return self._queued(s.contact_id)
        if view.state is ContactState.SCHEDULED:  # after hours: waits for the opening
            return {"type": "scheduled", "until": view.hold_until}
        if view.state is ContactState.OFFERED:
            return {"type": "connecting"}
        return {"type": "joined", "agent_name": self._agent_name(view.agent_id or "")}

    # ------------------------------------------------------------ tasks and timers

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_box(self, box: Outbox, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await box.close(code, reason)

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
        await runtime.submit(ChatAttached(s.id, conn, resumed=False))
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
            await self.service.runtime.submit(CustomerBack(s.contact_id, s.epoch))
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

    # ------------------------------------------------------------ the agent

    async def agent_says(self, contact_id: str, agent_id: str, text: str) -> None:
        """The agent's message to the customer (``AgentHub`` checked the assignment)."""
        await self._agent_message(contact_id, agent_id, text)

    async def _agent_message(self, contact_id: str, agent_id: str, text: str) -> dict[str, Any]:
        s = self._agents_chat(contact_id, agent_id)
        if len(text) > MAX_TEXT:
            problems = BodyProblems()
            problems.add("text", f"must be at most {MAX_TEXT} characters, got {len(text)}")
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
                tag="chat",
            ),
        ]


def routes(channel: ChatChannel) -> list[Route]:
    return channel.routes()
