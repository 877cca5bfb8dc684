"""Opening hours: a weekly schedule in local time, public holidays, local exceptions.

Every query takes the time as epoch seconds and answers in epoch seconds; nothing here
reads a clock, so the same schedule serves the live service and virtual-time simulation.

A local day's hours come from, in order of precedence:

1. an exception for that date (closed, or its own hours, e.g. Christmas Eve 08:00-12:00);
2. a public holiday (closed, unless the schedule lets holidays follow the weekly hours);
3. a holiday eve: a day the weekly hours open, followed by a public holiday named in
   ``eves``, takes the eve's hours (Maundy Thursday 08:00-14:00, written once for every
   year);
4. the weekly hours for that weekday (a day without hours is closed).

Opening intervals are half-open: open at 08:00:00, closed again at 16:00:00. Local times
become instants by the rules in :mod:`router.calendar.clock` (a time skipped by the spring
change means the change itself, a repeated one its first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from router.calendar.clock import MINUTES_PER_DAY, day_of, instant
from router.calendar.public_holidays import FINNISH_HOLIDAYS, HolidayCalendar
from router.core.model import Channel

# Local opening intervals of one day as (start, end) minutes past midnight, sorted,
# 0 <= start < end <= 1440, each ending before the next starts.
DayHours = tuple[tuple[int, int], ...]
# Opening intervals of one local day as epoch seconds [start, end).
Span = tuple[float, float]

CLOSED: DayHours = ()
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_ZONE = ZoneInfo("Europe/Helsinki")
# How far ahead the queries look for an opening: long enough for a summer closure or a
# year of exceptions. A schedule that does not open within it counts as never opening.
HORIZON_DAYS = 400
_MEMO_LIMIT = 4096


def check_day_hours(hours: DayHours) -> None:
    """Raises ValueError unless ``hours`` is sorted, disjoint and within one day."""
    previous_end = -1
    for start, end in hours:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(f"bad interval {start}-{end} (minutes past midnight)")
        if start <= previous_end:
            raise ValueError("intervals must be sorted and must not overlap or touch")
        previous_end = end


def merge_day_hours(intervals: list[tuple[int, int]]) -> DayHours:
    """Sorts intervals and joins those that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def format_day_hours(hours: DayHours) -> str:
    """``08:00-12:00, 13:00-16:00`` or ``closed``."""
    if not hours:
        return "closed"
    return ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in hours)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A local day's hours and where they come from: ``source`` is ``weekly``,
    ``holiday``, ``eve``, ``exception`` or ``always``; ``holiday`` names the public
    holiday on that date (also when an exception or the weekly hours decide)."""

    day: date
    hours: DayHours
    source: str
    holiday: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """Opening hours of one service or channel.

    ``weekly`` holds seven days' hours, Monday first; ``None`` means always open (then
    there is no office day, and holidays and exceptions do not apply). ``holidays`` None
    lets public holidays follow the weekly hours. ``exceptions`` give a date its own
    hours (``CLOSED`` to close it). ``eves`` map a public holiday's name (as
    ``holidays`` names it, e.g. ``Good Friday``) to the hours of the day before it, when
    the weekly hours open that day and it is no holiday itself: a rule, valid every year.
    """

    zone: ZoneInfo = DEFAULT_ZONE
    weekly: tuple[DayHours, ...] | None = None
    holidays: HolidayCalendar | None = FINNISH_HOLIDAYS
    exceptions: Mapping[date, DayHours] = field(default_factory=dict, hash=False)
    eves: Mapping[str, DayHours] = field(default_factory=dict, hash=False)
    _memo: dict[date, tuple[Span, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if self.weekly is not None:
            if len(self.weekly) != 7:
                raise ValueError("weekly hours need seven days, Monday first")
            for hours in self.weekly:
                check_day_hours(hours)
        elif self.exceptions or self.eves:
            raise ValueError("an always-open schedule has no exceptions or eves")
        if self.eves and self.holidays is None:
            raise ValueError("holiday eves need a holiday calendar")
        for hours in (*self.exceptions.values(), *self.eves.values()):
            check_day_hours(hours)
        object.__setattr__(self, "exceptions", dict(self.exceptions))
        object.__setattr__(self, "eves", dict(self.eves))

    @property
    def always_open(self) -> bool:
        return self.weekly is None

    # --- days -----------------------------------------------------------------------

    def plan(self, day: date) -> DayPlan:
        """The local day's hours and their source."""
        holiday = self.holidays.holiday(day) if self.holidays is not None else None
        if self.weekly is None:
            return DayPlan(day, ((0, MINUTES_PER_DAY),), "always", holiday)
        exception = self.exceptions.get(day)
        if exception is not None:
            return DayPlan(day, exception, "exception", holiday)
        if holiday is not None:
            return DayPlan(day, CLOSED, "holiday", holiday)
        weekly = self.weekly[day.weekday()]
        if self.eves and weekly and self.holidays is not None:
            tomorrow = self.holidays.holiday(day + timedelta(days=1))
            eve = self.eves.get(tomorrow) if tomorrow is not None else None
            if eve is not None:
                return DayPlan(day, eve, "eve", None)
        return DayPlan(day, weekly, "weekly", holiday)

    def day_of(self, t: float) -> date:
        """The local day that epoch second ``t`` falls on."""
        return day_of(self.zone, t)

    def spans(self, day: date) -> tuple[Span, ...]:
        """The local day's opening intervals as epoch seconds ``[start, end)``. An
        interval entirely within the hour the spring change skips is empty and left out;
        one that spans the autumn change lasts an hour longer."""
        known = self._memo.get(day)
        if known is not None:
            return known
        spans: list[Span] = []
        for start_minute, end_minute in self.plan(day).hours:
            start = instant(self.zone, day, start_minute)
            end = instant(self.zone, day, end_minute)
            if end <= start:
                continue
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        result = tuple(spans)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[day] = result
        return result

    # --- queries --------------------------------------------------------------------

    def is_open(self, t: float) -> bool:
        if self.weekly is None:
            return True
        return any(start <= t < end for start, end in self.spans(self.day_of(t)))

    def next_opening(self, t: float) -> float | None:
        """``t`` when open; otherwise the next instant the schedule opens. None when it
        does not open within ``HORIZON_DAYS``."""
        if self.weekly is None:
            return t
        for day in _dates(self.day_of(t), HORIZON_DAYS):
            for start, end in self.spans(day):
                if t < end:
                    return max(start, t)
        return None

    def next_closing(self, t: float) -> float | None:
        """When open at ``t``: the instant it closes, following the opening across
        midnight when the next day opens at once. None when closed at ``t``, always open,
        or not closing within ``HORIZON_DAYS``."""
        if self.weekly is None or not self.is_open(t):
            return None
        closing: float | None = None
        for day in _dates(self.day_of(t), HORIZON_DAYS):
            for start, end in self.spans(day):
                if end <= t:
                    continue
                if closing is not None and start > closing:
                    return closing
                closing = end
        return None

    def closing_of_day(self, t: float) -> float | None:
        """The end of the office hours of the local day ``t`` falls on (possibly before
        ``t``): the end of that day's last interval. None when the day has no hours or
        the schedule is always open (there is no office day)."""
        if self.weekly is None:
            return None
        spans = self.spans(self.day_of(t))
        return spans[-1][1] if spans else None

    def end_of_next_working_day(self, t: float) -> float | None:
        """The end of the office hours of the next working day: the first local day whose
        hours begin after ``t``. Friday evening gives Monday; Monday 07:00 gives that
        Monday (its office day has not begun); Monday 10:00 gives Tuesday. None when
        always open or no working day comes within ``HORIZON_DAYS``."""
        if self.weekly is None:
            return None
        for day in _dates(self.day_of(t), HORIZON_DAYS):
            spans = self.spans(day)
            if spans and spans[0][0] > t:
                return spans[-1][1]
        return None


ALWAYS_OPEN = Schedule()


def never_open(zone: ZoneInfo = DEFAULT_ZONE) -> Schedule:
    """A schedule that never opens (a channel the service does not offer)."""
    return Schedule(zone=zone, weekly=(CLOSED,) * 7, holidays=None)


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """A service's hours: ``default`` for every channel, except the channels in
    ``channels`` (digital channels may keep their own hours). The default default is
    always open. ``same_day`` is the office-hours window the same-day rule counts
    (``router.calendar.rules``) when it differs from the opening hours (a line open
    round the clock still owes same-day contact in office hours); None: each channel's
    own hours."""

    default: Schedule = ALWAYS_OPEN
    channels: Mapping[Channel, Schedule] = field(default_factory=dict, hash=False)
    same_day: Schedule | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", dict(self.channels))

    def schedule(self, channel: Channel) -> Schedule:
        return self.channels.get(channel, self.default)

    def office_window(self, channel: Channel) -> Schedule:
        """The office hours the same-day rule counts for ``channel``."""
        return self.same_day if self.same_day is not None else self.schedule(channel)


def _dates(first: date, count: int) -> Iterator[date]:
    return (first + timedelta(days=k) for k in range(count))
