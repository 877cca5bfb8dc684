"""The chat sessions every instance keeps: changed only by notes and the engine's
decisions (so in Redis mode every instance has the same), captured in snapshots, and told
to the customer's socket and the agent by the instance that holds them.

The agent who has a chat is told ``chat.customer_left`` once each time its customer goes:
when their socket's close is heard (``ChatDetached``), or, when nobody heard it (their
instance died, their network dropped), when the engine takes them as gone
(``CustomerGone``; the session keeps ``lapsed`` so that a close heard later says
nothing more). A resume after either is ``chat.customer_back``, and so is a sighting
after a lapse (``CustomerSeenAgain``: their instance had only been cut off). An agent's
desk that connects again is told again of a customer still gone (it forgot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import WSCloseCode

from channels.chat import (
    DEFAULT_GRACE_S,
    MAX_MESSAGES,
    MAX_SESSIONS,
    ChatAttached,
    ChatDetached,
    ChatDropped,
    ChatOpened,
    ChatSaid,
    ChatSession,
)
from channels.status import wait_json
from router.core import decisions as d
from router.core.errors import UnknownAgent, UnknownContact
from router.core.model import ContactState
from router.service.outbox import Outbox
from router.service.runtime import handles
from router.service.service import Service

log = logging.getLogger("yhteys.chat")


# Decisions about an agent or an agreement, not a contact (a tuple made once: a union
# written in the test is built again on every decision).
_NOT_A_CONTACT_S = (d.AgentPresenceSet, d.WrapUpStarted, d.WrapUpEnded, d.CoverChanged)


class ChatSessions:
    """The sessions, the notes' handlers and the decisions' effects."""

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
        was_away = s.conn is None or s.lapsed
        s.conn = n.conn
        s.lapsed = False
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
        lapsed, s.lapsed = s.lapsed, False
        s.conn = None
        s.ready = True
        if s.agent_id is not None and not lapsed:  # else told when it lapsed
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
                s.lapsed,
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
            s.lapsed = row[11] if len(row) > 11 else False
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

    @handles(
        d.Queued,
        d.Offered,
        d.Assigned,
        d.Requeued,
        d.OfferWithdrawn,
        d.Redirected,
        d.Closed,
        d.CustomerGone,
        d.CustomerSeenAgain,
    )
    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, _NOT_A_CONTACT_S):
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
            case d.CustomerGone():
                # Its connection, wherever it was, is taken as gone; if it had closed,
                # the agent was told then.
                if s.conn is not None and not s.lapsed:
                    s.lapsed = True
                    if s.agent_id is not None:
                        self.service.agents.push(
                            s.agent_id, {"type": "chat.customer_left", "contact_id": s.contact_id}
                        )
            case d.CustomerSeenAgain():
                if s.lapsed:
                    s.lapsed = False
                    if s.agent_id is not None:
                        self.service.agents.push(
                            s.agent_id, {"type": "chat.customer_back", "contact_id": s.contact_id}
                        )
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
        """A reconnecting agent gets the transcript of every chat it has, and is told
        again of a customer who is gone: a reloaded desk has forgotten it."""
        for s in self.by_contact.values():
            if s.agent_id == agent_id:
                self._send_transcript(s, agent_id)
                if (s.conn is None and s.ready) or s.lapsed:
                    self.service.agents.push(
                        agent_id, {"type": "chat.customer_left", "contact_id": s.contact_id}
                    )

    def _assigned(self, s: ChatSession, agent_id: str) -> None:
        s.agent_id = agent_id
        agents = self.service.agents
        self._send_transcript(s, agent_id)
        if s.conn is not None:
            self._tell(s, {"type": "joined", "agent_name": self._agent_name(agent_id)})
        # Gone before the agent took it: unheard (lapsed while waiting), or heard.
        if (s.conn is None and s.ready) or s.lapsed:
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
