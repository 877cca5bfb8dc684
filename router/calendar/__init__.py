"""Opening hours, public holidays and the same-day rule: pure, no clock, no I/O.

Every query takes epoch seconds and answers in epoch seconds, so the same code serves the
live service and virtual-time simulation. See ``docs/hours.md``.
"""

from router.calendar.opening_hours import (
    ALWAYS_OPEN,
    CLOSED,
    HORIZON_DAYS,
    WEEKDAYS,
    DayHours,
    DayPlan,
    Schedule,
    ServiceHours,
    never_open,
)
from router.calendar.public_holidays import FINNISH_HOLIDAYS, CountryHolidays, HolidayCalendar
from router.calendar.rules import (
    AfterHoursPolicy,
    ArrivalAction,
    CallBackAt,
    DueTimes,
    Redirect,
    Route,
    SameDay,
    Unavailable,
    WaitUntil,
    WhenClosed,
    due_times,
    on_arrival,
    same_day,
    same_day_due,
)

__all__ = [
    "ALWAYS_OPEN",
    "CLOSED",
    "FINNISH_HOLIDAYS",
    "HORIZON_DAYS",
    "WEEKDAYS",
    "AfterHoursPolicy",
    "ArrivalAction",
    "CallBackAt",
    "CountryHolidays",
    "DayHours",
    "DayPlan",
    "DueTimes",
    "HolidayCalendar",
    "Redirect",
    "Route",
    "SameDay",
    "Schedule",
    "ServiceHours",
    "Unavailable",
    "WaitUntil",
    "WhenClosed",
    "due_times",
    "never_open",
    "on_arrival",
    "same_day",
    "same_day_due",
]
