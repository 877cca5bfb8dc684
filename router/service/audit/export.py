"""The audit as an export: CSV cells a spreadsheet will not run as formulas, and the
streamed export of a range of local days as JSON lines (one contact with its trail a
line) or CSV (one row per change, or per contact), written day by day in chunks so that a
month's export neither holds the dispatch loop nor the whole month in memory."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

from aiohttp import web

from router.service.audit.record import (
    CHANGE_COLUMNS,
    CONTACT_COLUMNS,
    CONTACT_TIME_COLUMNS,
    TIME_FIELDS,
    AuditRecord,
)

if TYPE_CHECKING:
    from router.service.audit.store import AuditStore

CHUNK = 200  # contacts per written chunk of an export

_NUMBERISH = re.compile(r"[+\-]?[\d*][\d* ]*")


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula; numbers (and masked
    phone numbers) stay as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else round(value, 3)
    if (
        isinstance(value, str)
        and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        and not _NUMBERISH.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


def csv_download(rows: Iterable[Iterable[object]], filename: str) -> web.Response:
    """``rows`` as a CSV file the browser saves as ``filename``."""
    return web.Response(
        text=csv_text(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def write_export(
    response: web.StreamResponse,
    audit: AuditStore,
    first: date,
    last: date,
    fmt: str,
    per_contact: bool,
) -> None:
    """Writes the records of the local days ``first`` … ``last`` to a prepared
    ``response``: JSON lines for ``fmt`` jsonl, else CSV with its header, a row per
    contact (``per_contact``) or per change."""
    if fmt == "csv":
        header = CONTACT_COLUMNS if per_contact else CHANGE_COLUMNS
        await response.write(csv_text([header]).encode())
    # Day by day and in chunks, yielding in between: a month's export neither holds
    # the dispatch loop nor the whole month in memory.
    for records in audit.days_between(first, last):
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]
            if fmt == "jsonl":
                text = "".join(
                    json.dumps(audit.contact_json(r), ensure_ascii=False) + "\n" for r in chunk
                )
            elif per_contact:
                text = csv_text(contact_row(audit, r) for r in chunk)
            else:
                text = csv_text(row for r in chunk for row in change_rows(audit, r))
            await response.write(text.encode())
            await asyncio.sleep(0)


def contact_row(audit: AuditStore, record: AuditRecord) -> list[object]:
    summary = audit.summary(record)
    iso = audit.days.iso
    return [iso(summary[c]) if c in CONTACT_TIME_COLUMNS else summary[c] for c in CONTACT_COLUMNS]


def change_rows(audit: AuditStore, record: AuditRecord) -> Iterator[list[object]]:
    iso = audit.days.iso
    for change in audit.changes(record):
        change["contact_id"] = record.id
        yield [
            iso(change.get(c)) if c in TIME_FIELDS and c != "at" else change.get(c)
            for c in CHANGE_COLUMNS
        ]
