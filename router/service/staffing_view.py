"""The supervisor's staffing view: per service, what the staffing calculator
(``router.staffing``) says about now, and about a supervisor's own numbers (what-if).

Now, per service:

- ``arrivals_per_hour``: the contacts that arrived today (the audit's records of the
  local day, every channel, not those turned away after hours) over the hours the
  service's voice line has been open so far today, counted as at least a quarter hour
  so that the first minutes after opening do not read as a flood;
- ``handle_time_s``: the handle time the wait estimates use (the service's EWMA,
  ``router.core.estimate.HandleTimes``; a default until one is measured);
- ``patience_s``: today's mean patience when at least ``MIN_ABANDONED`` calls and chats
  were abandoned: the time all of them waited (until answered, until they left, or until
  now) over the abandonments, the estimate of an exponential patience from censored
  waits. With it the figures are Erlang A's, without it Erlang C's;
- ``agents``: the logged-in agents (any status but offline) whose skills, languages and
  authorisations meet the service's requirement, as ``router.service.stats`` counts them.
  An agent who can serve two services counts in both: each service is figured as if its
  agents served it alone.

For those numbers: the service level (answered within the service's default urgency
class's target, over all arrivals and over the answered), ASA, abandonment, occupancy,
the fewest agents that reach ``TARGET_SHARE`` within that target, and the service level
for a range of agent counts (the page's chart). The what-if takes the same figures for
chosen agents, arrivals per hour, handle time and patience.

Cost: the numbers are read on the service's event loop, the figures worked out in a
worker thread so that a fresh curve does not hold up the dispatch loop. Inputs are
bounded (``MAX_*``: a what-if beyond them is a 400, live values are clamped into them),
the chart has at most ``CURVE_POINTS`` points, figures are memoised by their inputs,
and today's arrivals are counted again at most every ``REFRESH_S`` seconds of the
service's clock.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from router.config.tokens import Role
from router.core.model import Channel
from router.service.audit import Audit, AuditRecord
from router.service.auth import Principal
from router.service.http import BodyProblems
from router.service.routes import Query, Route, choice
from router.service.staffing_figures import (
    HOUR_S,
    MAX_AGENTS,
    TARGET_SHARE,
    Inputs,
    calculate,
    finish,
)
from router.service.stats import Stats

if TYPE_CHECKING:
    from router.service.service import Service

MAX_RATE_PER_H = 1200.0
MIN_AHT_S, MAX_AHT_S = 1.0, 7200.0
MIN_PATIENCE_S, MAX_PATIENCE_S = 1.0, 1800.0
MIN_ABANDONED = 5  # fewer abandonments say too little about a mean patience
MIN_OBSERVED_S = 900.0
REFRESH_S = 5.0
ABANDONING = frozenset({Channel.VOICE.value, Channel.CHAT.value})


@dataclass(frozen=True, slots=True)
class Day:
    """One service's day so far, from the audit."""

    arrivals: int = 0
    abandoned: int = 0
    waited_s: float = 0.0  # calls' and chats' waits until answered, gone, or now


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


class StaffingView:
    """The two routes' handlers over one service, its audit and its live statistics."""

    def __init__(self, service: Service, audit: Audit, stats: Stats) -> None:
        self.service = service
        self.audit = audit
        self.stats = stats
        self._days: dict[str, Day] = {}
        self._counted: tuple[int, str] | None = None
        self._counted_at = -math.inf

    # ------------------------------------------------------------ today's numbers

    def _today(self, now: float) -> tuple[str, dict[str, Day]]:
        """Arrivals, abandonments and waits of today's contacts per service, counted
        again when something happened and ``REFRESH_S`` has passed (or the day changed)."""
        day = datetime.fromtimestamp(now, self.audit.days.zone).date()
        key = (self.service.runtime.applied, day.isoformat())
        stale = self._counted is None or self._counted[1] != key[1]
        if stale or (key != self._counted and now - self._counted_at >= REFRESH_S):
            self._days = self._count(self.audit.day(day), now)
            self._counted, self._counted_at = key, now
        return day.isoformat(), self._days

    @staticmethod
    def _count(records: list[AuditRecord], now: float) -> dict[str, Day]:
        arrivals: dict[str, int] = {}
        abandoned: dict[str, int] = {}
        waited: dict[str, float] = {}
        for r in records:
            if r.outcome == "refused":
                continue
            arrivals[r.service] = arrivals.get(r.service, 0) + 1
            if r.channel not in ABANDONING:
                continue
            if r.outcome == "abandoned":
                abandoned[r.service] = abandoned.get(r.service, 0) + 1
            until = r.answered_at or r.closed_at or now
            waited[r.service] = waited.get(r.service, 0.0) + max(0.0, until - r.arrived_at)
        return {
            name: Day(n, abandoned.get(name, 0), waited.get(name, 0.0))
            for name, n in arrivals.items()
        }

    def _open_s(self, name: str, now: float) -> float:
        """How long the service's voice line has been open today, up to ``now``."""
        schedule = self.service.region.hours_of(name).schedule(Channel.VOICE)
        spans = schedule.spans(schedule.day_of(now))
        return sum(max(0.0, min(end, now) - start) for start, end in spans if start < now)

    def _agents(self) -> dict[str, int]:
        """Logged-in agents who can serve each service."""
        return {name: counter.total() for name, counter in self.stats.serving().items()}

    def _answer_s(self, name: str) -> tuple[str, float]:
        spec = self.service.engine.service(name)
        return spec.default_urgency, spec.urgencies[spec.default_urgency].target_s

    def numbers(
        self, name: str, agents: int, day: Day, now: float
    ) -> tuple[dict[str, Any], Inputs]:
        """One service's numbers now (read on the event loop: they are the service's
        state) and the calculator's inputs; ``finish`` turns them into its block."""
        open_s = self._open_s(name, now)
        rate = None
        if open_s > 0:
            per_hour = day.arrivals / (max(open_s, MIN_OBSERVED_S) / HOUR_S)
            rate = round(min(MAX_RATE_PER_H, per_hour), 1)
        times = self.service.handle_times
        aht = round(_clamp(times.of(name), MIN_AHT_S, MAX_AHT_S), 1)
        patience = None
        if day.abandoned >= MIN_ABANDONED:
            patience = round(
                _clamp(day.waited_s / day.abandoned, MIN_PATIENCE_S, MAX_PATIENCE_S), 0
            )
        urgency, answer_s = self._answer_s(name)
        block: dict[str, Any] = {
            "service": name,
            "urgency": urgency,
            "arrivals_today": day.arrivals,
            "observed_s": open_s,
            "handle_time_measured": name in times.mean_s,
            "abandoned_today": day.abandoned,
        }
        if rate is None:  # not open yet today: no rate to figure with
            block["closed_agents"] = agents
            return block, Inputs(0, 0.0, aht, answer_s, patience)
        return block, Inputs(agents, rate, aht, answer_s, patience)

    async def blocks(self, names: list[str], now: float) -> list[dict[str, Any]]:
        """The view's blocks for ``names``. The numbers are read here; the figures are
        worked out in a worker thread, because a fresh Erlang A curve can take tens of
        milliseconds and the dispatch loop shares this event loop: in a thread the
        interpreter hands the loop its turn every few milliseconds."""
        _, days = self._today(now)
        agents = self._agents()
        read = [self.numbers(name, agents[name], days.get(name, Day()), now) for name in names]
        return await asyncio.to_thread(lambda: [finish(block, inputs) for block, inputs in read])

    # ------------------------------------------------------------ the routes

    async def get_view(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        now = self.service.runtime.clock()
        day = self._today(now)[0]
        services = await self.blocks(list(self.service.region.services), now)
        return web.json_response(
            {
                "at": now,
                "day": day,
                "timezone": self.audit.days.zone.key,
                "target_share": TARGET_SHARE,
                "services": services,
            }
        )

    async def get_whatif(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        query = request.query
        problems = BodyProblems()
        allowed = ("service", "agents", "rate", "aht", "patience", "access_token")
        problems.only_known(query, allowed)
        names = tuple(self.service.region.services)
        name = query.get("service")
        if name is None:
            problems.add("service", "required: the service to figure")
        elif name not in names:
            problems.add(
                "service", f"unknown service {name!r}; expected one of: {', '.join(names)}"
            )
        agents = _number(problems, query, "agents", 1, MAX_AGENTS, integer=True)
        rate = _number(problems, query, "rate", 0.0, MAX_RATE_PER_H)
        aht = _number(problems, query, "aht", MIN_AHT_S, MAX_AHT_S)
        patience = _number(problems, query, "patience", MIN_PATIENCE_S, MAX_PATIENCE_S)
        problems.raise_if_any()
        name = query["service"]
        now = self.service.runtime.clock()
        (current,) = await self.blocks([name], now)
        inputs = Inputs(
            agents=int(agents) if agents is not None else current["agents"],
            rate_per_h=rate if rate is not None else (current["arrivals_per_hour"] or 0.0),
            aht_s=aht if aht is not None else current["handle_time_s"],
            answer_s=current["answer_s"],
            patience_s=patience if patience is not None else current["patience_s"],
        )
        body = await asyncio.to_thread(calculate, inputs)
        return web.json_response({"service": name, "urgency": current["urgency"], **body})

    def routes(self) -> list[Route]:
        denied = {401: "no valid token", 403: "not a supervisor token"}
        return [
            Route(
                "GET",
                "/api/supervisor/staffing",
                self.get_view,
                "Staffing now, per service: arrivals per hour observed today, the handle "
                "time in use, logged-in agents who can serve it, today's patience if "
                "known, and what Erlang A (or C) says they give: service level, ASA, "
                "abandonment, occupancy, the agents needed for 80 % within the service's "
                "target, and the service level by number of agents",
                (Role.SUPERVISOR,),
                tag="supervisor",
                responses={200: "the staffing view", **denied},
                schemas={200: VIEW_SCHEMA},
            ),
            Route(
                "GET",
                "/api/supervisor/staffing/whatif",
                self.get_whatif,
                "The staffing figures for chosen numbers (query: service; agents, rate "
                "(arrivals per hour), aht (handle time, s) and patience (s), each "
                "defaulting to the service's own now)",
                (Role.SUPERVISOR,),
                tag="supervisor",
                responses={200: "the figures", 400: "invalid query (every problem)", **denied},
                query=(
                    Query(
                        "service",
                        choice(self.service.region.services),
                        "the service",
                        required=True,
                    ),
                    Query(
                        "agents",
                        {"type": "integer", "minimum": 1, "maximum": MAX_AGENTS},
                        "agents (default: those logged in who can serve it)",
                    ),
                    Query(
                        "rate",
                        {"type": "number", "minimum": 0, "maximum": MAX_RATE_PER_H},
                        "arrivals per hour (default: today's so far)",
                    ),
                    Query(
                        "aht",
                        {"type": "number", "minimum": MIN_AHT_S, "maximum": MAX_AHT_S},
                        "mean handle time in seconds (default: the service's)",
                    ),
                    Query(
                        "patience",
                        {"type": "number", "minimum": MIN_PATIENCE_S, "maximum": MAX_PATIENCE_S},
                        "mean patience in seconds (default: today's if known, else "
                        "nobody abandons: Erlang C)",
                    ),
                ),
                schemas={200: WHATIF_SCHEMA},
            ),
        ]


def _number(
    problems: BodyProblems,
    query: Mapping[str, str],
    key: str,
    low: float,
    high: float,
    integer: bool = False,
) -> float | None:
    """A number from the query within [low, high], or None (a problem when malformed)."""
    text = query.get(key)
    if text is None:
        return None
    kind = "an integer" if integer else "a number"
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        problems.add(key, f"expected {kind}, got {text!r}")
        return None
    if not math.isfinite(value) or not low <= value <= high:
        problems.add(key, f"expected {kind} from {low:g} to {high:g}, got {text!r}")
        return None
    return value


NUMBER_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
FIGURES_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "null: no agent, or the service has not opened today",
    "required": ["model", "sl_all", "sl_answered", "asa_s", "p_abandon", "occupancy"],
    "properties": {
        "model": {"type": "string", "enum": ["erlang_a", "erlang_c"]},
        "load_erlangs": {"type": "number"},
        "p_wait": {"type": "number"},
        "sl_all": {"type": "number", "description": "answered within target / all arrivals"},
        "sl_answered": {"type": "number", "description": "answered within target / answered"},
        "asa_s": {**NUMBER_OR_NULL, "description": "null: the queue grows without bound"},
        "mean_wait_s": NUMBER_OR_NULL,
        "p_abandon": {"type": "number"},
        "occupancy": {"type": "number"},
        "stable": {"type": "boolean"},
    },
}
CALCULATION_PROPERTIES: dict[str, Any] = {
    "service": {"type": "string"},
    "urgency": {"type": "string", "description": "the default urgency class, whose target counts"},
    "agents": {"type": "integer"},
    "arrivals_per_hour": NUMBER_OR_NULL,
    "handle_time_s": {"type": "number"},
    "patience_s": {**NUMBER_OR_NULL, "description": "null: nobody abandons (Erlang C)"},
    "answer_s": {"type": "number"},
    "target_share": {"type": "number"},
    "model": {"type": "string", "enum": ["erlang_a", "erlang_c"]},
    "figures": FIGURES_SCHEMA,
    "agents_needed": {"type": ["integer", "null"], "description": f"null: over {MAX_AGENTS}"},
    "curve": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["agents", "sl_all"],
            "properties": {"agents": {"type": "integer"}, "sl_all": {"type": "number"}},
        },
    },
}
WHATIF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["service", "agents", "figures", "agents_needed", "curve"],
    "properties": CALCULATION_PROPERTIES,
}
VIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["at", "day", "timezone", "target_share", "services"],
    "properties": {
        "at": {"type": "number"},
        "day": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "target_share": {"type": "number"},
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["service", "arrivals_today", "agents", "figures", "curve"],
                "properties": {
                    **CALCULATION_PROPERTIES,
                    "arrivals_today": {"type": "integer"},
                    "observed_s": {"type": "number"},
                    "handle_time_measured": {"type": "boolean"},
                    "abandoned_today": {"type": "integer"},
                },
            },
        },
    },
}


def routes(service: Service, audit: Audit, stats: Stats) -> list[Route]:
    return StaffingView(service, audit, stats).routes()
