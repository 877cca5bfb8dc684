"""Daily reports: per service, channel, language and site, for one local day in the
region's time zone, computed from the audit's records of the contacts that arrived that
day (O(those contacts) per query; nothing else is kept). The definitions are in
``docs/audit.md``; in short, per group:

- ``contacts``: contacts that arrived that day (the day of the place they hold: a caller
  who turned into a callback counts on the day of the call);
- ``answered``: contacts where the person got through to an agent — a call, chat, web
  request or work item when an agent accepted it, a callback when an attempt reached
  the person (or the agent completed it without reporting attempts);
  ``answered_within_target``: answered by the due time in force then;
- ``same_day``: answered on the local day of arrival, or by a due time the same-day
  rule set at the door (a contact after hours is due by the end of the next working
  day); its share is of the contacts that needed an answer (not redirected, cancelled
  or merged);
- ``wait_avg_s``, ``wait_p90_s``: arrival to answer, over answered contacts (the 90th
  percentile by the nearest-rank method);
- ``abandoned`` and its share of contacts not redirected;
- ``callback_contacts`` (contacts that were callbacks at some point), ``callback_attempts``
  and attempts per callback contact; ``unreachable``;
- also ``redirected``, ``cancelled``, ``merged`` and ``open`` (not closed yet: a day's
  figures settle once its contacts have closed);
- ``answered_by_partner``: of ``answered``, those answered by a partner region's agent
  (an agent whose roster entry names a partner agreement, ``partners:`` in the region
  file);
- ``refused``: turned away at the door after hours (told when the service opens; no
  contact was made, so not among ``contacts``), by the day they were turned away;
- ``feedback_requests``, ``feedback_answers``, ``feedback_response_pct`` and ``nps``: the
  survey after a contact (``router/service/feedback.py``), by the day of the request.

Grouping is by what the contact arrived with: its service, channel, language and the
caller's own site (``preferred_site``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from router.config.tokens import Role
from router.core.model import CHANNELS
from router.service.audit import (
    Audit,
    AuditRecord,
    csv_download,
    parse_choice,
    parse_day,
)
from router.service.auth import Principal
from router.service.feedback import Feedback
from router.service.feedback import figures as feedback_figures
from router.service.http import BodyProblems
from router.service.routes import DAY, Query, Route, choice

if TYPE_CHECKING:
    from router.service.service import Service

DIMENSIONS = ("service", "channel", "language", "site")
# The survey after a contact (router/service/feedback.py), by the day of the request.
FEEDBACK_FIGURES: tuple[str, ...] = (
    "feedback_requests",
    "feedback_answers",
    "feedback_response_pct",
    "nps",
)
FORMATS = ("json", "csv")
FIGURES: tuple[str, ...] = (
    "contacts",
    "answered",
    "answered_within_target",
    "answered_within_target_pct",
    "same_day",
    "same_day_pct",
    "wait_avg_s",
    "wait_p90_s",
    "abandoned",
    "abandoned_pct",
    "callback_contacts",
    "callback_attempts",
    "callback_attempts_per_contact",
    "unreachable",
    "redirected",
    "cancelled",
    "merged",
    "open",
    "refused",
    "answered_by_partner",
    *FEEDBACK_FIGURES,
)
_KEYS: dict[str, Callable[[AuditRecord], str | None]] = {
    "service": lambda r: r.service or None,
    "channel": lambda r: r.channel or None,
    "language": lambda r: r.language,
    "site": lambda r: r.site,
}


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (``q`` in 0..1) of ascending values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(
    records: Iterable[AuditRecord],
    days: Callable[[float], str],
    partners: Collection[str] = frozenset(),
) -> dict[str, Any]:
    """The day's figures of ``records`` (contacts that arrived that day); ``partners``
    are the ids of partner agents (``answered_by_partner``)."""
    contacts = answered = within = same_day = by_partner = 0
    abandoned = redirected = cancelled = merged = unreachable = still_open = 0
    callbacks = attempts = refused = 0
    waits: list[float] = []
    for r in records:
        if r.outcome == "refused":  # turned away after hours: never a contact
            refused += 1
            continue
        contacts += 1
        outcome = r.outcome
        if r.closed_at is None:
            still_open += 1
        elif outcome == "abandoned":
            abandoned += 1
        elif outcome == "redirected" and r.answered_at is None:
            redirected += 1
        elif outcome == "cancelled":
            cancelled += 1
        elif outcome == "merged" and r.answered_at is None:
            merged += 1
        elif outcome == "unreachable":
            unreachable += 1
        if r.was_callback:
            callbacks += 1
            attempts += r.attempts
        if r.answered_at is None:
            continue
        answered += 1
        if r.answered_by in partners:
            by_partner += 1
        waits.append(max(0.0, r.answered_at - r.arrived_at))
        if r.answered_due is not None and r.answered_at <= r.answered_due:
            within += 1
        if days(r.answered_at) == r.day or (r.door_due is not None and r.answered_at <= r.door_due):
            same_day += 1
    waits.sort()
    needing = contacts - redirected - cancelled - merged
    p90 = percentile(waits, 0.9)
    return {
        "contacts": contacts,
        "answered": answered,
        "answered_within_target": within,
        "answered_within_target_pct": _pct(within, answered),
        "same_day": same_day,
        "same_day_pct": _pct(same_day, needing),
        "wait_avg_s": round(sum(waits) / len(waits), 1) if waits else None,
        "wait_p90_s": None if p90 is None else round(p90, 1),
        "abandoned": abandoned,
        "abandoned_pct": _pct(abandoned, contacts - redirected),
        "callback_contacts": callbacks,
        "callback_attempts": attempts,
        "callback_attempts_per_contact": round(attempts / callbacks, 2) if callbacks else None,
        "unreachable": unreachable,
        "redirected": redirected,
        "cancelled": cancelled,
        "merged": merged,
        "open": still_open,
        "refused": refused,
        "answered_by_partner": by_partner,
    }


def _feedback(requests: list[dict[str, Any]]) -> dict[str, Any]:
    f = feedback_figures(requests)
    return {
        "feedback_requests": f["requests"],
        "feedback_answers": f["answers"],
        "feedback_response_pct": f["response_pct"],
        "nps": f["nps"],
    }


class Reports:
    def __init__(self, service: Service, audit: Audit, feedback: Feedback) -> None:
        self.service = service
        self.audit = audit
        self.feedback = feedback

    def _known(self, by: str) -> tuple[str, ...]:
        region = self.service.region
        if by == "service":
            return tuple(region.services)
        if by == "channel":
            return tuple(ch.value for ch in CHANNELS)
        if by == "language":
            return tuple(region.languages)
        return tuple(region.sites)

    def daily(self, day: date, by: str | None) -> dict[str, Any]:
        records = self.audit.day(day)
        days = self.audit.days.of
        partners = frozenset(a.id for a in self.service.engine.agents() if a.spec.partner)
        body: dict[str, Any] = {
            "date": day.isoformat(),
            "timezone": self.audit.days.zone.key,
            "by": by,
            "retained_from": self.audit.retained_from(),
        }
        if by is not None:
            key = _KEYS[by]
            groups: dict[str | None, list[AuditRecord]] = {k: [] for k in self._known(by)}
            for r in records:
                groups.setdefault(key(r), []).append(r)
            body["rows"] = [{by: k, **figures(rs, days, partners)} for k, rs in groups.items()]
        body["total"] = figures(records, days, partners)
        self._add_feedback(body, day, by)
        return body

    def _add_feedback(self, body: dict[str, Any], day: date, by: str | None) -> None:
        """The day's feedback figures next to each group's contact figures."""
        requests = self.feedback.day(day)
        if by is not None:
            groups: dict[str | None, list[dict[str, Any]]] = {}
            for r in requests:
                groups.setdefault(r[by], []).append(r)
            rows = body["rows"]
            for row in rows:
                row.update(_feedback(groups.pop(row[by], [])))
            for k, rs in groups.items():  # asked that day; none of its contacts arrived
                rows.append({by: k, **figures([], self.audit.days.of), **_feedback(rs)})
        body["total"].update(_feedback(requests))

    def today(self) -> date:
        return datetime.fromtimestamp(self.service.runtime.clock(), self.audit.days.zone).date()

    async def get_daily(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        query = request.query
        problems = BodyProblems()
        day = parse_day(problems, query, "date")
        by = parse_choice(problems, query, "by", DIMENSIONS)
        fmt = parse_choice(problems, query, "format", FORMATS) or "json"
        problems.raise_if_any()
        day = day or self.today()
        report = self.daily(day, by)
        if fmt == "json":
            return web.json_response(report)
        lines: list[list[object]] = [["date", "by", "group", *FIGURES]]
        for row in report.get("rows", []):
            lines.append([report["date"], by, row[by or ""], *(row[f] for f in FIGURES)])
        total = report["total"]
        lines.append([report["date"], "total", None, *(total[f] for f in FIGURES)])
        suffix = f"-by-{by}" if by else ""
        return csv_download(lines, f"yhteys-daily-{report['date']}{suffix}.csv")

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                "/api/supervisor/reports/daily",
                self.get_daily,
                "Daily figures for a local day (query: date=YYYY-MM-DD (default today), "
                "by=service|channel|language|site, format=json|csv): contacts, answered "
                "within target %, same-day contact %, average and 90th-percentile wait, "
                "abandonment, callback attempts per callback contact, unreachable, the "
                "contacts turned away after hours (refused), those answered by partner "
                "agents, and the feedback survey's requests, answers, response rate and NPS",
                (Role.SUPERVISOR,),
                tag="supervisor",
                responses={
                    200: "the report (JSON or CSV)",
                    400: "malformed date, unknown by or format",
                    401: "no valid token",
                    403: "not a supervisor token",
                },
                query=(
                    Query("date", DAY, "the local day, YYYY-MM-DD (default: today)"),
                    Query("by", choice(DIMENSIONS), "one row per service, channel, ..."),
                    Query("format", choice(FORMATS), "json (default) or csv"),
                ),
            )
        ]


def routes(reports: Reports) -> list[Route]:
    return reports.routes()
