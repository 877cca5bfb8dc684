"""Real-time statistics for supervisors, per service and per site, and the supervisors'
websocket.

Per service and per site:

- ``waiting`` and ``oldest_wait_s``: from the engine's waiting tallies
  (``engine.waiting_in``; a site counts the contacts whose preferred site it is), O(1);
- ``agents``: logged-in agents by status (``available``, ``busy``, ``not_ready``,
  ``wrap_up``). An agent counts for a service when its skills, languages and
  authorisations meet the service's requirement (the service's own requirement, as now
  configured; a contact's language is not part of it), and for a site when it works there
  (``agent.site``). Agents are grouped by skill mask in one pass, so the cost is one pass
  over the logged-in roster plus (distinct masks × services) matches, and it is
  recomputed only after the engine has changed;
- ``answered_today`` and ``answered_within_target_today``: contacts answered today, and
  those answered by their due time, keyed by the contact's service and preferred site.
  *Answered* is the audit's (``docs/audit.md``): a call, chat, web request or work item
  when an agent accepts it (``now <= due_at`` then); a callback when an attempt reaches
  the person, or when the agent completes it without reporting one reached (not
  ``unreachable``), in time by the acceptance of that attempt's call. "Today" is the
  calendar day in the region's time zone; the counters start again at zero when the day
  changes. They count from the service's start (they are not persisted).

- ``today`` (services with office hours, while open): ``due_by_closing`` (waiting
  contacts due by today's closing), ``can_answer_by_closing`` (effective logged-in
  agents × time left ÷ handle time) and ``closes_at``. One walk over the waiting
  contacts per push (while any service with hours is open): O(waiting).

The websocket (``GET /api/supervisor/ws``) pushes ``{"type": "stats", ...}`` on connect
and every :attr:`Stats.interval` seconds, and ``{"type": "alert", "kind":
"escalation_warning" | "deadline_missed", "contact_id", "service", "due_at"}`` as soon as
the engine raises one; ``{"type": "alert", "kind": "capacity_short", "service",
"due_by_closing", "can_answer_by_closing", "closes_at"}`` once a day per service when
today's remaining capacity will not reach the contacts due today. A supervisor may send
``{"type": "stats"}`` for an immediate push.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web

from router.core import decisions as d
from router.core.model import AgentSpec, AgentStatus, Channel
from router.service.http import ApiError, decode_json
from router.service.outbox import Outbox
from router.service.runtime import handles
from skills import CompiledRequirement, Requirement

if TYPE_CHECKING:
    from router.service.service import Service

log = logging.getLogger("yhteys.stats")

STATUSES: tuple[AgentStatus, ...] = (
    AgentStatus.AVAILABLE,
    AgentStatus.BUSY,
    AgentStatus.NOT_READY,
    AgentStatus.WRAP_UP,
)
DEFAULT_INTERVAL_S = 2.0
PUSHER_TASK = "supervisor-stats-push"

Key = tuple[str, str]  # ("service", name) or ("site", id)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %r unknown here; counting days in UTC", name)
        return ZoneInfo("UTC")


def _counts(counter: Counter[AgentStatus] | None) -> dict[str, int]:
    if counter is None:
        return {s.value: 0 for s in STATUSES}
    return {s.value: counter[s] for s in STATUSES}


class Stats:
    """The statistics of one service; feed it every decision (``on_decision``, registered
    by the composition root, ``router/instance.py``)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.interval = DEFAULT_INTERVAL_S
        self.sockets: set[Outbox] = set()
        self.zone = _zone(service.region.timezone)
        self.day: date | None = None
        self._day_starts = self._day_ends = 0.0
        self.answered: Counter[Key] = Counter()
        self.within: Counter[Key] = Counter()
        self.answered_total = 0
        self.within_total = 0
        # callback -> (its keys, accepted by its due time): taken by an agent, and
        # answered only once an attempt reaches the person (or it is completed so)
        self._callbacks: dict[str, tuple[list[Key], bool]] = {}
        self._short_alerted: set[tuple[date, str]] = set()
        self._masks: dict[str, tuple[AgentSpec, int]] = {}
        self._compiled: dict[Requirement, CompiledRequirement] = {}
        self._agents_key: tuple[int, int] | None = None
        self._agents: tuple[dict[int, Counter[AgentStatus]], dict[str, Counter[AgentStatus]]]
        self._agents = ({}, {})
        # More keys for the snapshot, from the supervisor API (its tables' versions).
        self.extras: list[Callable[[], dict[str, Any]]] = []

    def capture(self) -> tuple[Any, ...]:
        return (
            self.day,
            self._day_starts,
            self._day_ends,
            Counter(self.answered),
            Counter(self.within),
            self.answered_total,
            self.within_total,
            dict(self._callbacks),
        )

    def restore(self, data: tuple[Any, ...]) -> None:
        (
            self.day,
            self._day_starts,
            self._day_ends,
            self.answered,
            self.within,
            self.answered_total,
            self.within_total,
        ) = data[:7]
        # A snapshot from before callbacks waited for their attempt has none taken.
        self._callbacks = dict(data[7]) if len(data) > 7 else {}

    # ------------------------------------------------------------ decisions

    @handles(d.Assigned, d.CallbackAttempt, d.Closed, d.EscalationWarning, d.DeadlineMissed)
    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Assigned):
            keys: list[Key] = [("service", decision.service)]
            if decision.site is not None:
                keys.append(("site", decision.site))
            in_time = now <= decision.due_at
            if decision.channel is Channel.CALLBACK:
                self._callbacks[decision.contact_id] = (keys, in_time)
            else:
                self._answered(keys, in_time, now)
        elif isinstance(decision, d.CallbackAttempt):
            if decision.result == "reached":
                taken = self._callbacks.pop(decision.contact_id, None)
                if taken is not None:
                    self._answered(*taken, now)
        elif isinstance(decision, d.Closed):
            taken = self._callbacks.pop(decision.contact_id, None)
            if taken is not None and decision.in_hand and decision.outcome != "unreachable":
                self._answered(*taken, now)  # completed without an attempt reported reached
        elif isinstance(decision, (d.EscalationWarning, d.DeadlineMissed)):
            kind = (
                "escalation_warning"
                if isinstance(decision, d.EscalationWarning)
                else "deadline_missed"
            )
            self.broadcast(
                {
                    "type": "alert",
                    "kind": kind,
                    "contact_id": decision.contact_id,
                    "service": decision.service,
                    "due_at": decision.due_at,
                }
            )

    def _answered(self, keys: list[Key], in_time: bool, now: float) -> None:
        self._roll(now)
        self.answered_total += 1
        self.within_total += in_time
        for key in keys:
            self.answered[key] += 1
            if in_time:
                self.within[key] += 1

    def _roll(self, now: float) -> date:
        """Starts the counters again when the calendar day (in the region) has changed."""
        if self.day is not None and self._day_starts <= now < self._day_ends:
            return self.day
        today = datetime.fromtimestamp(now, self.zone).date()
        if today != self.day:
            self.answered.clear()
            self.within.clear()
            self.answered_total = 0
            self.within_total = 0
        self.day = today
        self._day_starts = datetime.combine(today, time.min, self.zone).timestamp()
        self._day_ends = datetime.combine(
            today + timedelta(days=1), time.min, self.zone
        ).timestamp()
        return today

    def broadcast(self, message: dict[str, Any]) -> None:
        for box in list(self.sockets):
            box.send(message)

    # ------------------------------------------------------------ snapshot

    def snapshot(self) -> dict[str, Any]:
        """The statistics now (the body of ``GET /api/supervisor/stats``)."""
        engine = self.service.engine
        now = self.service.runtime.clock()
        today = self._roll(now)
        by_mask, by_site = self._agent_counts()
        closing = self._closing(now)
        due = self._due_by(closing) if closing else {}
        services = []
        for name, counter in self.serving(by_mask).items():
            block = self._block(("service", name), now, counter)
            if name in closing:
                block["today"] = self._today(name, now, today, closing[name], due.get(name, 0))
            services.append({"service": name, **block})
        sites = [
            {"site": site, **self._block(("site", site), now, by_site.get(site))}
            for site in self.service.region.sites
        ]
        totals: Counter[AgentStatus] = Counter()
        for statuses in by_site.values():
            totals.update(statuses)
        body: dict[str, Any] = {
            "at": now,
            "day": today.isoformat(),
            "timezone": self.zone.key,
            "services": services,
            "sites": sites,
            "totals": {
                "waiting": engine.waiting_count,
                "agents": _counts(totals),
                "answered_today": self.answered_total,
                "answered_within_target_today": self.within_total,
            },
        }
        for extra in self.extras:
            body.update(extra())
        return body

    def _closing(self, now: float) -> dict[str, float]:
        """Today's closing time of each service with office hours that is open now (the
        office window of its same-day rule: a line open round the clock may have one)."""
        closing = {}
        for name in self.service.region.services:
            schedule = self.service.region.hours_of(name).office_window(Channel.VOICE)
            if not schedule.always_open and schedule.is_open(now):
                closes = schedule.closing_of_day(now)
                if closes is not None:
                    closing[name] = closes
        return closing

    def _due_by(self, closing: dict[str, float]) -> Counter[str]:
        """Waiting contacts due by their service's closing: one pass over the queue."""
        due: Counter[str] = Counter()
        for c in self.service.engine.waiting():
            closes = closing.get(c.service)
            if closes is not None and c.due_at <= closes:
                due[c.service] += 1
        return due

    def _today(self, name: str, now: float, today: date, closes: float, due: int) -> dict[str, Any]:
        """For a service with office hours: the contacts due by today's closing against
        what the agents logged in now can answer before it (effective agents × time left
        ÷ handle time). Short of it, supervisors get one ``capacity_short`` alert a day."""
        engine = self.service.engine
        handle = self.service.handle_times.of(name)
        # Everyone logged in, the not ready too: over the hours to closing, a break
        # ends (the wait estimate's servers count only those serving now).
        servers = engine.service_estimate(name, handle, channel=None).staff or 0.0
        can = int(servers * max(0.0, closes - now) / handle) if handle > 0 else 0
        block = {"closes_at": closes, "due_by_closing": due, "can_answer_by_closing": can}
        if due > can and (today, name) not in self._short_alerted:
            self._short_alerted.add((today, name))
            self.broadcast({"type": "alert", "kind": "capacity_short", "service": name, **block})
        return block

    def _block(self, key: Key, now: float, agents: Counter[AgentStatus] | None) -> dict[str, Any]:
        waiting, oldest = self.service.engine.waiting_in(*key)
        answered = self.answered.get(key, 0)
        within = self.within.get(key, 0)
        return {
            "waiting": waiting,
            "oldest_wait_s": None if oldest is None else max(0.0, now - oldest),
            "agents": _counts(agents),
            "answered_today": answered,
            "answered_within_target_today": within,
            "service_level": within / answered if answered else None,
        }

    def serving(
        self, by_mask: dict[int, Counter[AgentStatus]] | None = None
    ) -> dict[str, Counter[AgentStatus]]:
        """Per service, its logged-in agents by status: those whose skills, languages and
        authorisations meet its requirement (an agent may count for several services)."""
        if by_mask is None:
            by_mask = self._agent_counts()[0]
        engine = self.service.engine
        out: dict[str, Counter[AgentStatus]] = {}
        for name in self.service.region.services:
            compiled = self._compile(engine.service(name).requirement)
            counter: Counter[AgentStatus] = Counter()
            for mask, statuses in by_mask.items():
                if compiled.matches(mask):
                    counter.update(statuses)
            out[name] = counter
        return out

    def _compile(self, requirement: Requirement) -> CompiledRequirement:
        compiled = self._compiled.get(requirement)
        if compiled is None:
            compiled = requirement.compile(self.service.region.catalogue)
            self._compiled[requirement] = compiled
        return compiled

    def _mask(self, spec: AgentSpec) -> int:
        cached = self._masks.get(spec.id)
        if cached is not None and cached[0] is spec:
            return cached[1]
        mask = self.service.region.catalogue.agent_mask(spec.abilities)
        self._masks[spec.id] = (spec, mask)
        return mask

    def _agent_counts(
        self,
    ) -> tuple[dict[int, Counter[AgentStatus]], dict[str, Counter[AgentStatus]]]:
        """Logged-in agents by status, per skill mask and per site; recomputed only when
        an event was applied or a decision made since (every decision comes from an
        ``engine.apply``, which ``runtime.changes`` counts, timers' and refused ones too)."""
        runtime = self.service.runtime
        key = (runtime.applied, runtime.changes)
        if key == self._agents_key:
            return self._agents
        by_mask: dict[int, Counter[AgentStatus]] = {}
        by_site: dict[str, Counter[AgentStatus]] = {}
        for status, site, mask in self.service.engine.agent_statuses():
            if status is AgentStatus.OFFLINE:
                continue
            by_mask.setdefault(mask, Counter())[status] += 1
            by_site.setdefault(site, Counter())[status] += 1
        self._agents_key = key
        self._agents = (by_mask, by_site)
        return self._agents

    # ------------------------------------------------------------ websocket

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.service.settings.ws_ping_s, max_msg_size=4096)
        await ws.prepare(request)
        box = Outbox(ws, "supervisor")
        self.sockets.add(box)
        self.service.websockets.add(box)
        box.send({"type": "stats", **self.snapshot()})
        pusher = asyncio.get_running_loop().create_task(self._push(box), name=PUSHER_TASK)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                self._request(box, msg.data)
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            self.sockets.discard(box)
            self.service.websockets.discard(box)
            await box.finished()
        return ws

    async def _push(self, box: Outbox) -> None:
        while not box.ws.closed:
            await asyncio.sleep(self.interval)
            if box.ws.closed:
                return
            try:
                box.send({"type": "stats", **self.snapshot()})
            except Exception:  # a bug must not leave a silent socket behind
                log.exception("statistics failed")

    def _request(self, box: Outbox, text: str) -> None:
        try:
            body = decode_json(text, "the frame")
        except ApiError as exc:  # not JSON, or nested too deep: an error frame, never a crash
            box.send({"type": "error", **exc.body()["error"]})  # type: ignore[dict-item]
            return
        if isinstance(body, dict) and body.get("type") == "stats":
            box.send({"type": "stats", **self.snapshot()})
            return
        error = ApiError(
            400,
            "invalid_input",
            'supervisors may send {"type": "stats"}; everything else is pushed',
        )
        box.send({"type": "error", **error.body()["error"]})  # type: ignore[dict-item]
