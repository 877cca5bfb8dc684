"""The engine's mutable records of open contacts and roster agents, and the read-only
views it hands out. Records are slotted: there may be 100,000 contacts waiting."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from router.core.bucket import Bucket
from router.core.model import (
    AgentSpec,
    AgentStatus,
    Channel,
    ContactSpec,
    ContactState,
    Presence,
    ServiceSpec,
    StepKind,
)
from router.core.queue import REGION, ScopeKey
from router.core.values import value

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_NOT_READY = Presence.NOT_READY
_OFFERED = ContactState.OFFERED
_OFFLINE = Presence.OFFLINE
_REGION_STEP = StepKind.REGION
_STATUS_AVAILABLE = AgentStatus.AVAILABLE
_STATUS_BUSY = AgentStatus.BUSY
_STATUS_NOT_READY = AgentStatus.NOT_READY
_STATUS_OFFLINE = AgentStatus.OFFLINE
_STATUS_WRAP_UP = AgentStatus.WRAP_UP
_WAITING = ContactState.WAITING


class ContactRecord:
    __slots__ = (
        "agent_id",
        "arrived_at",
        "attempts",
        "away_epoch",
        "away_grace",
        "away_token",
        "base_rid",
        "channel",
        "clock_from",
        "cooldowns",
        "deadline_token",
        "due_at",
        "due_service",
        "entered",
        "entry",
        "epoch",
        "hold_token",
        "hold_until",
        "id",
        "missed",
        "offer_expires_at",
        "offer_no",
        "original_urgency",
        "overflow_reach",
        "restep",
        "rid",
        "same_day_by",
        "scope",
        "seq",
        "service",
        "spec",
        "state",
        "step_index",
        "step_kind",
        "target_at",
        "urgency",
        "visited",
        "warn_at",
        "warned",
    )

    def __init__(
        self,
        spec: ContactSpec,
        service: ServiceSpec,
        urgency: str,
        seq: int,
        arrived_at: float,
        due_at: float,
        base_rid: int,
        target_at: float | None = None,
    ) -> None:
        self.spec = spec
        self.id = spec.id
        self.channel = spec.channel
        self.service = service
        self.urgency = urgency
        # The class it arrived in, once its class changed (re-classified, moved, overflowed).
        self.original_urgency: str | None = None
        # Its person is away (``CustomerAway``) with this grace period; the token of the
        # pending AWAY timer, 0 when none is armed (it is with an agent, or present).
        self.away_grace: float | None = None
        self.away_token = 0
        self.away_epoch = 0  # the latest connection of its person heard of
        self.seq = seq
        self.arrived_at = arrived_at
        # Its place in the one order, ``(target_at, seq)``: arrival + the class's target.
        # ``due_at`` (never later) is its deadline: the same-day rule may bring it
        # earlier, for warnings and alarms, never for the order.
        self.target_at = due_at if target_at is None else target_at
        self.due_at = due_at
        # What the two come from (``place_and_deadline``), to re-key on a target change.
        self.clock_from = arrived_at if spec.clock_from is None else spec.clock_from
        self.same_day_by = spec.same_day_by
        self.warn_at = due_at
        # The service whose urgency targets set due_at; None once the contact keeps a
        # place it earned elsewhere (overflowed, moved by a supervisor, given due_at).
        self.due_service: str | None = service.name if spec.due_at is None else None
        self.deadline_token = 0
        self.warned = False
        self.missed = False
        self.base_rid = base_rid
        self.state = _WAITING
        self.step_index = 0
        self.step_kind = _REGION_STEP
        self.scope: ScopeKey = REGION
        self.rid = base_rid
        self.entry: Bucket | None = None  # the queue bucket it waits in
        self.epoch = 0
        # Step to re-enter when an offer returns: set when a widening timer or a service
        # change came while the contact was offered or assigned.
        self.restep: int | None = None
        self.agent_id: str | None = None
        self.offer_no = 0
        self.offer_expires_at = 0.0
        self.cooldowns: dict[str, float] | None = None
        # The services it overflowed from (its current one is not repeated here): empty,
        # a shared constant, for nearly every contact, where a tuple of its service made
        # one more allocation per arrival. A snapshot's tuple may also hold the current
        # service, which the check (``step_choice``) reads the same.
        self.visited: tuple[str, ...] = ()
        # Who could take it in the services it overflowed from (``step_choice``): the
        # widest scope and the union of requirements reached there; None until then.
        self.overflow_reach: tuple[ScopeKey, int] | None = None
        self.attempts = 0  # callback attempts made
        self.hold_until: float | None = None  # while scheduled
        self.hold_token = 0
        self.entered = True  # False while a scheduled arrival has not yet entered a step

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        # A snapshot from before re-classification (the away rule, the overflow reach)
        # lacks those slots.
        self.original_urgency = None
        self.overflow_reach = None
        self.away_grace = None
        self.away_token = 0
        self.away_epoch = 0
        slots = state[1]
        for name, item in slots.items():
            setattr(self, name, item)
        if "target_at" not in slots:  # a snapshot from before the deadline had its own
            self.target_at = self.due_at
            self.clock_from = self.arrived_at
            self.same_day_by = None

    def cooled_for(self, agent_id: str, now: float) -> bool:
        """True while ``agent_id`` declined or missed this contact within the cool-down."""
        cds = self.cooldowns
        return cds is not None and cds.get(agent_id, -1.0) > now


class AgentRecord:
    __slots__ = (
        "avail_channels",
        "avail_entry",
        "group",
        "id",
        "in_hand",
        "load",
        "logged_in",
        "presence",
        "reason",
        "scopes",
        "seq",
        "since",
        "spec",
        "version",
        "wrapup_until",
    )

    def __init__(self, spec: AgentSpec, seq: int) -> None:
        self.spec = spec
        self.id = spec.id
        self.seq = seq
        self.logged_in = False
        self.presence = _OFFLINE
        self.reason = ""
        self.group = -1
        self.load: dict[Channel, int] = {}
        self.in_hand: dict[str, Channel] = {}
        self.wrapup_until = 0.0
        self.since = 0.0
        self.avail_channels: tuple[Channel, ...] = ()
        self.avail_entry: tuple[int, float, int, AgentRecord] | None = None
        self.scopes: tuple[ScopeKey, ...] = scopes_of(spec)
        # Raised by one (``a.version += 1``) wherever a field ``agent_view`` shows may
        # change: the presence, reason, spec, ``logged_in``, ``wrapup_until``,
        # ``avail_channels``, ``in_hand`` and ``load``. While it stays the same, so does
        # the agent's view (``Engine.agent_version``): the service keeps the view it read
        # instead of reading and comparing it again after every change elsewhere. The
        # time the view's status also depends on needs no bump: a wrap-up's end is a
        # timer, fired (``end_wrapup``, a bump) before the engine's clock passes it.
        # tests/test_agent_version.py holds every bump to that.
        self.version = 0

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        # A snapshot from before the version lacks it: any start will do, as the
        # version is only compared with one read from the same engine.
        self.version = 0
        for name, item in state[1].items():
            setattr(self, name, item)

    @property
    def load_total(self) -> int:
        return sum(self.load.values())

    def status(self, now: float) -> AgentStatus:
        if not self.logged_in:
            return _STATUS_OFFLINE
        if self.wrapup_until > now:
            return _STATUS_WRAP_UP
        if self.presence is _NOT_READY:
            return _STATUS_NOT_READY
        if self.in_hand and not self.avail_channels:
            return _STATUS_BUSY
        return _STATUS_AVAILABLE


def scopes_of(spec: AgentSpec) -> tuple[ScopeKey, ...]:
    """The queue scopes an agent draws from, narrowest first."""
    return (("agent", spec.id), ("team", spec.team), ("site", spec.site), REGION)


@value
class ContactView:
    id: str
    channel: Channel
    service: str
    urgency: str
    state: ContactState
    arrived_at: float
    due_at: float
    seq: int
    step: StepKind
    scope: ScopeKey
    requirement: str
    agent_id: str | None
    offer_expires_at: float | None
    spec: ContactSpec
    hold_until: float | None = None
    attempts: int = 0
    # The class it arrived in; differs from ``urgency`` once re-classified, or moved or
    # overflowed into another class.
    original_urgency: str = ""
    # Its person is away (``CustomerAway``) and has not come back (``CustomerBack``).
    customer_away: bool = False
    # Its place in the one order with ``seq`` (``due_at`` is the deadline).
    target_at: float = 0.0


@value
class AgentView:
    id: str
    status: AgentStatus
    presence: Presence
    reason: str
    site: str
    team: str
    load: Mapping[Channel, int]
    contacts: tuple[str, ...]
    free_channels: tuple[Channel, ...]
    wrapup_until: float
    spec: AgentSpec


# The views are built by ``object.__new__`` and one store per field rather than by the
# dataclass ``__init__`` with keywords: the service builds several per request (an
# agent's view on every change, a contact's for each answer and frame), and the keyword
# call's binding was most of their cost. ``@value`` classes are plain slotted classes
# when run, so the stores are allowed; a misspelt field fails on its slot, and
# tests/test_views_built_direct.py holds every view equal to the keyword-built one. The
# view is typed ``Any`` while it is filled, as mypy sees the fields as read-only.
_new = object.__new__
# An agent's view with nothing in hand shares one empty load (it is read-only).
_NO_LOAD: Mapping[Channel, int] = MappingProxyType({})


def contact_view(c: ContactRecord, requirement: str) -> ContactView:
    view: Any = _new(ContactView)
    state = view.state = c.state
    urgency = view.urgency = c.urgency
    view.id = c.id
    view.channel = c.channel
    view.service = c.service.name
    view.arrived_at = c.arrived_at
    view.due_at = c.due_at
    view.seq = c.seq
    view.step = c.step_kind
    view.scope = c.scope
    view.requirement = requirement
    view.agent_id = c.agent_id
    view.offer_expires_at = c.offer_expires_at if state is _OFFERED else None
    view.spec = c.spec
    view.hold_until = c.hold_until
    view.attempts = c.attempts
    view.original_urgency = c.original_urgency or urgency
    view.customer_away = c.away_grace is not None
    view.target_at = c.target_at
    built: ContactView = view
    return built


def agent_view(a: AgentRecord, now: float) -> AgentView:
    view: Any = _new(AgentView)
    spec = view.spec = a.spec
    view.id = a.id
    view.status = a.status(now)
    view.presence = a.presence
    view.reason = a.reason
    view.site = spec.site
    view.team = spec.team
    # A copy without the channels at 0 (a channel's count stays in ``a.load`` at 0 once
    # its last contact closed): the view is a snapshot, compared with later ones.
    held: dict[Channel, int] = {}
    for ch, n in a.load.items():
        if n:
            held[ch] = n
    view.load = MappingProxyType(held) if held else _NO_LOAD
    view.contacts = tuple(a.in_hand)
    view.free_channels = a.avail_channels
    view.wrapup_until = a.wrapup_until
    built: AgentView = view
    return built
