"""The routing domain: channels, presence, services with urgency classes and widening
steps, agents and contacts as the core sees them. Pure data, no behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from router.core.values import restore, value
from skills import AgentAbilities, Requirement

# The enums' members as globals on the engine's paths: on CPython 3.11 ``EnumType``
# defines ``__getattr__``, so every read of a member off its class
# (``ContactState.OFFERED``) goes through the slow attribute hook, about 900
# instructions (callgrind), where a module global is about 10. The modules of
# ``router.core`` bind the members they use to module names (``_OFFERED = ...``) once.


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    WEB = "web"
    CALLBACK = "callback"
    WORKITEM = "workitem"


CHANNELS: tuple[Channel, ...] = tuple(Channel)

# While an agent holds a contact of the key channel, no new contact of the listed
# channels is offered: a call blocks new chats, and nobody is asked to do two calls.
DEFAULT_BLOCKS: Mapping[Channel, frozenset[Channel]] = {
    Channel.VOICE: frozenset(CHANNELS),
    Channel.CALLBACK: frozenset(CHANNELS),
}


# Outcome codes an agent may close a contact with; the engine adds cancelled, abandoned
# and redirected for contacts that leave without an agent.
AGENT_OUTCOMES: tuple[str, ...] = ("resolved", "merged", "transferred", "unreachable", "redirected")

# What an agent reports of one attempt to call a callback contact back. Any but
# ``reached`` ends the attempt; ``invalid_number`` ends the contact (``unreachable``).
CALLBACK_RESULTS: tuple[str, ...] = ("reached", "no_answer", "busy", "invalid_number")


class Presence(StrEnum):
    """What the agent has chosen (or the engine has set)."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    NOT_READY = "not_ready"


class AgentStatus(StrEnum):
    """What a supervisor sees: presence combined with the work in hand."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    NOT_READY = "not_ready"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class AgentChoice(StrEnum):
    """How a service picks among several eligible available agents."""

    LONGEST_IDLE = "longest_idle"
    HIGHEST_PROFICIENCY = "highest_proficiency"
    LEAST_OCCUPIED = "least_occupied"


class StepKind(StrEnum):
    OWN_AGENT = "own_agent"
    OWN_TEAM = "own_team"
    OWN_SITE = "own_site"
    REGION = "region"
    RELAXED = "relaxed"
    OVERFLOW = "overflow"


class ContactState(StrEnum):
    SCHEDULED = "scheduled"  # not offered before its time: a callback window, a retry
    WAITING = "waiting"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class UrgencyClass:
    """A target answer time; ``redirect`` (e.g. "112") means never queue, send there."""

    name: str
    target_s: float
    redirect: str | None = None
    warn_before_s: float | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One ring of the widening reach. ``duration_s`` None means "wait here for good";
    ``relax_levels`` lowers skill levels (RELAXED); ``overflow_to`` names a service
    (OVERFLOW)."""

    kind: StepKind
    duration_s: float | None = None
    relax_levels: int = 0
    overflow_to: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    requirement: Requirement
    urgencies: Mapping[str, UrgencyClass]
    default_urgency: str
    steps: tuple[Step, ...] = (Step(StepKind.REGION),)
    agent_choice: AgentChoice = AgentChoice.LONGEST_IDLE
    wrapup_s: float = 0.0
    offer_timeout_s: float = 30.0
    decline_cooldown_s: float = 120.0
    not_ready_on_decline: bool = False
    not_ready_on_timeout: bool = True
    # Warn this share of the target before the deadline unless the class says otherwise.
    warn_fraction: float = 0.2
    # Callbacks: how many attempts before the contact closes as unreachable, how long
    # between them.
    callback_attempts: int = 3
    callback_retry_s: float = 900.0
    # Length of the windows a caller may pick for a scheduled callback.
    callback_window_s: float = 3600.0
    # A timed-out offer's cool-down. The region file's default is 0: a timeout says
    # nothing about the contact (the agent was not there), so back at the desk the agent
    # gets the earliest-due contact. None: as ``decline_cooldown_s``, which is how every
    # timeout cooled down before the setting, so engines in older snapshots (built
    # without it) decide as they did. Last, as snapshots rebuild specs by position.
    timeout_cooldown_s: float | None = None


def place_and_deadline(
    clock_from: float, same_day_by: float | None, target_s: float
) -> tuple[float, float]:
    """A contact's place in the one order (``target_at``) and its deadline (``due_at``):
    its urgency class's target ``target_s`` counted from ``clock_from`` (its arrival, or
    the next opening), and the same, capped at ``same_day_by`` (the end of the office day
    the same-day rule gives; None: no cap). The cap never moves its place: a more urgent
    class is never ordered after a less urgent contact whose own target is not earlier.
    The one rule for arrivals, live target changes and re-classification."""
    target_at = clock_from + target_s
    if same_day_by is None or same_day_by >= target_at:
        return target_at, target_at
    return target_at, same_day_by


@dataclass(frozen=True, slots=True)
class AgentSpec:
    id: str
    name: str
    site: str
    team: str
    abilities: AgentAbilities = field(default_factory=AgentAbilities)
    capacity: Mapping[Channel, int] = field(default_factory=lambda: {Channel.VOICE: 1})
    # What customers are told (the chat's "joined"): "" means the first name.
    display_name: str = ""
    # A partner region's agent: the agreement (``router.core.partners``) that says which
    # services it may receive and when. "": one of the region's own agents.
    partner: str = ""

    def __setstate__(self, state: list[object]) -> None:
        """Unpickles a spec, also one written before a field was added."""
        restore(self, state)

    @property
    def shown_name(self) -> str:
        """The name a customer sees: ``display_name``, else the first word of ``name``
        (the first name), else the id. Never the full name unless configured so."""
        if self.display_name:
            return self.display_name
        words = self.name.split()
        return words[0] if words else self.id


@value
class ContactSpec:
    """A contact as a channel hands it to the engine.

    ``requirement`` None takes the service's default. ``language`` and ``authorisation``
    are always added to the requirement. ``arrived_at``/``due_at`` are given only when a
    contact keeps an earlier place or a chosen callback window (then ``due_at`` is both its
    place and its deadline). Otherwise its place and deadline come from its class's target
    by ``place_and_deadline``: counted from ``clock_from`` (the next opening, from opening
    hours; None: the arrival), the deadline capped at ``same_day_by`` (the same-day rule's
    end of the office day; None: no cap).
    """

    id: str
    channel: Channel
    service: str
    urgency: str | None = None
    requirement: Requirement | None = None
    language: str | None = None
    authorisation: str | None = None
    preferred_agent: str | None = None
    preferred_team: str | None = None
    preferred_site: str | None = None
    external_ref: str | None = None
    link: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    arrived_at: float | None = None
    due_at: float | None = None
    # Not offered before this time (a scheduled callback's window, the next opening):
    # until then the contact is ``scheduled``, outside the queue.
    not_before: float | None = None
    # Sent elsewhere at once, never queued (after hours: e.g. 116117), like an urgency
    # class with a redirect.
    redirect_to: str | None = None
    clock_from: float | None = None
    same_day_by: float | None = None

    def __setstate__(self, state: list[object]) -> None:
        """Unpickles a spec, also one written before a field was added (snapshots and
        log entries of an earlier version): a missing field takes its default."""
        restore(self, state)
