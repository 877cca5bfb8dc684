"""Local wall-clock time in a region's time zone, as epoch seconds.

Two rules make every local date and time name exactly one instant, so opening hours
behave on the days the clocks change (in Europe/Helsinki the last Sundays of March and
October, at 03:00 and 04:00 local time):

- A local time that the clocks skip (the spring change: 03:00-03:59 does not exist in
  Helsinki) means the moment of the change, the first instant the clock shows that time
  or later.
- A local time that happens twice (the autumn change: 03:00-03:59 is shown twice) means
  its first occurrence.

Both follow from one definition: ``instant(zone, day, minute)`` is the first instant at
which the clock shows ``day`` at ``minute`` or later. It never decreases as ``minute``
grows, so the instants of a local day's opening hours keep their order.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60


def wall(zone: ZoneInfo, t: float) -> datetime:
    """The naive local date and time the clock shows at epoch second ``t``."""
    return datetime.fromtimestamp(t, zone).replace(tzinfo=None)


def instant(zone: ZoneInfo, day: date, minute: int) -> float:
    """Epoch seconds of the first instant at which the clock in ``zone`` shows local
    ``day`` at ``minute`` minutes past midnight, or later (``minute`` may be 1440, the next
    day's midnight)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=zone).timestamp()  # fold=0: the first occurrence
    if wall(zone, first) == naive:
        return first
    # Skipped by a forward change: the answer is the change itself, which lies between
    # the readings of ``naive`` with the offsets before and after it. Offsets are whole
    # seconds, so a search over whole seconds finds it exactly.
    other = naive.replace(tzinfo=zone, fold=1).timestamp()
    low, high = int(min(first, other)), int(max(first, other))  # shows before / after
    while high - low > 1:
        middle = (low + high) // 2
        if wall(zone, middle) >= naive:
            high = middle
        else:
            low = middle
    return float(high)


def day_of(zone: ZoneInfo, t: float) -> date:
    """The local day that epoch second ``t`` belongs to: the ``day`` with
    ``instant(day, 0) <= t < instant(day + 1, 0)`` (the calendar date the clock shows,
    except around a change that repeats or skips midnight itself)."""
    day = wall(zone, t).date()
    if t < instant(zone, day, 0):
        return day - timedelta(days=1)
    if t >= instant(zone, day, MINUTES_PER_DAY):
        return day + timedelta(days=1)
    return day
