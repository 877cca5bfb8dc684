"""What the audit records, from the dispatch loop, never from handlers: each engine event
the engine accepted (``runtime.applied_listeners``: arrivals, cancellations, merges) and
each decision (``runtime.listeners``: queued, offered, accepted, requeued, withdrawn,
widened, overflowed, moved, callback registration, scheduled, callback attempts,
warnings, missed deadlines, redirects, closed with the outcome). So in Redis mode every
instance records the same trail from the same log.

The ``Refusal`` and ``Removal`` notes, and what is kept of personal data (numbers and a
supervisor's reason masked, no free text), are described in ``router.service.audit``;
where the records are kept is ``router.service.audit.store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from router.core import decisions as d
from router.core.errors import UnknownAgent, UnknownContact
from router.core.events import (
    AgentUpdated,
    ContactAbandoned,
    ContactArrived,
    ContactCancelled,
    ContactMerged,
    Event,
)
from router.core.model import Channel
from router.service.audit.days import Days, region_zone
from router.service.audit.record import REFUSED_PREFIX, AuditRecord, mask_number
from router.service.audit.settings import AuditSettings
from router.service.audit.store import AuditStore
from router.service.logs import mask
from router.service.metrics import Metrics
from router.service.runtime import handles

if TYPE_CHECKING:
    # The notes are defined in the package itself, where the log names them.
    from router.service.audit import Refusal, Removal
    from router.service.service import Service

# Enum members are read by ``_value_``, not ``.value``: the same string without enum's
# descriptor, on every arrival and decision the audit records (see ``views.py``).

# A contact whose offers keep timing out could otherwise grow without end: past this
# many changes only the ones that matter for its outcome are kept (and counted).
MAX_TRAIL = 200
KEPT_PAST_MAX = frozenset(
    {"accepted", "callback_attempt", "cancelled", "removed", "merged", "redirected", "closed"}
)

# The decisions the audit records, each with the method that records it. The dispatch
# loop hands ``on_decision`` only these (``RECORDED``): an agent's own decisions
# (presence, wrap-up, cover) go past it without a call.
_HANDLERS: dict[type, str] = {
    d.Queued: "_queued",
    d.Offered: "_offered",
    d.Assigned: "_assigned",
    d.Requeued: "_requeued",
    d.OfferWithdrawn: "_withdrawn",
    d.Widened: "_widened",
    d.Overflowed: "_overflowed",
    d.Moved: "_moved",
    d.Switched: "_switched",
    d.Scheduled: "_scheduled",
    d.CallbackAttempt: "_attempt",
    d.Reclassified: "_reclassified",
    d.EscalationWarning: "_warning",
    d.DeadlineMissed: "_missed",
    d.Redirected: "_redirected",
    d.Closed: "_closed",
}
RECORDED: tuple[type, ...] = tuple(_HANDLERS)


class Audit(AuditStore):
    """The audit of one service (its listeners, notes and part are registered by the
    composition root, ``router/instance.py``): the records of ``AuditStore``, filled in
    from the log."""

    def __init__(
        self, service: Service, metrics: Metrics, settings: AuditSettings | None = None
    ) -> None:
        super().__init__(
            settings or AuditSettings.from_env(), Days(region_zone(service.region.timezone))
        )
        self.metrics = metrics  # it counts the refusals it records
        self.service = service
        self._sites: dict[str, str | None] = {}  # agent -> site, from the engine
        self._on: dict[type, Callable[[AuditRecord, Any, float], None]] = {
            kind: getattr(self, name) for kind, name in _HANDLERS.items()
        }

    def restore(self, data: dict[str, Any]) -> None:
        super().restore(data)
        self._sites = {}

    # ------------------------------------------------------------ from the log

    def _tick(self, now: float) -> float:
        # Engine time never runs backwards; neither does the audit's.
        self.now = max(self.now, now)
        return self.now

    @handles(ContactArrived, ContactCancelled, ContactMerged, AgentUpdated, ContactAbandoned)
    def on_applied(self, event: Event, now: float) -> None:
        if isinstance(event, ContactArrived):
            self._arrived(event, now if now > self.now else self.now)
        elif isinstance(event, ContactCancelled):
            now = self._tick(now)
            record = self._record(event.contact_id, now)
            asked = self.pending.pop(event.contact_id, ())
            removal = next((p for p in asked if p[1] == event.reason), None)
            if removal is not None:
                record.removed_by, record.removal_reason = removal
                self._add(record, (now, "removed", None, *removal))
            else:
                self._add(record, (now, "cancelled", None, mask(event.reason)))
        elif isinstance(event, ContactMerged):
            now = self._tick(now)
            self._add(self._record(event.contact_id, now), (now, "merged", None, event.into))
        elif isinstance(event, AgentUpdated):
            self._sites.pop(event.agent.id, None)
        elif isinstance(event, ContactAbandoned):
            # Applied and still open: a callback whose caller hung up keeps its place.
            try:
                self.service.engine.contact(event.contact_id)
            except UnknownContact:
                return  # closed as abandoned: the ``Closed`` decision records that
            now = self._tick(now)
            self._add(self._record(event.contact_id, now), (now, "caller_hung_up", None))

    def on_removal(self, note: Removal, now: float) -> None:
        record = self.live.get(note.contact_id)  # an open contact's record is live
        if record is not None and record.open:
            self.pending.setdefault(note.contact_id, []).append((note.by, note.reason))

    def on_refusal(self, note: Refusal, now: float) -> None:
        rid = REFUSED_PREFIX + note.contact_id
        if self.get(rid) is not None:
            return  # a retried request: the same refusal
        now = self._tick(now)
        record = AuditRecord(rid, now)
        record.day = self.days.of(now)
        record.channel = record.channel_now = note.channel
        record.service = record.service_now = note.service
        record.urgency = record.urgency_now = note.urgency
        record.language, record.site, record.number = note.language, note.site, note.number
        record.closed_at, record.outcome = now, "refused"
        record.trail.append((now, "refused", None, note.opens_at))
        self._insert(record, now)
        self.closed.append(rid)
        if len(self.closed) >= self.settings.seal_every:
            self._seal()
        self.metrics.count_refused(note.channel, note.service)

    @handles(*RECORDED)
    def on_decision(self, decision: d.Decision, now: float) -> None:
        handler = self._on.get(type(decision))
        if handler is None:  # a caller past the dispatch loop's choice (tests)
            return
        # ``max(self.now, now)``, the same answer without its call
        now = self.now = now if now > self.now else self.now
        contact_id: str = decision.contact_id  # type: ignore[union-attr]
        record = self.live.get(contact_id) or self._record(contact_id, now)
        handler(record, decision, now)

    def _arrived(self, event: ContactArrived, now: float) -> None:
        self.now = now  # ``_tick``'s, on every arrival
        spec = event.contact
        engine = self.service.runtime.engine  # ``service.engine``, one property call less
        due: float | None = None
        # The class it came with, not the engine's view of it: an overflow at arrival (a
        # step nobody could serve is skipped at once) has already changed that, and its
        # ``Overflowed`` decision, recorded next, says so.
        urgency = spec.urgency
        if not urgency:  # the service's default class
            try:
                urgency = engine.service(spec.service).default_urgency
            except Exception:  # an unknown service never reaches here; be safe in a listener
                urgency = ""
        # The engine's arrival and deadline, read without a view of the contact (the
        # audit is on every arrival's path).
        glance = engine.contact_glance(spec.id)
        if glance is not None:
            arrived, due = glance[3], glance[4]
        else:  # redirected: never opened
            arrived = spec.arrived_at if spec.arrived_at is not None else now
        attributes = spec.attributes
        raw = attributes.get("number") or attributes.get("caller")
        number = mask_number(raw) if raw else None
        record = self.live.get(spec.id)
        if record is None and spec.id in self.sealed:
            record = self._for_update(spec.id)
        channel = spec.channel._value_
        if record is None:
            record = AuditRecord(
                spec.id,
                now,
                arrived,
                self.days.of(arrived),
                channel,
                spec.service,
                urgency,
                spec.language,
                spec.preferred_site,
                due,
                # Set at the door: a chosen window, or the same-day rule's deadline.
                spec.due_at if spec.clock_from is None else due,
                number or None,
                spec.channel is Channel.CALLBACK,
            )
            self._insert(record, now)
        else:  # the same id again: the trail goes on, the contact is open again
            record.closed_at = record.outcome = record.closed_by = None
            record.number = number or record.number
            record.channel_now = channel
            record.service_now = spec.service
            record.urgency_now = urgency
            record.due_now = due
            record.was_callback = record.was_callback or spec.channel is Channel.CALLBACK
        entry = (
            now,
            "arrived",
            None,
            channel,
            spec.service,
            urgency,
            spec.language,
            spec.preferred_site,
            arrived,
            due,
            number,
        )
        if len(record.trail) < MAX_TRAIL:  # ``_add``'s common case, one call less
            record.trail.append(entry)
        else:
            self._add(record, entry)

    def _record(self, contact_id: str, now: float) -> AuditRecord:
        """The contact's record; a partial one when the audit did not see it arrive
        (it arrived before this instance's audit existed, or its record was pruned)."""
        record = self._for_update(contact_id)
        if record is not None:
            return record
        record = AuditRecord(contact_id, now)
        record.partial = True
        try:
            view = self.service.engine.contact(contact_id)
        except UnknownContact:
            pass
        else:
            record.arrived_at = view.arrived_at
            record.channel = record.channel_now = view.channel._value_
            record.service = record.service_now = view.service
            record.urgency = record.urgency_now = view.urgency
            record.language = view.spec.language
            record.site = view.spec.preferred_site
            record.due_at = record.due_now = view.due_at
            record.was_callback = view.channel is Channel.CALLBACK
        record.day = self.days.of(record.arrived_at)
        self._insert(record, now)
        return record

    def _add(self, record: AuditRecord, entry: tuple[Any, ...]) -> None:
        if len(record.trail) >= MAX_TRAIL and entry[1] not in KEPT_PAST_MAX:
            record.omitted += 1
            return
        record.trail.append(entry)

    # ------------------------------------------------------------ decisions

    def _queued(self, r: AuditRecord, x: d.Queued, now: float) -> None:
        r.due_now = x.due_at
        entry = (now, "queued", None, x.service, x.step._value_, x.due_at)
        if len(r.trail) < MAX_TRAIL:  # ``_add``'s common case, one call less
            r.trail.append(entry)
        else:
            self._add(r, entry)

    def _offered(self, r: AuditRecord, x: d.Offered, now: float) -> None:
        t = x.trace
        step = t.step._value_ if t.step is not None else None
        change = (now, "offered", x.agent_id, x.channel._value_, step, t.rule, x.expires_at, t.by)
        self._add(r, change)

    def _assigned(self, r: AuditRecord, x: d.Assigned, now: float) -> None:
        r.assigned_at, r.assigned_due, r.due_now = now, x.due_at, x.due_at
        if x.service:
            r.service_now = x.service
        # A call, chat or work item is answered when an agent takes it; a callback only
        # when the person is reached (``_attempt``), or completed without attempts.
        if r.answered_at is None and r.channel_now != Channel.CALLBACK._value_:
            r.answered_at, r.answered_by, r.answered_due = now, x.agent_id, x.due_at
        agent_site = self._site_of(x.agent_id)
        wait = round(now - r.arrived_at, 3) if now > r.arrived_at else 0.0  # ``max``, inline
        due = x.due_at
        self._add(r, (now, "accepted", x.agent_id, x.service, agent_site, wait, due, now <= due))

    def _site_of(self, agent_id: str) -> str | None:
        """The agent's site now (cached until the agent is edited)."""
        if agent_id in self._sites:
            return self._sites[agent_id]
        try:
            site: str | None = self.service.engine.agent(agent_id).site
        except UnknownAgent:
            site = None
        self._sites[agent_id] = site
        return site

    def _requeued(self, r: AuditRecord, x: d.Requeued, now: float) -> None:
        self._add(r, (now, "requeued", x.agent_id, x.reason, x.cooldown_until))

    def _withdrawn(self, r: AuditRecord, x: d.OfferWithdrawn, now: float) -> None:
        self._add(r, (now, "withdrawn", x.agent_id, x.reason))

    def _widened(self, r: AuditRecord, x: d.Widened, now: float) -> None:
        skipped = ",".join(step._value_ for step in x.skipped) or None
        self._add(r, (now, "widened", None, x.step._value_, skipped))

    def _overflowed(self, r: AuditRecord, x: d.Overflowed, now: float) -> None:
        r.service_now = x.to_service
        if x.urgency is not None:
            r.urgency_now = x.urgency
        self._add(r, (now, "overflowed", None, x.from_service, x.to_service, x.urgency))

    def _moved(self, r: AuditRecord, x: d.Moved, now: float) -> None:
        r.service_now = x.to_service
        if x.urgency is not None:
            r.urgency_now = x.urgency
        self._add(r, (now, "moved", None, x.from_service, x.to_service, x.by, x.urgency))

    def _switched(self, r: AuditRecord, x: d.Switched, now: float) -> None:
        r.channel_now = x.new._value_
        number = None
        if x.new is Channel.CALLBACK:
            r.was_callback = True
            try:
                raw = self.service.engine.contact(x.contact_id).spec.attributes.get("number")
            except UnknownContact:
                raw = None
            number = mask_number(raw) if raw else None
        change = "callback_registered" if x.new is Channel.CALLBACK else "channel_switched"
        self._add(r, (now, change, None, x.old._value_, x.new._value_, number))

    def _scheduled(self, r: AuditRecord, x: d.Scheduled, now: float) -> None:
        self._add(r, (now, "scheduled", None, x.until))

    def _attempt(self, r: AuditRecord, x: d.CallbackAttempt, now: float) -> None:
        r.attempts = max(r.attempts + 1, x.attempt)
        if x.result == "reached" and r.answered_at is None:
            r.answered_at = r.assigned_at if r.assigned_at is not None else now
            r.answered_by, r.answered_due = x.agent_id, r.assigned_due
        self._add(r, (now, "callback_attempt", x.agent_id, x.attempt, x.result, x.retry_at))

    def _reclassified(self, r: AuditRecord, x: d.Reclassified, now: float) -> None:
        r.urgency_now, r.due_now = x.new, x.due_at
        self._add(r, (now, "reclassified", x.agent_id, x.old, x.new, x.due_at))

    def _warning(self, r: AuditRecord, x: d.EscalationWarning, now: float) -> None:
        self._add(r, (now, "warning", None, x.service, x.due_at))

    def _missed(self, r: AuditRecord, x: d.DeadlineMissed, now: float) -> None:
        self._add(r, (now, "deadline_missed", None, x.service, x.due_at))

    def _redirected(self, r: AuditRecord, x: d.Redirected, now: float) -> None:
        r.urgency_now = x.urgency
        self._add(r, (now, "redirected", None, x.urgency, x.target))

    def _closed(self, r: AuditRecord, x: d.Closed, now: float) -> None:
        agent = x.agent_id if x.in_hand else None  # not an agent only offered it
        r.closed_at, r.outcome, r.closed_by = now, x.outcome, agent
        if x.service:
            r.service_now = x.service
        if x.channel is not None:
            r.channel_now = x.channel._value_
        if (
            r.answered_at is None
            and agent is not None
            and r.assigned_at is not None
            and x.outcome != "unreachable"
        ):  # a callback completed without a reported attempt
            r.answered_at, r.answered_by, r.answered_due = r.assigned_at, agent, r.assigned_due
        if self.pending:  # removals asked for are rare: no call when there are none
            self.pending.pop(r.id, None)
        channel = x.channel._value_ if x.channel is not None else None
        self._add(r, (now, "closed", agent, x.outcome, x.service or None, channel))
        self.closed.append(r.id)
        if len(self.closed) >= self.settings.seal_every:
            self._seal()
