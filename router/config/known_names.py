"""What the region file has named so far, and the checks of names against it.

Sections are read in order (catalogue, sites, teams, services, partners, agents); each
later one refers to names an earlier one defined. :class:`Known` carries those names;
:func:`reference` and :func:`unknown` check one name and, for a near miss, suggest the
close one ("did you mean 'nursing'?"); :func:`unique` reports repeated ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from router.calendar.opening_hours import ServiceHours
from router.calendar.rules import AfterHoursPolicy
from router.config.errors import Problems
from router.config.feedback import FeedbackPolicy
from router.config.reader import Fields, did_you_mean
from router.config.region import Region, Site, Team
from skills import SkillCatalogue

DEFAULT_TIMEZONE = "Europe/Helsinki"


@dataclass(slots=True)
class Known:
    """What earlier sections established, for checking references in later ones.
    ``broken`` holds the list sections that are missing or not lists: references to
    them are not checked, so one mistake does not come back as a hundred."""

    catalogue: SkillCatalogue
    broken: frozenset[str] = frozenset()
    sites: dict[str, Site] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    timezone: str = DEFAULT_TIMEZONE
    hours: dict[str, ServiceHours] = field(default_factory=dict)
    after_hours: dict[str, AfterHoursPolicy] = field(default_factory=dict)
    feedback: dict[str, FeedbackPolicy] = field(default_factory=dict)
    languages: tuple[str, ...] | None = None  # None: the section is broken
    agreements: set[str] = field(default_factory=set)  # the partners section's names

    def refs(self, section: str, names: Iterable[str]) -> Iterable[str] | None:
        """``names`` to check references against, or None when ``section`` is broken."""
        return None if section in self.broken else names

    def checked_catalogue(self) -> SkillCatalogue | None:
        """The catalogue to check names against, or None when part of it is broken."""
        if self.broken & {"skills", "languages", "authorisations"}:
            return None
        return self.catalogue


def known_of(region: Region, services: Iterable[str]) -> Known:
    """The names of a loaded region, for checking one entry of a live edit."""
    return Known(
        region.catalogue,
        frozenset(),
        dict(region.sites),
        dict(region.teams),
        list(services),
        agreements=set(region.agreements),
    )


def named(path: str, value: object, key: str) -> str:
    """The path of a list entry with its name when it has one, so a problem says which
    entry it is without counting: ``agents[17] (a018)``."""
    name = value.get(key) if isinstance(value, dict) else None
    if isinstance(name, str) and name.strip():
        return f"{path} ({name})"
    return path


def known_list(names: Iterable[str], limit: int = 20) -> str:
    shown = list(names)
    if not shown:
        return "(none)"
    text = ", ".join(shown[:limit])
    return text + f", ... ({len(shown) - limit} more)" if len(shown) > limit else text


def unknown(what: str, name: str, names: Iterable[str]) -> str:
    """The reason for an unknown ``what`` called ``name``: a close match when there is
    one, then the known names (``unknown skill 'nursin'; did you mean 'nursing'? known
    skills: ...``)."""
    shown = list(names)
    return f"unknown {what} {name!r}; {did_you_mean(name, shown)}known {what}s: {known_list(shown)}"


def unique(problems: Problems, entries: Iterable[tuple[str, str]], what: str) -> set[str]:
    """Reports repeated ids among (path, id) entries; returns the paths of repeats."""
    first: dict[str, str] = {}
    repeats: set[str] = set()
    for path, value in entries:
        if value in first:
            problems.add(path, f"duplicate {what} {value!r} (first defined at {first[value]})")
            repeats.add(path)
        else:
            first[value] = path
    return repeats


def reference(
    problems: Problems, entry: Fields, key: str, known: Iterable[str] | None, what: str
) -> str | None:
    """The id at ``key`` if it names one of ``known`` (anything when ``known`` is None);
    None (and a problem) otherwise."""
    value = entry.text(key)
    if value is None or known is None:
        return value
    names = list(known)
    if value not in names:
        problems.add(entry.at(key), unknown(what, value, names))
        return None
    return value
