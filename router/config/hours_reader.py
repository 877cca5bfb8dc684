"""Reads a service's ``hours`` and ``after_hours`` from the region file, reporting every
problem at once with its path (in the style of :mod:`router.config`). The shape, documented
key by key in ``docs/hours.md``::

    hours:                                   # optional; absent: always open
      timezone: IANA-NAME                    # default: the region's
      weekly:                                # absent: always open (channels may differ)
        mon-fri: ["08:00-16:00"]             # a day or a range of days; unlisted: closed
        wed: ["08:00-11:30", "12:30-16:00"]  # a list, one "HH:MM-HH:MM", or closed
      holidays: closed | weekly              # default closed
      exceptions:                            # local dates, quoted
        "2026-12-24": ["08:00-12:00"]
        "2026-12-31": closed
        "2027-07-05..2027-07-30": closed     # an inclusive range, at most 366 days
      eves:                                  # the day before a public holiday, every year
        Good Friday: ["08:00-14:00"]         # (Maundy Thursday), when open that day
      same_day:                              # the office window of the same-day rule
        weekly: {mon-fri: "08:00-16:00"}     # (same keys as a channel); default: the hours
      channels:                              # a channel's own hours (voice, chat, web,
        chat: {weekly: {...}, exceptions: {...}}  # callback, workitem), or always, closed
        workitem: always
    after_hours:                             # optional
      redirect: {P0: "112", P1: "116117"}    # urgency class -> where, while closed
      others: wait | call_back               # default wait
      channels: {voice: call_back}           # per channel, instead of others

A channel's hours (and the ``same_day`` window) take ``timezone`` and ``holidays`` from
the service's block; its ``weekly`` is required and its ``exceptions`` and ``eves`` are
its own. Readers never raise: problems go
to ``problems`` and the result must not be used when any was reported.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from router.calendar.opening_hours import (
    CLOSED,
    DEFAULT_ZONE,
    WEEKDAYS,
    DayHours,
    Schedule,
    ServiceHours,
    format_day_hours,
    merge_day_hours,
    never_open,
)
from router.calendar.public_holidays import FINNISH_HOLIDAYS, HolidayCalendar
from router.calendar.rules import AfterHoursPolicy, WhenClosed
from router.config.errors import Problems, key_path
from router.config.reader import Fields, as_enum, as_text, describe, expected, items
from router.core.model import Channel

DEFAULT_TIMEZONE = "Europe/Helsinki"
MAX_RANGE_DAYS = 366
INTERVAL_FORM = "HH:MM-HH:MM"

_HOURS_KEYS = ("timezone", "weekly", "holidays", "exceptions", "eves", "channels", "same_day")
_CHANNEL_REQUIRED = ("weekly",)
_CHANNEL_OPTIONAL = ("timezone", "holidays", "exceptions", "eves")
# Years whose holidays name the holidays an eve may be the eve of (the names do not
# change from year to year; two years cover those that move).
_NAME_YEARS = (2026, 2027)
_AFTER_HOURS_KEYS = ("redirect", "others", "channels")

_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_FORM = "mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri"
_DAY_VALUE = f"a list of {INTERVAL_FORM} intervals, one {INTERVAL_FORM}, or closed"
_DATE_FORM = "a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD"


class HolidayRule(StrEnum):
    CLOSED = "closed"  # public holidays are closed days
    WEEKLY = "weekly"  # public holidays follow the weekly hours like any other day


# --- hours -----------------------------------------------------------------------------


def read_hours(
    problems: Problems,
    path: str,
    value: object,
    timezone: str = DEFAULT_TIMEZONE,
    holidays: HolidayCalendar = FINNISH_HOLIDAYS,
) -> ServiceHours:
    """A service's ``hours`` (``value`` None: always open). ``timezone`` is the region's
    time zone; ``holidays`` the public holiday calendar (Finland's by default)."""
    if value is None:
        return ServiceHours()
    entry = Fields(problems, path, value, (), _HOURS_KEYS)
    if not entry.valid:
        return ServiceHours()
    zone = _zone(problems, entry, _zone_named(timezone))
    calendar = _holiday_calendar(entry, holidays)
    if entry.given("weekly"):
        default = Schedule(
            zone,
            _weekly(problems, entry),
            calendar,
            _exceptions(problems, entry),
            _eves(problems, entry, calendar),
        )
    else:
        for key in ("holidays", "exceptions", "eves"):
            if entry.given(key):
                problems.add(
                    entry.at(key),
                    "only with weekly hours (without weekly the service is always open)",
                )
        default = Schedule(zone)
    channels = _channels(problems, entry, zone, calendar, holidays)
    same_day = None
    if entry.given("same_day"):
        same_day = _block(
            problems, entry.at("same_day"), entry.raw("same_day"), zone, calendar, holidays
        )
        if same_day is None:
            problems.add(
                entry.at("same_day"), expected("a mapping of hours", entry.raw("same_day"))
            )
    return ServiceHours(default, channels, same_day)


def _channels(
    problems: Problems,
    entry: Fields,
    zone: ZoneInfo,
    calendar: HolidayCalendar | None,
    holidays: HolidayCalendar,
) -> dict[Channel, Schedule]:
    mapping = entry.mapping("channels")
    channels: dict[Channel, Schedule] = {}
    for key, value in (mapping or {}).items():
        path = key_path(entry.at("channels"), key)
        channel = as_enum(problems, path, key, Channel, "channel")
        schedule: Schedule | None = None
        if value == "always":
            schedule = Schedule(zone)
        elif value == "closed":
            schedule = never_open(zone)
        elif isinstance(value, dict):
            schedule = _block(problems, path, value, zone, calendar, holidays)
        else:
            problems.add(path, expected("a mapping of hours, always or closed", value))
        if channel is not None and schedule is not None:
            channels[channel] = schedule
    return channels


def _block(
    problems: Problems,
    path: str,
    value: object,
    zone: ZoneInfo,
    calendar: HolidayCalendar | None,
    holidays: HolidayCalendar,
) -> Schedule | None:
    """A channel's own hours or the same-day window: a mapping with ``weekly`` (None,
    unreported, when ``value`` is no mapping)."""
    if not isinstance(value, dict):
        return None
    block = Fields(problems, path, value, _CHANNEL_REQUIRED, _CHANNEL_OPTIONAL)
    block_calendar = _holiday_calendar(block, holidays) if block.given("holidays") else calendar
    return Schedule(
        _zone(problems, block, zone),
        _weekly(problems, block),
        block_calendar,
        _exceptions(problems, block),
        _eves(problems, block, block_calendar),
    )


def _eves(
    problems: Problems, entry: Fields, calendar: HolidayCalendar | None
) -> dict[str, DayHours]:
    """``eves``: a public holiday's name -> the hours of the day before it."""
    if not entry.given("eves"):
        return {}
    path = entry.at("eves")
    if calendar is None:
        problems.add(path, "holiday eves need public holidays (holidays: closed)")
        return {}
    mapping = entry.mapping("eves")
    if not mapping:
        return {}
    names = holiday_names(calendar)
    eves: dict[str, DayHours] = {}
    for name, value in mapping.items():
        where = key_path(path, name)
        hours = _day_hours(problems, where, value)
        if name not in names:
            problems.add(
                where, f"unknown public holiday {name!r}; expected one of: {', '.join(names)}"
            )
        elif hours is not None:
            eves[name] = hours
    return eves


def holiday_names(calendar: HolidayCalendar) -> list[str]:
    """The names ``calendar`` gives its holidays, in calendar order."""
    names: dict[str, None] = {}
    for year in _NAME_YEARS:
        day = date(year, 1, 1)
        while day.year == year:
            name = calendar.holiday(day)
            if name is not None:
                names[name] = None
            day += timedelta(days=1)
    return list(names)


def _zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE  # the region loader reports a bad region time zone


def _zone(problems: Problems, entry: Fields, fallback: ZoneInfo) -> ZoneInfo:
    name = entry.text("timezone")
    if name is None:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(
            entry.at("timezone"),
            f"unknown time zone {name!r}; use an IANA name such as {DEFAULT_TIMEZONE}",
        )
        return fallback


def _holiday_calendar(entry: Fields, holidays: HolidayCalendar) -> HolidayCalendar | None:
    rule = entry.enum("holidays", HolidayRule, "holiday rule", HolidayRule.CLOSED)
    return holidays if rule is HolidayRule.CLOSED else None


def _weekly(problems: Problems, entry: Fields) -> tuple[DayHours, ...]:
    days: list[DayHours] = [CLOSED] * 7
    given_by: dict[int, str] = {}
    for key, value in (entry.mapping("weekly") or {}).items():
        path = key_path(entry.at("weekly"), key)
        indices = _weekdays(problems, path, key)
        hours = _day_hours(problems, path, value)
        if indices is None:
            continue
        repeated = [i for i in indices if i in given_by]
        if repeated:
            names = ", ".join(WEEKDAYS[i] for i in repeated)
            firsts = ", ".join(dict.fromkeys(repr(given_by[i]) for i in repeated))
            problems.add(path, f"{names} already given by {firsts}")
        for i in indices:
            if i not in given_by:
                given_by[i] = key
                days[i] = hours if hours is not None else CLOSED
    return tuple(days)


def _weekdays(problems: Problems, path: str, key: str) -> list[int] | None:
    first, dash, last = key.partition("-")
    if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
        problems.add(path, f"unknown day {key!r}; expected {_DAY_FORM}")
        return None
    start = WEEKDAYS.index(first)
    end = WEEKDAYS.index(last) if dash else start
    if end < start:
        problems.add(
            path, f"{key!r} runs backwards; a range runs from Monday towards Sunday, e.g. mon-fri"
        )
        return None
    return list(range(start, end + 1))


def _day_hours(problems: Problems, path: str, value: object) -> DayHours | None:
    """A day's hours: a list of intervals, one interval, or ``closed``; None (after
    reporting) when unusable."""
    if value == "closed":
        return CLOSED
    if isinstance(value, str):
        interval = _interval(problems, path, value, single=True)
        return None if interval is None else (interval,)
    if not isinstance(value, list):
        problems.add(path, expected(_DAY_VALUE, value))
        return None
    seen: list[tuple[int, tuple[int, int]]] = []
    usable = True
    for index, (item_path, item) in enumerate(items(problems, path, value)):
        interval = _interval(problems, item_path, item)
        if interval is None:
            usable = False
            continue
        for other_index, other in seen:
            if interval[0] < other[1] and other[0] < interval[1]:
                problems.add(
                    item_path,
                    f"{format_day_hours((interval,))!r} overlaps "
                    f"{format_day_hours((other,))!r} (item {other_index})",
                )
                usable = False
        seen.append((index, interval))
    return merge_day_hours([interval for _, interval in seen]) if usable else None


def _interval(
    problems: Problems, path: str, value: object, *, single: bool = False
) -> tuple[int, int] | None:
    form = f"{INTERVAL_FORM} (or a list of them, or closed)" if single else INTERVAL_FORM
    match = _INTERVAL.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        problems.add(path, expected(form, value))
        return None
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        problems.add(
            path,
            f"{value!r}: hours must be 00..23 and minutes 00..59 (24:00 only as a closing time)",
        )
        return None
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if end <= start:
        problems.add(
            path,
            f"{value!r} closes before it opens; an interval cannot cross midnight "
            "(end this one at 24:00 and start the next day at 00:00)",
        )
        return None
    return start, end


def _exceptions(problems: Problems, entry: Fields) -> dict[date, DayHours]:
    if not entry.given("exceptions"):
        return {}
    path = entry.at("exceptions")
    raw = entry.raw("exceptions")
    if not isinstance(raw, dict):
        problems.add(path, expected("a mapping of dates", raw))
        return {}
    exceptions: dict[date, DayHours] = {}
    given_by: dict[date, str] = {}
    for key, value in raw.items():
        name = key.isoformat() if isinstance(key, date) else str(key)
        key_at = key_path(path, name)
        days = _dates(problems, key_at, key)
        hours = _day_hours(problems, key_at, value)
        if days is None:
            continue
        repeated = [day for day in days if day in given_by]
        if repeated:
            shown = ", ".join(day.isoformat() for day in repeated[:3])
            more = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
            firsts = ", ".join(dict.fromkeys(repr(given_by[day]) for day in repeated))
            problems.add(key_at, f"{shown}{more} already given by {firsts}")
        for day in days:
            if day not in given_by:
                given_by[day] = name
                exceptions[day] = hours if hours is not None else CLOSED
    return exceptions


def _dates(problems: Problems, path: str, key: object) -> list[date] | None:
    """The dates an exception key names: a date (YAML reads an unquoted one as a date) or
    an inclusive range ``FROM..TO``."""
    if isinstance(key, datetime) or not isinstance(key, date | str):
        problems.add(path, expected(_DATE_FORM, key))
        return None
    if isinstance(key, date):
        return [key]
    first_text, dots, last_text = key.partition("..")
    first = _date(problems, path, first_text.strip(), key)
    last = _date(problems, path, last_text.strip(), key) if dots else first
    if first is None or last is None:
        return None
    if last < first:
        problems.add(path, f"{key!r} ends before it starts")
        return None
    count = (last - first).days + 1
    if count > MAX_RANGE_DAYS:
        problems.add(path, f"{key!r} spans {count} days; at most {MAX_RANGE_DAYS}")
        return None
    return [first + timedelta(days=k) for k in range(count)]


def _date(problems: Problems, path: str, text: str, key: str) -> date | None:
    if _DATE.fullmatch(text) is None:
        problems.add(path, expected(_DATE_FORM, key))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.add(path, f"{text!r} is not a date in the calendar")
        return None


# --- after hours -----------------------------------------------------------------------


def read_after_hours(
    problems: Problems,
    path: str,
    value: object,
    urgencies: Collection[str] | None = None,
) -> AfterHoursPolicy:
    """A service's ``after_hours`` (``value`` None: nothing redirected, everyone waits).
    ``urgencies`` are the service's urgency classes, which ``redirect`` may name (None:
    not checked)."""
    if value is None:
        return AfterHoursPolicy()
    entry = Fields(problems, path, value, (), _AFTER_HOURS_KEYS)
    if not entry.valid:
        return AfterHoursPolicy()
    redirect: dict[str, str] = {}
    for name, target in (entry.mapping("redirect") or {}).items():
        where = key_path(entry.at("redirect"), name)
        if urgencies is not None and name not in urgencies:
            known = ", ".join(urgencies) or "(none)"
            problems.add(where, f"unknown urgency class {name!r}; expected one of: {known}")
            continue
        if isinstance(target, int) and not isinstance(target, bool):
            problems.add(where, f'expected a string, got {describe(target)} (quote it: "{target}")')
            continue
        text = as_text(problems, where, target)
        if text is not None:
            redirect[name] = text
    others = entry.enum("others", WhenClosed, "after-hours rule", WhenClosed.WAIT)
    channels: dict[Channel, WhenClosed] = {}
    for key, rule in (entry.mapping("channels") or {}).items():
        where = key_path(entry.at("channels"), key)
        channel = as_enum(problems, where, key, Channel, "channel")
        when = as_enum(problems, where, rule, WhenClosed, "after-hours rule")
        if channel is not None and when is not None:
            channels[channel] = when
    return AfterHoursPolicy(redirect, others, channels)
