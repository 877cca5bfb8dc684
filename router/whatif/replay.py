"""A day's arrivals replayed from an audit export (``--replay FILE``, docs/audit.md): each
contact arrives at its recorded instant with its channel, service, urgency class,
language and caller's site; what happens next is the simulation's (the roster, the
shifts, handle times and patience of the run).

Any export format is read: JSON lines (one record per contact), CSV with one row per
contact (``rows=contacts``) or one per change (``rows=changes``: the first ``arrived``
change of each contact). The instant is the record's ``arrived_at`` (its place in the
order). Refusals at the door (``refused``) made no contact and are left out.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TextIO

from router.core.model import Channel
from router.csv_rows import data_rows
from router.whatif.model import Arrival, WhatIfError

_CHANNELS = ", ".join(c.value for c in Channel)
# Where a record's field is: file:line[:column] (field).
Where = Callable[[str], str]


class _Region:
    """What a replayed contact is checked against."""

    def __init__(
        self,
        services: Mapping[str, Collection[str]],
        languages: Collection[str],
        sites: Collection[str],
    ) -> None:
        self.services = services  # name -> its urgency classes
        self.languages = languages
        self.sites = sites


def _arrival(fields: Mapping[str, object], at: float, where: Where, region: _Region) -> Arrival:
    def text(name: str) -> str | None:
        value = fields.get(name)
        return None if value is None or value == "" else str(value)

    service = text("service") or ""
    if service not in region.services:
        raise WhatIfError(
            f"{where('service')}: expected a service of the region "
            f"({', '.join(sorted(region.services))}), got {service!r}"
        )
    try:
        channel = Channel(text("channel") or "")
    except ValueError:
        raise WhatIfError(
            f"{where('channel')}: expected a channel ({_CHANNELS}), got {text('channel')!r}"
        ) from None
    urgency = text("urgency")
    if urgency is not None and urgency not in region.services[service]:
        raise WhatIfError(
            f"{where('urgency')}: expected an urgency class of {service} "
            f"({', '.join(region.services[service])}), got {urgency!r}"
        )
    language = text("language")
    if language is not None and language not in region.languages:
        raise WhatIfError(
            f"{where('language')}: expected a language of the region "
            f"({', '.join(sorted(region.languages))}), got {language!r}"
        )
    site = text("site")
    if site is not None and site not in region.sites:
        raise WhatIfError(
            f"{where('site')}: expected a site of the region "
            f"({', '.join(sorted(region.sites))}), got {site!r}"
        )
    return Arrival(at, service, channel, urgency, language, site)


def _instant(value: object, where: str) -> float:
    """``where``: the field's place, file:line[:column] (arrived_at)."""
    """Epoch seconds, or a local ISO 8601 time with its offset (as CSV exports write)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        at = float(value)
    else:
        text = str(value or "").strip()
        try:
            at = float(text)
        except ValueError:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                at = math.nan
            else:
                at = moment.timestamp() if moment.tzinfo is not None else math.nan
    if not math.isfinite(at):
        raise WhatIfError(
            f"{where}: expected epoch seconds or a time with its offset such as "
            f"2026-11-24T10:00:08.000+02:00, got {value!r}"
        )
    return at


def read_replay(
    stream: TextIO,
    name: str,
    services: Mapping[str, Collection[str]],
    languages: Collection[str],
    sites: Collection[str],
) -> tuple[Arrival, ...]:
    """The export's contacts in the order they arrived."""
    region = _Region(services, languages, sites)
    text = stream.read()
    if text.lstrip().startswith("{"):
        arrivals = _from_jsonl(text, name, region)
    else:
        arrivals = _from_csv(text, name, region)
    if not arrivals:
        raise WhatIfError(f"{name}: no contacts to replay (an empty export, or only refusals)")
    return tuple(sorted(arrivals, key=lambda a: a.at))


def _from_jsonl(text: str, name: str, region: _Region) -> list[Arrival]:
    out = []
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise WhatIfError(
                f"{name}:{line}:{exc.colno}: expected a JSON record, {exc.msg}"
            ) from None
        if not isinstance(record, dict):
            raise WhatIfError(f"{name}:{line}:1: expected a JSON object per line")
        if record.get("outcome") == "refused" or record.get("arrived_at") is None:
            continue

        def where(f: str, line: int = line) -> str:
            return f"{name}:{line} ({f})"

        out.append(
            _arrival(record, _instant(record["arrived_at"], where("arrived_at")), where, region)
        )
    return out


_CONTACTS = ("contact_id", "day", "state")
_CHANGES = ("contact_id", "at", "time", "change")


def _from_csv(text: str, name: str, region: _Region) -> list[Arrival]:
    reader = csv.reader(io.StringIO(text))
    heads = [h.strip() for h in next(reader, [])]
    if tuple(heads[:3]) == _CONTACTS:
        kind = "contacts"
    elif tuple(heads[:4]) == _CHANGES:
        kind = "changes"
    else:
        raise WhatIfError(
            f"{name}:1:1: expected an audit export (JSON lines, or CSV with rows=contacts or "
            f"rows=changes), got the header {','.join(heads[:4])!r}..."
        )
    column = {h: i for i, h in enumerate(heads)}
    missing = [c for c in ("service", "channel", "arrived_at") if c not in column]
    if missing:
        raise WhatIfError(f"{name}:1: expected the column(s) {', '.join(missing)}")
    out = []
    seen: set[str] = set()
    for line, row in data_rows(reader, len(heads), name, WhatIfError):
        fields = dict(zip(heads, row, strict=True))
        if kind == "changes":
            if fields["change"] != "arrived" or fields["contact_id"] in seen:
                continue
            seen.add(fields["contact_id"])
        elif fields.get("outcome") == "refused":
            continue

        def where(f: str, line: int = line) -> str:
            return f"{name}:{line}:{column.get(f, 0) + 1} ({f})"

        out.append(
            _arrival(fields, _instant(fields["arrived_at"], where("arrived_at")), where, region)
        )
    return out
