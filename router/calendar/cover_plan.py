"""When a partner agreement's cover is on: a weekly pattern in local time, dated
exceptions and public holidays (``router.core.partners`` says what cover means).

Pure: the plan is kept as plain data (zone name, weekly minutes, dated exceptions) so it
pickles with the engine (a Redis-mode snapshot); the calendar's ``Schedule`` is rebuilt
from it on demand. The engine asks it only ``is_on`` and ``next_change``
(``router.core.partners.Cover``), so the core does not import the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from router.calendar.opening_hours import DayHours, Schedule
from router.calendar.public_holidays import FINNISH_HOLIDAYS


@dataclass(frozen=True, slots=True)
class CoverPlan:
    """When cover is on: a weekly pattern (seven days of ``(start, end)`` local minutes,
    Monday first), dated exceptions (their own hours, ``()`` for none), in time zone
    ``zone``; public holidays (Finland's) have no cover unless ``holidays_weekly``."""

    zone: str
    weekly: tuple[DayHours, ...]
    exceptions: tuple[tuple[date, DayHours], ...] = ()
    holidays_weekly: bool = False

    def schedule(self) -> Schedule:
        known = _SCHEDULES.get(self)
        if known is None:
            known = Schedule(
                ZoneInfo(self.zone),
                self.weekly,
                None if self.holidays_weekly else FINNISH_HOLIDAYS,
                dict(self.exceptions),
            )
            if len(_SCHEDULES) > 64:
                _SCHEDULES.clear()
            _SCHEDULES[self] = known
        return known

    def is_on(self, t: float) -> bool:
        return self.schedule().is_open(t)

    def next_change(self, t: float) -> float | None:
        """The first instant after ``t`` at which cover turns on or off (None: never)."""
        schedule = self.schedule()
        if schedule.is_open(t):
            return schedule.next_closing(t)
        return schedule.next_opening(t)


# A memo of rebuilt schedules (pure: the same plan always gives the same schedule).
_SCHEDULES: dict[CoverPlan, Schedule] = {}
