"""Chat's replicated state: a session (``ChatSession``) and the notes that change it
besides the engine's decisions (``ChatOpened`` … ``ChatSaid``).

The notes go through the region's log and snapshots, which name a class by its module:
they stay in this module so the log written by an older version reads the same. The
channel itself is ``channels.chat_channel`` (the customer's protocol in
``channels.chat_customer``, the sessions every instance keeps in
``channels.chat_sessions``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from router.service.outbox import Outbox
from router.service.runtime import Note
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
    # The engine took the customer as gone while connection ``conn`` was still theirs
    # (``CustomerGone``: no close heard) and the agent was told so: a close heard later
    # says nothing more; a sighting (``CustomerSeenAgain``) or a resume says they are back.
    lapsed: bool = False
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
