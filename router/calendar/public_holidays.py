"""Public holidays from the ``holidays`` package, not from hand-written tables.

For Finland the package lists (category ``public``): New Year's Day, Epiphany, Good
Friday, Easter Sunday, Easter Monday, May Day, Ascension Day, Whit Sunday, Midsummer Eve,
Midsummer Day, All Saints' Day, Independence Day, Christmas Eve, Christmas Day and
St Stephen's Day. The Easter-based days move every year (Easter 2026: 5 April; 2027:
28 March); Midsummer and All Saints' Day fall on the Friday/Saturday of a given week.
Christmas Eve and Midsummer Eve are not statutory holidays but are days off in practice,
and the package lists them; an office that opens on them says so with a local exception.

Looking a date up is pure: the package computes a year's holidays from rules, and each
year is computed once and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

import holidays


class HolidayCalendar(Protocol):
    """Names the public holiday on a date, if there is one."""

    def holiday(self, day: date) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CountryHolidays:
    """The public holidays of a country (ISO 3166 code, e.g. ``FI``) as the ``holidays``
    package defines them, with English names."""

    country: str = "FI"

    def holiday(self, day: date) -> str | None:
        return _year(self.country, day.year).get(day)


FINNISH_HOLIDAYS = CountryHolidays("FI")


@lru_cache(maxsize=256)
def _year(country: str, year: int) -> dict[date, str]:
    table = holidays.country_holidays(country, years=year, language="en_US")
    return {day: str(name) for day, name in table.items() if day.year == year}
