"""Partner agreements: a neighbouring region's agents covering some of this region's
services during scheduled hours (evenings, weekends).

A partner agent is a roster agent whose ``AgentSpec.partner`` names an agreement. It is
eligible for a contact only when the agreement names the contact's service AND cover is
on at that instant. Both are expressed in skill masks, so matching costs nothing more:
when a region has agreements, every service's requirement is joined with a *gate*
(``auth:own-region`` or ``auth:partner.<name>`` for each agreement naming the service);
the region's own agents hold ``own-region``, a partner agent holds ``partner.<name>``
only while its agreement's cover is on. Cover changes are engine timers at the exact
instants the schedule (a weekly pattern with exceptions and public holidays, local time)
opens and closes, so memory mode, Redis mode and virtual time change over alike.

Pure: the schedule is kept as plain data (zone name, weekly minutes, dated exceptions)
so it pickles with the engine; the calendar's ``Schedule`` is rebuilt from it on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from router.calendar.opening_hours import DayHours, Schedule
from router.calendar.public_holidays import FINNISH_HOLIDAYS

# The gate authorisations a region with agreements adds to its catalogue.
OWN_REGION = "own-region"


def partner_authorisation(agreement: str) -> str:
    return f"partner.{agreement}"


def gate_authorisations(agreements: Iterable[str]) -> tuple[str, ...]:
    """The authorisations the catalogue needs for these agreements (none without any)."""
    names = tuple(agreements)
    if not names:
        return ()
    return (OWN_REGION, *(partner_authorisation(name) for name in names))


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


@dataclass(frozen=True, slots=True)
class Agreement:
    """A partner agreement: its ``name`` (what agents' ``partner`` names), the partner
    region's name (for people), the services its agents may receive, and when."""

    name: str
    services: frozenset[str]
    cover: CoverPlan
    region: str = ""


def service_agreements(agreements: Mapping[str, Agreement], service: str) -> tuple[str, ...]:
    """The agreements whose agents may serve ``service``, in the given order."""
    return tuple(name for name, a in agreements.items() if service in a.services)
