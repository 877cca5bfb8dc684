"""What a what-if is given, read from the command line and from files: arrival streams
(``--rate``, ``--curve FILE.csv``), handle times per service and channel (``--handle``),
and local times (``--start``).

A stream's key is ``SERVICE[/CHANNEL[/LANGUAGE]][@SITE]``: channel ``voice`` and no
language or site unless given. Its rate is contacts per hour: one number (a constant
Poisson stream) or one per interval (``R1,R2,...``: a non-homogeneous Poisson stream,
constant within each interval).

A curve file has a ``time`` column (the local start of each interval, ``HH:MM``, rows
evenly spaced: the spacing is the interval) and one column per stream, headed by its key,
holding contacts per hour::

    time,nursing_advice,nursing_advice/chat/sv,oral_health@vaasa
    08:00,120,10,4
    09:00,150,12,5

Every problem names the file, line and column: ``day.csv:3:2 (nursing_advice): expected
contacts per hour >= 0, got 'many'``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TextIO
from zoneinfo import ZoneInfo

from router.core.model import Channel
from router.csv_rows import data_rows
from router.whatif.model import Distribution, Stream, WhatIfError

# A Monday without holidays: the day of a --start or shift given as a time of day only.
DEFAULT_DAY = date(2027, 1, 4)

_CHANNELS = ", ".join(c.value for c in Channel)


def _channel(text: str, where: str) -> Channel:
    try:
        return Channel(text)
    except ValueError:
        raise WhatIfError(f"{where}: expected a channel ({_CHANNELS}), got {text!r}") from None


def parse_key(
    key: str,
    where: str,
    languages: Collection[str] | None = None,
    sites: Collection[str] | None = None,
) -> Stream:
    """``SERVICE[/CHANNEL[/LANGUAGE]][@SITE]`` as a stream of no rate yet."""
    path, at, site = key.strip().partition("@")
    parts = path.split("/")
    if not parts[0] or len(parts) > 3 or (at and not site):
        raise WhatIfError(
            f"{where}: expected SERVICE[/CHANNEL[/LANGUAGE]][@SITE] such as "
            f"nursing_advice/voice/fi@vaasa, got {key!r}"
        )
    channel = _channel(parts[1], where) if len(parts) > 1 else Channel.VOICE
    language = parts[2] if len(parts) > 2 else None
    if language is not None and languages is not None and language not in languages:
        raise WhatIfError(
            f"{where}: expected a language of the region ({', '.join(sorted(languages))}), "
            f"got {language!r}"
        )
    if at and sites is not None and site not in sites:
        raise WhatIfError(
            f"{where}: expected a site of the region ({', '.join(sorted(sites))}), got {site!r}"
        )
    return Stream(parts[0], 0.0, channel, language, site or None)


# Contacts an hour of one stream: a hundred thousand is past any region's busiest hour,
# and the simulation's memory and time grow with the arrivals (1e9 took gigabytes).
MAX_PER_HOUR = 100_000


def per_hour(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_PER_HOUR:
        raise WhatIfError(
            f"{where}: expected contacts per hour from 0 to {MAX_PER_HOUR:,}, got {text!r}"
        )
    return value


def parse_rate(
    text: str, languages: Collection[str] | None = None, sites: Collection[str] | None = None
) -> Stream:
    """``KEY=PER_HOUR`` or ``KEY=R1,R2,...`` (one rate per interval)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise WhatIfError(
            f"--rate: expected SERVICE[/CHANNEL[/LANGUAGE]][@SITE]=PER_HOUR such as "
            f"nursing_advice/voice/fi=120, got {text!r}"
        )
    if key.strip().endswith("@"):
        raise WhatIfError(f"--rate: expected a site after '@', got {text!r}")
    stream = parse_key(key, "--rate", languages, sites)
    rates = tuple(per_hour(v.strip(), f"--rate {key}") for v in value.split(","))
    if len(rates) == 1:
        return Stream(stream.service, rates[0], stream.channel, stream.language, stream.site)
    return Stream(stream.service, max(rates), stream.channel, stream.language, stream.site, rates)


def parse_handle(texts: list[str], default: str) -> dict[str, Distribution]:
    """``--handle SERVICE[/CHANNEL]=DIST`` (repeatable) over ``--handle-s DIST``."""
    handle = {"*": Distribution.parse(default)}
    for text in texts:
        key, sep, dist = text.partition("=")
        service, slash, channel = key.partition("/")
        if not sep or not service or (slash and not channel):
            raise WhatIfError(f"--handle: expected SERVICE[/CHANNEL]=DISTRIBUTION, got {text!r}")
        if slash:
            _channel(channel, f"--handle {key}")
        handle[key] = Distribution.parse(dist)
    return handle


def parse_local(text: str, zone: str, day: date = DEFAULT_DAY) -> float:
    """``HH:MM`` on ``day``, or ``YYYY-MM-DDTHH:MM``, in the region's time zone: epoch
    seconds."""
    raw = text.strip()
    try:
        if len(raw) <= 5:
            hours, minutes = raw.split(":")
            moment = datetime.combine(day, time(int(hours), int(minutes)))
        else:
            moment = datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        raise WhatIfError(f"expected HH:MM or YYYY-MM-DDTHH:MM, got {text!r}") from None
    return moment.replace(tzinfo=ZoneInfo(zone)).timestamp()


def local_day(t: float, zone: str) -> date:
    return datetime.fromtimestamp(t, ZoneInfo(zone)).date()


@dataclass(frozen=True, slots=True)
class Curve:
    """The streams of a curve file, the local time of its first interval (``HH:MM``) and
    the length of an interval."""

    streams: tuple[Stream, ...]
    first: str
    interval_s: float


def _minutes(text: str, where: str) -> int:
    hours, colon, minutes = text.strip().partition(":")
    if colon and hours.isdigit() and minutes.isdigit():
        h, m = int(hours), int(minutes)
        if h < 24 and m < 60 and len(minutes) == 2:
            return h * 60 + m
    raise WhatIfError(f"{where}: expected a local time HH:MM, got {text!r}")


def read_curve(
    stream: TextIO,
    name: str,
    languages: Collection[str] | None = None,
    sites: Collection[str] | None = None,
) -> Curve:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        raise WhatIfError(f"{name}: empty file; expected a header row time,STREAM,...")
    heads = [h.strip() for h in header]
    if not heads or heads[0] != "time" or len(heads) < 2:
        raise WhatIfError(
            f"{name}:1:1: expected the header time,STREAM,... (e.g. time,nursing_advice), "
            f"got {','.join(heads)!r}"
        )
    keys = [
        parse_key(head, f"{name}:1:{col} ({head})", languages, sites)
        for col, head in enumerate(heads[1:], 2)
    ]
    seen: dict[Stream, int] = {}
    for col, key in enumerate(keys, 2):
        if key in seen:
            raise WhatIfError(
                f"{name}:1:{col} ({heads[col - 1]}): expected each stream once; it is also "
                f"column {seen[key]}"
            )
        seen[key] = col
    starts: list[int] = []
    rows: list[list[float]] = []
    for line, row in data_rows(reader, len(heads), name, WhatIfError):
        at = _minutes(row[0], f"{name}:{line}:1 (time)")
        if len(starts) >= 2:
            step = (starts[1] - starts[0]) % 1440
            if (at - starts[-1]) % 1440 != step:
                raise WhatIfError(
                    f"{name}:{line}:1 (time): expected {_hhmm(starts[-1] + step)} (rows every "
                    f"{step} min), got {row[0].strip()!r}"
                )
        elif len(starts) == 1 and (at - starts[0]) % 1440 == 0:
            raise WhatIfError(
                f"{name}:{line}:1 (time): expected a time after {_hhmm(starts[0])}, "
                f"got {row[0].strip()!r}"
            )
        starts.append(at)
        rows.append(
            [
                per_hour(cell.strip(), f"{name}:{line}:{col} ({heads[col - 1]})")
                for col, cell in enumerate(row[1:], 2)
            ]
        )
    if not rows:
        raise WhatIfError(f"{name}: no intervals after the header")
    interval_min = (starts[1] - starts[0]) % 1440 if len(starts) > 1 else 60
    streams = tuple(
        Stream(
            k.service,
            max(r[i] for r in rows),
            k.channel,
            k.language,
            k.site,
            tuple(r[i] for r in rows),
        )
        for i, k in enumerate(keys)
    )
    return Curve(streams, _hhmm(starts[0]), interval_min * 60.0)


def _hhmm(minutes: int) -> str:
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def window_hours(streams: Collection[Stream], interval_s: float) -> float:
    """The hours a curve's longest stream covers."""
    longest = max((len(s.rates) for s in streams), default=0)
    return longest * interval_s / 3600.0
