"""The audit's HTTP routes, for supervisors only: a contact's record and trail, and the
export of a range of local days (``router.service.audit.export``); and the parsing of the
date and choice query parameters that the reports and charts share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from aiohttp import web

from router.config.tokens import Role
from router.service.audit.export import write_export
from router.service.audit_shapes import AUDIT_CONTACT_SCHEMA
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems
from router.service.routes import DAY, Query, Route, choice

if TYPE_CHECKING:
    from router.service.audit.store import AuditStore

MAX_EXPORT_DAYS = 31
FORMATS = ("jsonl", "csv")
ROWS = ("changes", "contacts")

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The days a report, chart, export or plan may be asked for: each reads the day before or
# after too, and date arithmetic past year 9999 overflows (a 500 on 9999-12-31).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def parse_day(problems: BodyProblems, query: Mapping[str, str], key: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter, or None (with a problem when it is malformed)."""
    text = query.get(key)
    if text is None:
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError("not YYYY-MM-DD")
        day = date.fromisoformat(text)
    except ValueError:
        problems.add(key, f"expected a date as YYYY-MM-DD, got {text!r}")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        problems.add(key, f"expected a date from {FIRST_DAY} to {LAST_DAY}, got {text!r}")
        return None
    return day


def parse_choice(
    problems: BodyProblems, query: Mapping[str, str], key: str, choices: tuple[str, ...]
) -> str | None:
    text = query.get(key)
    if text is not None and text not in choices:
        problems.add(key, f"unknown {key} {text!r}; expected one of: {', '.join(choices)}")
        return None
    return text


class AuditApi:
    def __init__(self, audit: AuditStore) -> None:
        self.audit = audit

    async def get_contact(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        record = self.audit.get(contact_id)
        if record is None:
            raise ApiError(
                404,
                "not_found",
                f"no audit record of contact {contact_id!r} (unknown, or older than the "
                f"{self.audit.settings.retention_days}-day retention: see the daily exports)",
            )
        return web.json_response(self.audit.contact_json(record))

    async def export(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        query = request.query
        problems = BodyProblems()
        first = parse_day(problems, query, "from")
        last = parse_day(problems, query, "to")
        fmt = parse_choice(problems, query, "format", FORMATS) or "jsonl"
        rows = parse_choice(problems, query, "rows", ROWS)
        if "from" not in query:
            problems.add("from", "required: the first local day, as YYYY-MM-DD")
        if rows is not None and fmt != "csv":
            problems.add(
                "rows", "only for format=csv; JSON lines carry each contact with its trail"
            )
        if first is not None and last is not None:
            if last < first:
                problems.add("to", f"{last} is before from={first}")
            elif (last - first).days + 1 > MAX_EXPORT_DAYS:
                problems.add(
                    "to",
                    f"at most {MAX_EXPORT_DAYS} days per export; ask for the range in parts",
                )
        problems.raise_if_any()
        assert first is not None
        last = last or first
        name = f"yhteys-audit-{first.isoformat()}_{last.isoformat()}"
        per_contact = fmt == "jsonl" or rows == "contacts"
        response = web.StreamResponse(
            headers={
                "Content-Type": (
                    "text/csv; charset=utf-8"
                    if fmt == "csv"
                    else "application/x-ndjson; charset=utf-8"
                ),
                "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                "X-Audit-Retained-From": self.audit.retained_from() or "",
            }
        )
        await response.prepare(request)
        await write_export(response, self.audit, first, last, fmt, per_contact)
        await response.write_eof()
        return response

    def routes(self) -> list[Route]:
        s = (Role.SUPERVISOR,)
        tag = "supervisor"
        denied = {401: "no valid token", 403: "not a supervisor token"}
        return [
            Route(
                "GET",
                "/api/supervisor/audit/contacts/{contact_id}",
                self.get_contact,
                "A contact's audit trail: every state change with its time, the outcome, "
                "original and final urgency, language and site",
                s,
                tag=tag,
                schemas={200: AUDIT_CONTACT_SCHEMA},
                responses={
                    200: "the contact's record and trail",
                    **denied,
                    404: "no record (unknown, or past the retention)",
                },
            ),
            Route(
                "GET",
                "/api/supervisor/audit/export",
                self.export,
                "Export the audit of contacts that arrived on the local days from … to "
                "(query: from=YYYY-MM-DD, to=YYYY-MM-DD (default: from; at most 31 days), "
                "format=jsonl|csv, rows=changes|contacts for csv); streamed",
                s,
                tag=tag,
                responses={
                    200: "JSON lines (one contact with its trail per line) or CSV",
                    400: "missing or malformed dates, a range over 31 days, unknown format",
                    **denied,
                },
                query=(
                    Query("from", DAY, "the first local day", required=True),
                    Query(
                        "to",
                        DAY,
                        f"the last local day (default: from; at most {MAX_EXPORT_DAYS} days)",
                    ),
                    Query("format", choice(FORMATS), "jsonl (default) or csv"),
                    Query(
                        "rows", choice(ROWS), "for csv: one row per change (default) or per contact"
                    ),
                ),
            ),
        ]


def routes(audit: AuditStore) -> list[Route]:
    return AuditApi(audit).routes()
