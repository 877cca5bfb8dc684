"""The daily report's two charts, for one local day and optionally one service: the
waiting-time distribution (answered contacts by how long they waited, in fixed bands)
and service level by hour (per local hour of arrival: contacts, answered, answered within
target and its share). The figures follow the daily report's definitions
(``router.service.reports``, ``docs/audit.md``): the same audit records, the same
"answered" and "within target". The supervisor console draws them
(``router/service/pages/supervisor.js``).

Hours are the region's local clock hours of arrival: on the autumn change the repeated
hour counts in one row, on the spring change the skipped hour has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from router.config.tokens import Role
from router.service.audit import Audit, AuditRecord, parse_choice, parse_day
from router.service.auth import Principal
from router.service.http import BodyProblems
from router.service.reports import Reports
from router.service.routes import DAY, Query, Route, choice

if TYPE_CHECKING:
    from router.service.service import Service

# Waiting-time bands' lower bounds in seconds; the last band is open-ended.
WAIT_BANDS_S: tuple[int, ...] = (0, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)
HOURS = 24

CHARTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["date", "timezone", "service", "wait_histogram", "by_hour"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "service": {"type": ["string", "null"], "description": "null: every service"},
        "wait_histogram": {
            "type": "array",
            "description": "answered contacts by wait (arrival to answer), in bands",
            "items": {
                "type": "object",
                "required": ["from_s", "to_s", "answered"],
                "properties": {
                    "from_s": {"type": "integer"},
                    "to_s": {"type": ["integer", "null"], "description": "null: no bound"},
                    "answered": {"type": "integer"},
                },
            },
        },
        "by_hour": {
            "type": "array",
            "description": "24 rows, by local hour of arrival",
            "items": {
                "type": "object",
                "required": [
                    "hour",
                    "contacts",
                    "answered",
                    "answered_within_target",
                    "answered_within_target_pct",
                ],
                "properties": {
                    "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                    "contacts": {"type": "integer"},
                    "answered": {"type": "integer"},
                    "answered_within_target": {"type": "integer"},
                    "answered_within_target_pct": {
                        "type": ["number", "null"],
                        "description": "of the answered; null when none was answered",
                    },
                },
            },
        },
    },
}


def _band(wait_s: float) -> int:
    index = 0
    for k, bound in enumerate(WAIT_BANDS_S):
        if wait_s >= bound:
            index = k
    return index


def charts(records: Iterable[AuditRecord], zone: ZoneInfo) -> dict[str, Any]:
    """The wait histogram and hourly service level of ``records`` (one day's)."""
    bands = [0] * len(WAIT_BANDS_S)
    contacts = [0] * HOURS
    answered = [0] * HOURS
    within = [0] * HOURS
    for r in records:
        if r.outcome == "refused":  # turned away after hours: never a contact
            continue
        hour = datetime.fromtimestamp(r.arrived_at, zone).hour
        contacts[hour] += 1
        if r.answered_at is None:
            continue
        answered[hour] += 1
        bands[_band(max(0.0, r.answered_at - r.arrived_at))] += 1
        if r.answered_due is not None and r.answered_at <= r.answered_due:
            within[hour] += 1
    ends: list[int | None] = [*WAIT_BANDS_S[1:], None]
    return {
        "wait_histogram": [
            {"from_s": start, "to_s": end, "answered": n}
            for start, end, n in zip(WAIT_BANDS_S, ends, bands, strict=True)
        ],
        "by_hour": [
            {
                "hour": h,
                "contacts": contacts[h],
                "answered": answered[h],
                "answered_within_target": within[h],
                "answered_within_target_pct": (
                    round(100.0 * within[h] / answered[h], 1) if answered[h] else None
                ),
            }
            for h in range(HOURS)
        ],
    }


class Charts:
    def __init__(self, service: Service, audit: Audit, reports: Reports) -> None:
        self.service = service
        self.audit = audit
        self.reports = reports

    async def get_charts(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        problems = BodyProblems()
        day = parse_day(problems, request.query, "date")
        name = parse_choice(problems, request.query, "service", tuple(self.service.region.services))
        problems.raise_if_any()
        day = day or self.reports.today()
        records = self.audit.day(day)
        if name is not None:
            records = [r for r in records if r.service == name]
        zone = self.audit.days.zone
        return web.json_response(
            {
                "date": day.isoformat(),
                "timezone": zone.key,
                "service": name,
                **charts(records, zone),
            }
        )

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                "/api/supervisor/reports/daily/charts",
                self.get_charts,
                "The daily report's charts for a local day (query: date=YYYY-MM-DD (default "
                "today), service (default every service)): answered contacts by waiting "
                "time in bands, and per local hour of arrival the contacts, the answered "
                "and the share answered within target",
                (Role.SUPERVISOR,),
                tag="supervisor",
                responses={
                    200: "the charts' figures",
                    400: "malformed date or unknown service",
                    401: "no valid token",
                    403: "not a supervisor token",
                },
                query=(
                    Query("date", DAY, "the local day, YYYY-MM-DD (default: today)"),
                    Query(
                        "service",
                        choice(self.service.region.services),
                        "only this service's contacts (default: every service)",
                    ),
                ),
                schemas={200: CHARTS_SCHEMA},
            )
        ]


def routes(charts: Charts) -> list[Route]:
    return charts.routes()
