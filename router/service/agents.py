"""Agents: one login, one websocket carrying offers from every channel, and a REST
equivalent for every action.

Websocket protocol (JSON text frames). The agent sends ``{"type": ..., "id": optional}``:
``login {presence?}``, ``presence {presence, reason?}``, ``accept {contact_id}``,
``decline {contact_id}``, ``complete {contact_id, outcome}``, ``wrapup_done``,
``logout {force?}``, ``heartbeat``, ``reclassify {contact_id, urgency}``,
``chat.message {contact_id, text}``. Each is answered
with ``ack`` or ``error`` carrying the same ``id``. The service pushes ``state`` (on
connect: the agent and its contacts, so a reconnect resumes), ``agent`` (status changes),
``offer``, ``offer_withdrawn``, ``assigned``, ``closed``, ``wrapup``, ``wrapup_end``,
``chat.message``.

Liveness: an agent is alive while one of its websockets is open on any instance (aiohttp
pings it) or it sent a REST heartbeat or action within ``heartbeat_timeout_s``. An agent
who is neither is set not ready (``no_heartbeat``) so no new offers go to a closed
browser; work already in hand is never dropped and the agent is never logged out by the
service. Each instance only reports what it sees (``AgentsSeen``); judging silence is
the engine's timer on the region's clock, so every instance, memory mode and virtual
time agree. A REST heartbeat or action counts for the timeout. A websocket counts while
it is open: alone (memory mode) the instance says so once, open-ended, and reports the
timeout when it closes; in Redis mode it re-reports its sockets every third of the
timeout, so the agents of an instance that dies lapse with it.

Every change to an agent reaches its websockets on whichever instance holds them: the
hub listens to applied events (presence, login, logout, a supervisor's edit) as well as
to decisions, and every instance applies the same log.

The routes (REST and the websocket's) are ``router.service.agent_routes``.

Size: the hub's fan-out, the reading of an action (the quick one for accept, decline and
complete beside the general one that words every problem) and a websocket's session are
one protocol; the routes live apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from router.config.reader import Fields
from router.core import decisions as d
from router.core.engine import Engine
from router.core.errors import Conflict, InvalidEvent, RoutingError, UnknownContact
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentsSeen,
    AgentUpdated,
    CallbackAttempted,
    ContactCompleted,
    ContactMerged,
    ContactReclassified,
    Event,
    OfferAccepted,
    OfferDeclined,
    PresenceChanged,
    WrapUpDone,
)
from router.core.model import (
    AGENT_OUTCOMES,
    CALLBACK_RESULTS,
    AgentStatus,
    ContactState,
    Presence,
)
from router.service.http import ApiError, BodyProblems, from_routing, parse_frame
from router.service.inbox import Inbox
from router.service.outbox import Outbox, compact
from router.service.reader_bridge import fields_of
from router.service.runtime import Stopped, handles
from router.service.views import agent_shown_json, contact_json, shown_json
from router.store import StoreUnavailable

# A not-ready reason is shown to supervisors and in every agent list: a short free text.
MAX_REASON = 200

if TYPE_CHECKING:
    from router.service.service import Service

log = logging.getLogger("yhteys.agents")

ChatSender = Callable[[str, str, str], Awaitable[None]]


def presence_reason(f: Fields, problems: BodyProblems) -> str:
    """A presence change's not-ready reason, the agent's or a supervisor's: a short free
    text (``MAX_REASON``), "" when not given."""
    reason = f.text("reason", "")
    problems.at_most(f.at("reason"), reason, MAX_REASON)
    return reason


# Each action's required keys, and the keys it may have besides ("type" and "id" are
# every frame's): made once, not on every action.
ACTION_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    action: (required, (*optional, "type", "id"))
    for action, (required, optional) in {
        "login": ((), ("presence",)),
        "logout": ((), ("force",)),
        "presence": (("presence",), ("reason",)),
        "accept": (("contact_id",), ()),
        "decline": (("contact_id",), ()),
        "complete": (("contact_id",), ("outcome",)),
        "wrapup_done": ((), ()),
        "attempt": (("contact_id", "result"), ()),
        "merge": (("contact_id", "into"), ()),
        "reclassify": (("contact_id", "urgency"), ()),
        "heartbeat": ((), ()),
    }.items()
}

# The keys an accept, decline and complete may have: ``plain_action`` reads these.
_PLAIN_KEYS: dict[str, frozenset[str]] = {
    action: frozenset((*ACTION_KEYS[action][0], *ACTION_KEYS[action][1]))
    for action in ("accept", "decline", "complete")
}


def plain_action(agent_id: str, action: str, body: dict[str, object]) -> Event | None:
    """The event of a well-formed ``accept``, ``decline`` or ``complete`` (two of them
    for every contact an agent takes), read in a few look-ups; None for any other
    action, or for one the general reader (``AgentHub._event``) would find a problem
    with: that one reads it again and words every problem. The same event either way."""
    allowed = _PLAIN_KEYS.get(action)
    if allowed is None or not body.keys() <= allowed:
        return None
    contact_id = body.get("contact_id")
    if type(contact_id) is not str or not contact_id.strip():
        return None
    if action == "accept":
        return OfferAccepted(contact_id, agent_id)
    if action == "decline":
        return OfferDeclined(contact_id, agent_id)
    outcome = body.get("outcome")  # null: not given, as the reader takes it
    if outcome is None:
        return ContactCompleted(contact_id, agent_id, "resolved")
    if type(outcome) is str and outcome in AGENT_OUTCOMES:
        return ContactCompleted(contact_id, agent_id, outcome)
    return None


class _Body:
    """An agent's view as the hub last showed it: the engine, its change count and the
    agent's version (``Engine.agent_version``) it was read at, the view's ``agent_json``
    and that as compact JSON text (made when first needed; a frame holding the body is
    that text spliced in: the same bytes)."""

    __slots__ = ("_text", "body", "changes", "engine", "version")

    def __init__(self, changes: int, engine: Engine, version: int, body: dict[str, Any]):
        self.changes = changes
        self.engine = engine
        self.version = version
        self.body = body
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = compact(self.body)
        return self._text


_AGENT_ONLY = frozenset(("agent",))  # an action's answer that is the agent alone


class AgentHub:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.sessions: dict[str, set[Outbox]] = {}
        self.chat_sender: ChatSender | None = None
        # Checks that an agent may merge a contact (raises ApiError); set by the linked
        # contacts module.
        self.merge_check: Callable[[str, str, str], None] | None = None
        # Called with the agent id when one of its websockets connects, after ``state``:
        # channels resend what a reconnecting agent needs (chat transcripts).
        self.on_connect: list[Callable[[str], None]] = []
        # Each agent's last view, its ``agent_json`` and that as JSON text (``agent_body``).
        self._bodies: dict[str, _Body] = {}

    def agent_body(self, agent_id: str) -> dict[str, Any]:
        """``agent_json`` of the agent as it is now, made again only when its view
        changed: the frames and answers of one view (the ``agent`` frame after an offer
        and the accept's ack, the frame after a close and the complete's ack) share it.
        Read only: it may be in several frames."""
        return self._body(agent_id).body

    def _body(self, agent_id: str) -> _Body:
        runtime = self.service.runtime
        engine, changes = runtime.engine, runtime.changes
        kept = self._bodies.get(agent_id)
        if kept is not None and kept.engine is engine:
            if kept.changes == changes:  # no apply since: the engine is as it was
                return kept
            # Applies since: the view is the same while the agent's version is (an
            # accept, other agents' changes), kept without reading it again. A new
            # version is a change to the agent (an offer, a close): read afresh, not
            # compared with the kept view first (equal ones are rare, and make the
            # same body, byte for byte).
            version = engine.agent_version(agent_id)
            if version == kept.version:
                kept.changes = changes
                return kept
        else:
            version = engine.agent_version(agent_id)
        body = agent_shown_json(engine.agent_shown(agent_id))
        kept = self._bodies[agent_id] = _Body(changes, engine, version, body)
        return kept

    def refresh_all(self) -> None:
        """Every connected agent gets its state afresh (after a snapshot was loaded)."""
        self._bodies.clear()  # read from the engine replaced: none may keep it alive
        for agent_id in list(self.sessions):
            self.push(agent_id, self.state_message(agent_id))
            for hook in self.on_connect:
                hook(agent_id)

    # ------------------------------------------------------------ fan-out

    def push(self, agent_id: str, message: dict[str, Any]) -> None:
        for box in self.sessions.get(agent_id, ()):
            box.send(message)

    def _push_text(self, agent_id: str, text: str) -> None:
        for box in self.sessions.get(agent_id, ()):
            box.send_text(text)

    @handles(
        d.Offered,
        d.Assigned,
        d.Requeued,
        d.OfferWithdrawn,
        d.Closed,
        d.AgentPresenceSet,
        d.WrapUpStarted,
        d.WrapUpEnded,
    )
    def on_decision(self, decision: d.Decision, now: float) -> None:
        engine = self.service.runtime.engine  # ``service.engine``, without its property
        match decision:
            case d.Offered(contact_id=cid, agent_id=aid, expires_at=exp, trace=trace):
                if aid in self.sessions:
                    self.push(
                        aid,
                        {
                            "type": "offer",
                            "contact": shown_json(engine.contact_shown(cid)),
                            "expires_at": exp,
                            "trace": str(trace),
                        },
                    )
                    self._agent_changed(aid)
            case d.Assigned(contact_id=cid, agent_id=aid):
                if aid in self.sessions:
                    self.push(
                        aid, {"type": "assigned", "contact": shown_json(engine.contact_shown(cid))}
                    )
            case d.Requeued(contact_id=cid, agent_id=aid, reason=reason):
                self.push(aid, {"type": "offer_withdrawn", "contact_id": cid, "reason": reason})
                self._agent_changed(aid)
            case d.OfferWithdrawn(contact_id=cid, agent_id=aid, reason=reason):
                self.push(aid, {"type": "offer_withdrawn", "contact_id": cid, "reason": reason})
                self._agent_changed(aid)
            case d.Closed(contact_id=cid, outcome=outcome, agent_id=aid) if aid is not None:
                self.push(aid, {"type": "closed", "contact_id": cid, "outcome": outcome})
                self._agent_changed(aid)
            case d.AgentPresenceSet(agent_id=aid):
                self._agent_changed(aid)
            case d.WrapUpStarted(agent_id=aid, until=until):
                self.push(aid, {"type": "wrapup", "until": until})
            case d.WrapUpEnded(agent_id=aid):
                self.push(aid, {"type": "wrapup_end"})
                self._agent_changed(aid)
            case _:
                pass

    @handles(PresenceChanged, AgentLoggedIn, AgentLoggedOut, AgentUpdated)
    def on_applied(self, event: Event, now: float) -> None:
        """Changes to an agent that make no decision of their own (its presence, a login
        elsewhere, a forced logout, a supervisor's edit) reach its websockets here."""
        match event:
            case PresenceChanged(agent_id=aid) | AgentLoggedIn(agent_id=aid):
                self._agent_changed(aid)
            case AgentLoggedOut(agent_id=aid):
                self._agent_changed(aid)
            case AgentUpdated(agent=spec):
                self._agent_changed(spec.id)
            case _:
                pass

    def _agent_changed(self, agent_id: str) -> None:
        if agent_id in self.sessions:
            # {"type": "agent", "agent": agent_body}, the body's text made once
            self._push_text(agent_id, f'{{"type":"agent","agent":{self._body(agent_id).text}}}')

    def state_message(self, agent_id: str) -> dict[str, Any]:
        engine = self.service.engine
        view = engine.agent(agent_id)
        return {
            "type": "state",
            "agent": self.agent_body(agent_id),
            "contacts": [contact_json(engine.contact(cid)) for cid in view.contacts],
        }

    # ------------------------------------------------------------ liveness

    def sighting(self, agent_ids: tuple[str, ...], held: bool = False) -> AgentsSeen:
        """A REST agent's sighting, or (``held``) that of websockets open here."""
        timeout = self.service.settings.heartbeat_timeout_s
        # Alone, an instance outlives none of its sockets: an open one counts until it
        # closes. With others, this one may die unnoticed, so its reports must lapse.
        alone = self.service.store is None
        return AgentsSeen(agent_ids, math.inf if held and alone else timeout)

    def connected(self) -> tuple[str, ...]:
        """The agents holding an open websocket on this instance."""
        return tuple(sorted(aid for aid, boxes in self.sessions.items() if boxes))

    async def report_sightings(self) -> None:
        """Runs for the life of the service, telling the region every third of the
        timeout which agents hold a websocket here. It judges nobody: that is the
        engine's timer, the same on every instance."""
        if self.service.store is None:
            return  # alone: open sockets were reported open-ended
        every_s = self.service.settings.heartbeat_timeout_s / 3
        while True:
            await asyncio.sleep(every_s)
            await self.report_connected()

    async def report_connected(self) -> None:
        """One report of the agents holding a websocket here (logged in or not: the
        engine passes over those who are not)."""
        ids = self.connected()
        if ids:
            await self._report(self.sighting(ids, held=True))

    async def _report(self, sighting: AgentsSeen) -> None:
        # Nobody is judged while the report cannot be written: with the store away no
        # instance can write the timer's decision either.
        with contextlib.suppress(RoutingError, StoreUnavailable, Stopped):
            await self.service.runtime.submit(sighting)

    # ------------------------------------------------------------ actions

    async def act(self, agent_id: str, action: str, body: dict[str, object]) -> dict[str, Any]:
        """Carries out one agent action (shared by REST and websocket)."""
        event = plain_action(agent_id, action, body)
        if event is None:
            problems = BodyProblems()
            event = self._event(agent_id, action, body, problems)
            problems.raise_if_any()
            if event is None:
                return {}
        try:
            await self.service.runtime.submit(event)
        except Conflict:
            contact_id = getattr(event, "contact_id", None)
            if contact_id is not None and not self._holds(agent_id, contact_id):
                # The engine's reason names the contact's state and its agent, which are
                # no business of another agent's.
                raise ApiError(
                    409,
                    "conflict",
                    f"contact {contact_id!r} is not offered or assigned to you (any more)",
                ) from None
            raise
        except InvalidEvent as exc:
            if isinstance(event, ContactReclassified):
                # Its one value is the class (the engine refuses one that redirects):
                # the problem names the field, as a body check's would.
                raise ApiError(400, "invalid_input", str(exc), [("urgency", str(exc))]) from None
            raise
        if isinstance(event, AgentsSeen):
            return {}
        held = bool(self.sessions.get(agent_id))
        if action == "login" or not held:
            # A REST agent's action shows it is there; a websocket is reported from its
            # login on (and by the instance's reports).
            await self.service.runtime.submit(self.sighting((agent_id,), held))
        answer: dict[str, Any] = {"agent": self._body(agent_id).body}  # ``agent_body``
        if isinstance(event, ContactReclassified):
            answer["contact"] = contact_json(self.service.engine.contact(event.contact_id))
        return answer

    def _holds(self, agent_id: str, contact_id: str) -> bool:
        """Whether the contact is offered or assigned to the agent now."""
        try:
            return self.service.engine.contact(contact_id).agent_id == agent_id
        except UnknownContact:
            return False

    def _reclassify(
        self, agent_id: str, contact_id: str, urgency: str, problems: BodyProblems
    ) -> ContactReclassified:
        """The event for the handler's change of class; the engine gives the new class its
        place and deadline by the door's rule from the contact's original arrival
        (``router.core.model.place_and_deadline``), and refuses it unless the contact is
        assigned to ``agent_id``."""
        engine = self.service.engine
        try:
            view = engine.contact(contact_id)
        except UnknownContact:
            return ContactReclassified(contact_id, agent_id, urgency)  # refused: 404
        classes = engine.service(view.service).urgencies
        target = classes.get(urgency)
        if target is None:
            problems.add(
                "urgency",
                f"unknown urgency {urgency!r} for {view.service}; "
                f"expected one of: {', '.join(classes)}",
            )
            return ContactReclassified(contact_id, agent_id, urgency)
        return ContactReclassified(contact_id, agent_id, urgency)

    def _event(
        self, agent_id: str, action: str, body: dict[str, object], problems: BodyProblems
    ) -> Event | None:
        keys = ACTION_KEYS.get(action)
        if keys is None:
            raise ApiError(
                400,
                "invalid_input",
                f"unknown action {action!r}; expected one of: {', '.join(ACTION_KEYS)}",
            )
        f = fields_of(problems, body, *keys)
        if action == "heartbeat":
            problems.raise_if_any()
            return self.sighting((agent_id,), bool(self.sessions.get(agent_id)))
        if action == "login":
            presence = f.enum("presence", Presence, "presence", Presence.AVAILABLE)
            if presence is Presence.OFFLINE:
                problems.add("presence", "log in as available or not_ready")
            return AgentLoggedIn(agent_id, presence)
        if action == "logout":
            return AgentLoggedOut(agent_id, f.flag("force", False))
        if action == "presence":
            presence = f.enum("presence", Presence, "presence", Presence.AVAILABLE)
            if presence is Presence.OFFLINE:
                problems.add("presence", "to go offline, log out")
            return PresenceChanged(agent_id, presence, presence_reason(f, problems))
        if action == "wrapup_done":
            return WrapUpDone(agent_id)
        contact_id = f.text("contact_id") or ""
        if action == "attempt":
            result = f.text("result") or ""
            if result not in CALLBACK_RESULTS:
                problems.add(
                    "result",
                    f"unknown result {result!r}; expected one of: {', '.join(CALLBACK_RESULTS)}",
                )
            return CallbackAttempted(contact_id, agent_id, result)
        if action == "reclassify":
            urgency = f.text("urgency") or ""
            problems.raise_if_any()
            return self._reclassify(agent_id, contact_id, urgency, problems)
        if action == "merge":
            into = f.text("into") or ""
            problems.raise_if_any()
            if self.merge_check is not None:
                self.merge_check(agent_id, contact_id, into)
            return ContactMerged(contact_id, into)
        if action == "accept":
            return OfferAccepted(contact_id, agent_id)
        if action == "decline":
            return OfferDeclined(contact_id, agent_id)
        outcome = f.text("outcome", "resolved")
        if outcome not in AGENT_OUTCOMES:
            problems.add(
                "outcome",
                f"unknown outcome {outcome!r}; expected one of: {', '.join(AGENT_OUTCOMES)}",
            )
        return ContactCompleted(contact_id, agent_id, outcome)

    # ------------------------------------------------------------ websocket

    async def websocket(self, request: web.Request, agent_id: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            heartbeat=self.service.settings.ws_ping_s, max_msg_size=64 * 1024
        )
        await ws.prepare(request)
        box = Outbox(ws, f"agent {agent_id}")
        self.sessions.setdefault(agent_id, set()).add(box)
        self.service.websockets.add(box)
        box.send(self.state_message(agent_id))
        for hook in self.on_connect:
            hook(agent_id)
        if self.service.engine.agent(agent_id).status is not AgentStatus.OFFLINE:
            await self._report(self.sighting((agent_id,), held=True))  # a reconnect
        # Each frame is handled in turn by the inbox's task while this loop reads on:
        # an action waiting for the store must not leave the client's pings unanswered.
        inbox = Inbox(
            functools.partial(self._ws_message, agent_id, box),  # no frame of its own
            lambda text: box.send(_busy(text)),
            f"agent {agent_id}",
        )
        try:
            await inbox.serve(ws)
        finally:

            async def closed() -> None:
                # A client going away is no error of the service's: said at INFO.
                log.info("agent %s disconnected (close code %s)", agent_id, ws.close_code)
                self.sessions.get(agent_id, set()).discard(box)
                self.service.websockets.discard(box)
                try:
                    if not self.sessions.get(agent_id):
                        self.sessions.pop(agent_id, None)
                        # The last socket here closed: from now on the timeout runs.
                        await self._report(self.sighting((agent_id,)))
                finally:
                    await box.finished()

            await inbox.close(closed)
        return ws

    async def _ws_message(self, agent_id: str, box: Outbox, text: str) -> None:
        ref: object = None
        try:
            body = parse_frame(text)
            ref = body.get("id")
            kind = body["type"]
            if kind == "chat.message":
                await self._chat(agent_id, body)
                result: dict[str, Any] = {}
            else:
                result = await self.act(agent_id, kind, body)
            kept = self._bodies.get(agent_id)
            if kept is not None and result.keys() == _AGENT_ONLY and result["agent"] is kept.body:
                # {"type": "ack", "id": ref, "agent": body}, the body's text made once
                await box.write(f'{{"type":"ack","id":{compact(ref)},"agent":{kept.text}}}')
            else:
                await box.write(compact({"type": "ack", "id": ref, **result}))
        except ApiError as exc:
            box.send({"type": "error", "id": ref, **exc.body()["error"]})  # type: ignore[dict-item]
        except RoutingError as exc:
            box.send({"type": "error", "id": ref, **from_routing(exc).body()["error"]})  # type: ignore[dict-item]
        except StoreUnavailable as exc:  # Redis away: an error frame, the socket stays
            err = ApiError(503, "store_unavailable", str(exc))
            box.send({"type": "error", "id": ref, **err.body()["error"]})  # type: ignore[dict-item]
        except Stopped:
            err = ApiError(503, "unavailable", "the service is shutting down")
            box.send({"type": "error", "id": ref, **err.body()["error"]})  # type: ignore[dict-item]

    async def _chat(self, agent_id: str, body: dict[str, Any]) -> None:
        problems = BodyProblems()
        f = fields_of(problems, body, ("contact_id", "text"), ("type", "id"))
        contact_id, text = f.text("contact_id"), f.text("text")
        problems.raise_if_any()
        if self.chat_sender is None:
            raise ApiError(400, "invalid_input", "chat is not enabled")
        view = self.service.engine.contact(contact_id or "")
        if view.agent_id != agent_id or view.state is not ContactState.ASSIGNED:
            raise ApiError(409, "conflict", f"contact {contact_id!r} is not assigned to you")
        await self.chat_sender(contact_id or "", agent_id, text or "")


def _busy(text: str) -> dict[str, Any]:
    """The answer to a frame the socket's inbox had no room for: not handled."""
    ref: object = None
    with contextlib.suppress(Exception):
        ref = parse_frame(text).get("id")
    err = ApiError(503, "busy", "too many frames waiting for an answer; this one was not handled")
    return {"type": "error", "id": ref, **err.body()["error"]}  # type: ignore[dict-item]
