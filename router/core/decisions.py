"""Decisions: what the engine tells the service to carry out, each with a trace of why.

Decisions are values: compared by value, and never mutated by anyone who receives them.
They are plain slotted dataclasses rather than frozen ones because a frozen dataclass
costs four times as much to build, and the dispatch loop builds several per event.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.core.model import Channel, Presence, StepKind


@dataclass(slots=True)
class Trace:
    """Why a decision was made: the contact's step, the rule used, how many candidates
    (agents or queue heads) were weighed, and who asked for it when a supervisor did."""

    step: StepKind | None
    rule: str
    candidates: int = 0
    by: str | None = None

    def __str__(self) -> str:
        step = self.step.value if self.step else "-"
        return f"step={step} rule={self.rule} candidates={self.candidates}"


@dataclass(slots=True)
class Queued:
    contact_id: str
    service: str
    step: StepKind
    due_at: float
    trace: Trace


@dataclass(slots=True)
class Offered:
    """Capacity is reserved for the contact until the agent answers or ``expires_at``."""

    contact_id: str
    agent_id: str
    channel: Channel
    expires_at: float
    trace: Trace


@dataclass(slots=True)
class Assigned:
    """The agent accepted. Carries what listeners record about the answer (the wait, and
    whether it met the due time, and its channel: a callback is answered only when an
    attempt reaches the person) so none has to look the contact up again."""

    contact_id: str
    agent_id: str
    service: str = ""
    site: str | None = None
    arrived_at: float = 0.0
    due_at: float = 0.0
    channel: Channel | None = None


@dataclass(slots=True)
class Requeued:
    """The contact is back in the queue with its original due time and arrival order.
    ``reason``: declined, timeout, agent_logged_out. Until ``cooldown_until`` the same
    agent is not offered this contact again."""

    contact_id: str
    agent_id: str
    reason: str
    cooldown_until: float | None = None


@dataclass(slots=True)
class OfferWithdrawn:
    """A pending offer was taken back (the caller left, the agent logged out)."""

    contact_id: str
    agent_id: str
    reason: str


@dataclass(slots=True)
class Widened:
    contact_id: str
    step: StepKind
    skipped: tuple[StepKind, ...]
    trace: Trace


@dataclass(slots=True)
class Overflowed:
    contact_id: str
    from_service: str
    to_service: str
    # The class it takes there (``router.core.urgency_map``); None: its own, unchanged.
    urgency: str | None = None


@dataclass(slots=True)
class Moved:
    """A supervisor moved the contact to another service; it keeps its place."""

    contact_id: str
    from_service: str
    to_service: str
    by: str | None = None  # the supervisor, when the move named one
    # The class it takes there (``router.core.urgency_map``); None: its own, unchanged.
    urgency: str | None = None


@dataclass(slots=True)
class Switched:
    """The contact goes on in another channel, in the same place."""

    contact_id: str
    old: Channel
    new: Channel


@dataclass(slots=True)
class Scheduled:
    """Not offered before ``until`` (a callback window, or the next attempt)."""

    contact_id: str
    until: float


@dataclass(slots=True)
class CallbackAttempt:
    """One attempt to call back: its number, the result and, after a failure with
    attempts left, when the next one may start (None: no further attempt)."""

    contact_id: str
    agent_id: str
    attempt: int
    result: str
    retry_at: float | None


@dataclass(slots=True)
class Reclassified:
    """The handling agent changed the contact's urgency class: ``original`` is the class
    it arrived in, ``old`` the one it had until now, ``new`` the one it has now."""

    contact_id: str
    agent_id: str
    service: str
    original: str
    old: str
    new: str
    due_at: float


@dataclass(slots=True)
class EscalationWarning:
    contact_id: str
    service: str
    due_at: float


@dataclass(slots=True)
class DeadlineMissed:
    contact_id: str
    service: str
    due_at: float


@dataclass(slots=True)
class Redirected:
    """Never queued: the contact is sent elsewhere (112 for the most urgent class)."""

    contact_id: str
    target: str
    urgency: str
    service: str = ""
    channel: Channel | None = None


@dataclass(slots=True)
class Closed:
    """The contact has left the engine with an outcome (resolved, cancelled, abandoned…).
    ``agent_id``: the agent it was offered or assigned to; ``in_hand``: whether that agent
    had taken it (a caller who hangs up while the phone rings leaves an agent who never
    did, and who closed nothing)."""

    contact_id: str
    outcome: str
    agent_id: str | None = None
    service: str = ""
    channel: Channel | None = None
    in_hand: bool = False


@dataclass(slots=True)
class CustomerGone:
    """The engine took a chat's person as gone: nobody reported their socket for a
    sighting's time (``customer_liveness``), so the instance that held it died or lost
    them without saying so. Made once per lapse, and not when the person was away
    already (their socket's close said so). ``agent_id``: the agent who has the chat in
    hand, who has nobody else to hear it from (the away grace starts only if it leaves
    the agent's hands)."""

    contact_id: str
    agent_id: str | None = None


@dataclass(slots=True)
class CustomerSeenAgain:
    """A sighting showed a chat's person present after the engine had taken them as
    gone (``CustomerGone``): the instance holding their socket had only been cut off.
    ``agent_id``: the agent who has the chat in hand, told they had left."""

    contact_id: str
    agent_id: str | None = None


@dataclass(slots=True)
class AgentPresenceSet:
    """The engine changed an agent's presence on its own: not ready after a missed
    offer, or (``no_heartbeat``) when the agent was not seen for its sighting's time."""

    agent_id: str
    presence: Presence
    reason: str


@dataclass(slots=True)
class WrapUpStarted:
    agent_id: str
    until: float


@dataclass(slots=True)
class WrapUpEnded:
    agent_id: str


@dataclass(slots=True)
class CoverChanged:
    """A partner agreement's cover turned on or off (``router.core.partners``): its
    agents may now receive, or no longer get new offers of, the services it names."""

    agreement: str
    on: bool


Decision = (
    Queued
    | Offered
    | Assigned
    | Requeued
    | OfferWithdrawn
    | Widened
    | Overflowed
    | Moved
    | Switched
    | Scheduled
    | CallbackAttempt
    | Reclassified
    | EscalationWarning
    | DeadlineMissed
    | Redirected
    | Closed
    | CustomerGone
    | CustomerSeenAgain
    | AgentPresenceSet
    | WrapUpStarted
    | WrapUpEnded
    | CoverChanged
)
