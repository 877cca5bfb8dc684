"""Reads the region file's ``partners`` section: agreements under which a neighbouring
region's agents cover some of this region's services during scheduled hours
(``router.core.partners``), reporting every problem at once with its path. The shape,
documented key by key in ``docs/configuration.md``::

    partners:                              # optional
      - name: NAME                         # what a partner agent's ``partner:`` names
        region: STR                        # the partner region, for people
        services: [SERVICE, ...]           # the only services its agents may receive
        cover:                             # when; the keys of a service's ``hours``
          timezone: Europe/Helsinki        # default: the region's
          weekly: {mon: "16:00-22:00", sat-sun: "09:00-21:00"}
          holidays: closed | weekly        # default closed: no cover on public holidays
          exceptions: {"2026-12-24": closed, "2026-12-27": ["09:00-15:00"]}

Readers never raise: problems go to ``problems`` and the result must not be used when any
was reported.
"""

from __future__ import annotations

from collections.abc import Collection

from router.calendar.cover_plan import CoverPlan
from router.calendar.opening_hours import Schedule
from router.config.errors import Problems
from router.config.hours_reader import read_hours
from router.config.reader import NAME, Fields, as_pattern, expected
from router.core.partners import Agreement

_KEYS_REQUIRED = ("name", "services", "cover")
_KEYS_OPTIONAL = ("region",)
_COVER_KEYS = ("timezone", "holidays", "exceptions")
_NAME_FORM = "name (letters, digits, '_', '.', '-'; starting with a letter or '_')"


def read_partners(
    problems: Problems,
    entries: list[tuple[str, object]],
    services: Collection[str] | None,
    timezone: str,
) -> tuple[dict[str, Agreement], set[str]]:
    """The agreements of the ``partners`` list (its entries with their paths), and the
    names of all entries, also those with problems (for checking agents' references
    without reporting one mistake twice). ``services`` are the region's (None: not
    checked)."""
    agreements: dict[str, Agreement] = {}
    names: set[str] = set()
    for path, value in entries:
        entry = Fields(problems, path, value, _KEYS_REQUIRED, _KEYS_OPTIONAL)
        if not entry.valid:
            continue
        name = None
        if entry.given("name"):
            name = as_pattern(problems, entry.at("name"), entry.raw("name"), NAME, _NAME_FORM)
        if name is not None and name in names:
            problems.add(entry.at("name"), f"duplicate agreement name {name!r}")
        if name is not None:
            names.add(name)
        named: set[str] = set()
        for where, raw in entry.items("services"):
            if not isinstance(raw, str):
                problems.add(where, expected("a service name", raw))
            elif services is not None and raw not in services:
                problems.add(
                    where, f"unknown service {raw!r}; expected one of: {', '.join(services)}"
                )
            else:
                named.add(raw)
        if isinstance(entry.raw("services"), list) and not entry.raw("services"):
            problems.add(entry.at("services"), "must name at least one service")
        cover = _cover(problems, entry, timezone)
        if name is not None and cover is not None and name not in agreements:
            agreements[name] = Agreement(
                name, frozenset(named), cover, entry.text("region", "") or ""
            )
    return agreements, names


def _cover(problems: Problems, entry: Fields, timezone: str) -> CoverPlan | None:
    raw = entry.raw("cover")
    if raw is None:
        return None
    block = Fields(problems, entry.at("cover"), raw, ("weekly",), _COVER_KEYS)
    if not block.valid or not block.has("weekly"):
        return None
    schedule: Schedule = read_hours(problems, entry.at("cover"), raw, timezone).default
    if schedule.weekly is None:
        return None  # reported: weekly is required
    return CoverPlan(
        schedule.zone.key,
        schedule.weekly,
        tuple(sorted(schedule.exceptions.items())),
        holidays_weekly=schedule.holidays is None,
    )
