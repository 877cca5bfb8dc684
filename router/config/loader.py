"""Loads a region YAML file into a :class:`~router.config.region.Region`.

The whole file is checked before anything is refused: every problem is collected and
:class:`~router.config.errors.ConfigError` lists them all, one per line, as
``{source}: {path}: {reason}``. The schema (documented key by key in
``docs/configuration.md``)::

    region: {name: STR, timezone: IANA-NAME = Europe/Helsinki}
    languages: [CODE, ...]                  # non-empty; e.g. fi, sv, en
    skills: [NAME, ...]
    authorisations: [NAME, ...]             # optional; e.g. omaolo
    sites: [{id: ID, name: STR}, ...]       # optional
    teams: [{id: ID, site: SITE-ID, name: STR}, ...]            # optional
    channel_blocks: {CHANNEL: [CHANNEL, ...], ...}  # optional; default: a call or
                                                    # callback blocks every new offer
    services:                               # non-empty
      - name: ID
        requirement: EXPR                   # skills.expression syntax, e.g. "nursing>=2"
        urgencies: {CLASS: {target_s: N, redirect: STR?, warn_before_s: N?}, ...}
        default_urgency: CLASS              # optional when there is only one class
        steps:                              # default [{kind: region}]
          - {kind: STEP-KIND, duration_s: N?, relax_levels: 1..4?, overflow_to: SERVICE?}
            # duration_s: required except on the last step and on overflow steps
        agent_choice: longest_idle | highest_proficiency | least_occupied
        wrapup_s: N                 # default 0
        offer_timeout_s: N          # default 30, above 0
        decline_cooldown_s: N       # default 120
        timeout_cooldown_s: N       # default 0
        not_ready_on_decline: BOOL  # default false
        not_ready_on_timeout: BOOL  # default true
        warn_fraction: 0 <= N < 1   # default 0.2
        feedback: {after: [OUTCOME, ...], cooldown_days: N, ...}  # optional; see
                                    # router/config/feedback.py
    agents:                                 # optional
      - id: ID
        name: STR
        display_name: STR                   # optional; what chat customers see
                                            # (default: the first word of name)
        team: TEAM-ID
        site: SITE-ID                       # optional; default: the team's site
        skills: {SKILL: 1..5, ...}          # optional
        languages: [CODE, ...]              # non-empty
        authorisations: [NAME, ...]         # optional
        capacity: {CHANNEL: N >= 0, ...}    # default {voice: 1}; at least one above 0
        partner: NAME                       # optional; a partner region's agent under
                                            # that agreement
    partners:                               # optional; see router/config/partners.py
      - {name: NAME, region: STR, services: [SERVICE, ...], cover: {weekly: ...}}

A key set to ``null`` counts as absent unless it is required. Each top-level section is
read by its own small function; a new section (e.g. ``tokens`` or ``hours``) is a new
entry in ``TOP_LEVEL_OPTIONAL`` and a new function called from :func:`_build`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from router.calendar.opening_hours import ServiceHours
from router.calendar.rules import AfterHoursPolicy
from router.config.errors import ConfigError, Problems, key_path
from router.config.feedback import FeedbackPolicy, read_feedback
from router.config.hours_reader import read_after_hours, read_hours
from router.config.partners import read_partners
from router.config.reader import (
    IDENT,
    NAME,
    Fields,
    as_enum,
    as_int,
    as_pattern,
    as_text,
    items,
)
from router.config.region import Region, Site, Team
from router.config.tokens import read_tokens
from router.core.model import (
    CHANNELS,
    DEFAULT_BLOCKS,
    AgentChoice,
    AgentSpec,
    Channel,
    ServiceSpec,
    Step,
    StepKind,
    UrgencyClass,
)
from router.core.partners import gate_authorisations
from router.core.service_rules import WIDE_STEPS
from skills import (
    MAX_LEVEL,
    MIN_LEVEL,
    AgentAbilities,
    Requirement,
    RequirementError,
    SkillCatalogue,
    parse_requirement,
)

TOP_LEVEL_REQUIRED = ("region", "languages", "skills", "services")
TOP_LEVEL_OPTIONAL = (
    "authorisations",
    "sites",
    "teams",
    "channel_blocks",
    "agents",
    "tokens",
    "partners",
)
_REFERENCED = ("languages", "skills", "authorisations", "sites", "teams", "services")
_NON_EMPTY = ("languages", "services")

DEFAULT_TIMEZONE = "Europe/Helsinki"

# Defaults come from the core model, so the file and the engine never disagree.
_SERVICE_DEFAULTS = ServiceSpec(
    name="", requirement=Requirement.anyone(), urgencies={}, default_urgency=""
)
_AGENT_DEFAULTS = AgentSpec(id="", name="", site="", team="")
# Not the model's None (an old snapshot's "as a decline"): a timed-out offer does not
# cool down unless the file says so (docs/configuration.md says why).
TIMEOUT_COOLDOWN_S = 0.0
MAX_RELAX = MAX_LEVEL - MIN_LEVEL

_SERVICE_REQUIRED = ("name", "requirement", "urgencies")
_SERVICE_OPTIONAL = (
    "default_urgency",
    "steps",
    "agent_choice",
    "wrapup_s",
    "offer_timeout_s",
    "decline_cooldown_s",
    "timeout_cooldown_s",
    "not_ready_on_decline",
    "not_ready_on_timeout",
    "warn_fraction",
    "callback",
    "hours",
    "after_hours",
    "feedback",
)
_LIVE_ONLY_IN_FILE = ("hours", "after_hours")
_AGENT_REQUIRED = ("id", "name", "team", "languages")
_AGENT_OPTIONAL = ("site", "skills", "authorisations", "capacity", "display_name", "partner")

_ID_FORM = "id (letters, digits, '_', '.', '-'; starting with a letter or digit)"
_NAME_FORM = "name (letters, digits, '_', '.', '-'; starting with a letter or '_')"


def load_region(path: str | Path) -> Region:
    """Reads and checks the region file at ``path``; raises :class:`ConfigError` listing
    every problem (or the file or YAML syntax error)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{source}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{source}: byte {exc.start}: not valid UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read file: {exc.strerror or exc}"]) from None
    problems = Problems(source)
    data = _load_yaml(text, problems)
    return _build(data, problems)


def parse_region(data: object, source: str) -> Region:
    """Checks an already loaded document (``yaml.safe_load`` output) and builds the
    region; ``source`` names the file in problem messages."""
    return _build(data, Problems(source))


# --- one entry against a loaded region (live edits) ---------------------------------------


def read_agent(problems: Problems, path: str, value: object, region: Region) -> AgentSpec | None:
    """One agent in the shape of an entry of the ``agents:`` list, checked against
    ``region``'s catalogue, sites and teams by the same rules as the file (for a
    supervisor's live edit). Every problem goes to ``problems``, with paths under ``path``;
    the result is None when the value is unusable and must not be used when any problem
    was reported."""
    return _agent(problems, path, value, _known_of(region, region.services))


def read_service(
    problems: Problems,
    path: str,
    value: object,
    region: Region,
    services: Mapping[str, ServiceSpec] | None = None,
) -> ServiceSpec | None:
    """One service in the shape of an entry of the ``services:`` list, checked by the same
    rules as the file against ``region``'s catalogue. ``services`` are the services as they
    are now (default: the region's), for overflow targets and loops; the entry replaces
    the one of the same name among them. Every problem goes to ``problems``, with paths
    under ``path``; the result is None when the value is unusable and must not be used
    when any problem was reported."""
    current = region.services if services is None else services
    if isinstance(value, dict) and "name" in value:
        as_pattern(problems, key_path(path, "name"), value["name"], IDENT, _ID_FORM)
    for key in _LIVE_ONLY_IN_FILE:
        if isinstance(value, dict) and key in value:
            problems.add(key_path(path, key), "opening hours are set in the region file")
    if isinstance(value, dict) and "feedback" in value:
        problems.add(key_path(path, "feedback"), "the feedback survey is set in the region file")
    spec, targets = _service(problems, path, value, _known_of(region, current))
    if spec is not None:
        _loops_through(problems, spec.name, targets, current)
    return spec


def _known_of(region: Region, services: Iterable[str]) -> _Known:
    return _Known(
        region.catalogue,
        frozenset(),
        dict(region.sites),
        dict(region.teams),
        list(services),
        agreements=set(region.agreements),
    )


def _loops_through(
    problems: Problems,
    name: str,
    targets: list[tuple[str, str]],
    services: Mapping[str, ServiceSpec],
) -> None:
    """Reports overflow loops that the new steps of service ``name`` would close (the
    other services, already checked, have none among themselves)."""
    graph = {
        other: [s.overflow_to for s in spec.steps if s.overflow_to is not None]
        for other, spec in services.items()
        if other != name
    }

    def route(start: str, seen: set[str]) -> list[str] | None:
        if start == name:
            return [name]
        if start in seen:
            return None
        seen.add(start)
        for nxt in graph.get(start, []):
            rest = route(nxt, seen)
            if rest is not None:
                return [start, *rest]
        return None

    for target_path, target in targets:
        loop = route(target, set())
        if loop is not None:
            problems.add(target_path, f"overflow loop: {' -> '.join((name, *loop))}")


# --- YAML ------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also records duplicate mapping keys, which plain YAML
    loading resolves silently by keeping the last value."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, int, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # unhashable key; SafeConstructor reports it
                continue
            if repeated:
                mark = key_node.start_mark
                self.duplicate_keys.append((mark.line + 1, mark.column + 1, str(key)))
        return dict(super().construct_mapping(node, deep))


def _load_yaml(text: str, problems: Problems) -> object:
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(
            [
                f"{problems.source}: line {line}, column {column}: "
                f"unacceptable character #x{exc.character:04x}: {exc.reason}"
            ]
        ) from None
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            where = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
            reason = f"{reason} ({exc.context} at {where})"
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ConfigError([f"{problems.source}: {where}: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{problems.source}: invalid YAML: {exc}"]) from None
    except ValueError as exc:  # a date-like scalar that is no date, e.g. 2026-02-30
        raise ConfigError(
            [f'{problems.source}: invalid YAML value: {exc} (quote dates: "2026-12-24")']
        ) from None
    finally:
        loader.dispose()
    for line, column, key in loader.duplicate_keys:
        problems.add(
            f"line {line}, column {column}",
            f"duplicate key {key!r} (YAML would silently keep only the last value)",
        )
    return data


# --- the document ----------------------------------------------------------------------


@dataclass(slots=True)
class _Known:
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


def _build(data: object, problems: Problems) -> Region:
    if data is None:
        problems.add(
            "",
            "the document is empty; expected a mapping with keys: "
            + ", ".join((*TOP_LEVEL_REQUIRED, *TOP_LEVEL_OPTIONAL)),
        )
        problems.raise_if_any()
    top = Fields(problems, "", data, TOP_LEVEL_REQUIRED, TOP_LEVEL_OPTIONAL)
    name, timezone = _region_section(problems, top)
    languages = _names(problems, top, "languages", "language", non_empty=True)
    catalogue = SkillCatalogue(
        _names(problems, top, "skills", "skill"),
        languages,
        _names(problems, top, "authorisations", "authorisation"),
    )
    broken = frozenset(
        key
        for key in _REFERENCED
        if ((top.given(key) or key in TOP_LEVEL_REQUIRED) and not isinstance(top.raw(key), list))
        or (key in _NON_EMPTY and top.raw(key) == [])
    )
    known = _Known(
        catalogue,
        broken,
        timezone=timezone,
        languages=None if "languages" in broken else languages,
    )
    known.sites = _sites(problems, top)
    known.teams = _teams(problems, top, known)
    blocks = _blocks(problems, top)
    services = _services(problems, top, known)
    agreements, agreement_names = read_partners(
        problems,
        top.items("partners"),
        None if "services" in broken else list(services),
        timezone,
    )
    for gate in gate_authorisations(agreements):
        if gate in catalogue.authorisations:
            problems.add(
                top.at("authorisations"),
                f"{gate!r} is reserved for partner agreements (router.core.partners); "
                "rename your authorisation",
            )
    if agreements:
        # The gates (router.core.partners) are authorisations after the file's own.
        catalogue = SkillCatalogue(
            catalogue.skills,
            catalogue.languages,
            (*catalogue.authorisations, *gate_authorisations(agreements)),
        )
    known.agreements = agreement_names
    agents = _agents(problems, top, known)
    tokens = read_tokens(
        problems,
        top,
        None if "agents" in broken else set(agents),
        None if "authorisations" in broken else set(catalogue.authorisations),
    )
    problems.raise_if_any()
    return Region(
        name=name,
        timezone=timezone,
        languages=languages,
        catalogue=catalogue,
        sites=known.sites,
        teams=known.teams,
        services=services,
        agents=agents,
        blocks=blocks,
        tokens=tokens,
        source=problems.source,
        hours=known.hours,
        after_hours=known.after_hours,
        feedback=known.feedback,
        agreements=agreements,
    )


def _known_list(names: Iterable[str], limit: int = 20) -> str:
    shown = list(names)
    if not shown:
        return "(none)"
    text = ", ".join(shown[:limit])
    return text + f", ... ({len(shown) - limit} more)" if len(shown) > limit else text


def _unique(problems: Problems, entries: Iterable[tuple[str, str]], what: str) -> set[str]:
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


def _region_section(problems: Problems, top: Fields) -> tuple[str, str]:
    if not top.has("region"):
        return "", DEFAULT_TIMEZONE
    section = Fields(problems, "region", top.raw("region"), ("name",), ("timezone",))
    name = section.text("name", "")
    timezone = section.text("timezone", DEFAULT_TIMEZONE)
    if section.given("timezone") and not _valid_timezone(timezone):
        problems.add(
            section.at("timezone"),
            f"unknown time zone {timezone!r}; use an IANA name such as {DEFAULT_TIMEZONE}",
        )
    return name, timezone


def _valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Without any time zone database installed nothing can be checked.
        return not available_timezones()
    return True


def _names(
    problems: Problems, top: Fields, key: str, what: str, *, non_empty: bool = False
) -> tuple[str, ...]:
    """A catalogue list (skills, languages, authorisations): unique names that
    requirement expressions can refer to."""
    entries: list[tuple[str, str]] = []
    for path, value in top.items(key):
        name = as_pattern(problems, path, value, NAME, _NAME_FORM)
        if name is not None:
            entries.append((path, name))
    if non_empty and top.raw(key) == []:
        problems.add(top.at(key), f"must list at least one {what}")
    _unique(problems, entries, what)
    return tuple(dict.fromkeys(name for _, name in entries))


def _sites(problems: Problems, top: Fields) -> dict[str, Site]:
    sites: dict[str, Site] = {}
    ids: list[tuple[str, str]] = []
    for path, value in top.items("sites"):
        entry = Fields(problems, path, value, ("id", "name"))
        site_id = entry.ident("id")
        name = entry.text("name", "")
        if site_id is None:
            continue
        ids.append((entry.at("id"), site_id))
        sites.setdefault(site_id, Site(id=site_id, name=name))
    _unique(problems, ids, "site id")
    return sites


def _teams(problems: Problems, top: Fields, known: _Known) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    ids: list[tuple[str, str]] = []
    for path, value in top.items("teams"):
        entry = Fields(problems, path, value, ("id", "site", "name"))
        team_id = entry.ident("id")
        site = _reference(problems, entry, "site", known.refs("sites", known.sites), "site")
        name = entry.text("name", "")
        if team_id is None:
            continue
        ids.append((entry.at("id"), team_id))
        teams.setdefault(team_id, Team(id=team_id, site=site or "", name=name))
    _unique(problems, ids, "team id")
    return teams


def _reference(
    problems: Problems, entry: Fields, key: str, known: Iterable[str] | None, what: str
) -> str | None:
    """The id at ``key`` if it names one of ``known`` (anything when ``known`` is None);
    None (and a problem) otherwise."""
    value = entry.text(key)
    if value is None or known is None:
        return value
    names = list(known)
    if value not in names:
        problems.add(
            entry.at(key), f"unknown {what} {value!r}; known {what}s: {_known_list(names)}"
        )
        return None
    return value


def _blocks(problems: Problems, top: Fields) -> dict[Channel, frozenset[Channel]]:
    if not top.given("channel_blocks"):
        return dict(DEFAULT_BLOCKS)
    mapping = top.mapping("channel_blocks")
    if mapping is None:
        return dict(DEFAULT_BLOCKS)
    blocks: dict[Channel, frozenset[Channel]] = {}
    for key, value in mapping.items():
        path = key_path("channel_blocks", key)
        channel = as_enum(problems, path, key, Channel, "channel")
        blocked: set[Channel] = set()
        for item_path, item in items(problems, path, value):
            other = as_enum(problems, item_path, item, Channel, "channel")
            if other is not None:
                blocked.add(other)
        if channel is not None:
            blocks[channel] = frozenset(blocked)
    return blocks


# --- services --------------------------------------------------------------------------


def _services(problems: Problems, top: Fields, known: _Known) -> dict[str, ServiceSpec]:
    entries = top.items("services")
    if top.raw("services") == []:
        problems.add(top.at("services"), "must define at least one service")
    # Names first: overflow steps may refer to services defined further down.
    names: list[tuple[str, str]] = []
    for path, value in entries:
        if isinstance(value, dict) and "name" in value:
            name = as_pattern(problems, key_path(path, "name"), value["name"], IDENT, _ID_FORM)
            if name is not None:
                names.append((key_path(path, "name"), name))
    repeats = _unique(problems, names, "service name")
    known.services = list(dict.fromkeys(name for _, name in names))
    services: dict[str, ServiceSpec] = {}
    overflows: dict[str, list[tuple[str, str]]] = {}
    for path, value in entries:
        spec, targets = _service(problems, path, value, known)
        if spec is not None and key_path(path, "name") not in repeats:
            services[spec.name] = spec
            overflows[spec.name] = targets
    _overflow_loops(problems, overflows)
    return services


def _service(
    problems: Problems, path: str, value: object, known: _Known
) -> tuple[ServiceSpec | None, list[tuple[str, str]]]:
    """One service, and its overflow targets as (path, service) for the loop check."""
    entry = Fields(problems, path, value, _SERVICE_REQUIRED, _SERVICE_OPTIONAL)
    if not entry.valid:
        return None, []
    # The name was checked with the other names; read it quietly.
    raw_name = entry.raw("name")
    name = raw_name if isinstance(raw_name, str) and IDENT.fullmatch(raw_name) else None
    requirement = _requirement(problems, entry, known.checked_catalogue())
    urgencies = _urgencies(problems, entry)
    default_urgency = _default_urgency(problems, entry, urgencies)
    steps, targets = _steps(problems, entry, name, known)
    warn_fraction = entry.number("warn_fraction", _SERVICE_DEFAULTS.warn_fraction)
    if warn_fraction >= 1:
        problems.add(entry.at("warn_fraction"), f"must be below 1, got {warn_fraction!r}")
    callback = Fields(
        problems,
        entry.at("callback"),
        entry.raw("callback") or {},
        (),
        ("attempts", "retry_s", "window_s"),
    )
    attempts = callback.integer("attempts", _SERVICE_DEFAULTS.callback_attempts, 1, 20)
    if name is not None:
        known.hours[name] = read_hours(
            problems, entry.at("hours"), entry.raw("hours"), known.timezone
        )
        known.after_hours[name] = read_after_hours(
            problems,
            entry.at("after_hours"),
            entry.raw("after_hours"),
            # Not checked against a broken urgency list: one mistake, one report.
            urgencies.keys() if urgencies else None,
        )
        feedback = read_feedback(
            problems, entry.at("feedback"), entry.raw("feedback"), known.languages
        )
        if feedback is not None:
            known.feedback[name] = feedback
    spec = ServiceSpec(
        name=name or "",
        requirement=requirement,
        urgencies=urgencies,
        default_urgency=default_urgency,
        steps=steps,
        agent_choice=entry.enum(
            "agent_choice", AgentChoice, "agent choice", _SERVICE_DEFAULTS.agent_choice
        ),
        wrapup_s=entry.number("wrapup_s", _SERVICE_DEFAULTS.wrapup_s),
        offer_timeout_s=entry.number(
            "offer_timeout_s", _SERVICE_DEFAULTS.offer_timeout_s, positive=True
        ),
        decline_cooldown_s=entry.number("decline_cooldown_s", _SERVICE_DEFAULTS.decline_cooldown_s),
        timeout_cooldown_s=entry.number("timeout_cooldown_s", TIMEOUT_COOLDOWN_S),
        not_ready_on_decline=entry.flag(
            "not_ready_on_decline", _SERVICE_DEFAULTS.not_ready_on_decline
        ),
        not_ready_on_timeout=entry.flag(
            "not_ready_on_timeout", _SERVICE_DEFAULTS.not_ready_on_timeout
        ),
        warn_fraction=warn_fraction,
        callback_attempts=attempts,
        callback_retry_s=callback.number(
            "retry_s", _SERVICE_DEFAULTS.callback_retry_s, positive=True
        ),
        callback_window_s=callback.number(
            "window_s", _SERVICE_DEFAULTS.callback_window_s, positive=True
        ),
    )
    return (spec if name is not None else None), targets


def _requirement(
    problems: Problems, entry: Fields, catalogue: SkillCatalogue | None
) -> Requirement:
    text = entry.text("requirement")
    if text is None:
        return Requirement.anyone()
    try:
        return parse_requirement(text, catalogue)
    except RequirementError as exc:
        problems.add(entry.at("requirement"), str(exc))
        return Requirement.anyone()


def _urgencies(problems: Problems, entry: Fields) -> dict[str, UrgencyClass]:
    mapping = entry.mapping("urgencies")
    if mapping is None:
        return {}
    if not mapping:
        problems.add(entry.at("urgencies"), "must define at least one urgency class")
    urgencies: dict[str, UrgencyClass] = {}
    for name, value in mapping.items():
        path = entry.at(f"urgencies.{name}")
        if IDENT.fullmatch(name) is None:
            problems.add(path, f"{name!r} is not a valid urgency class {_ID_FORM}")
            continue
        spec = Fields(problems, path, value, ("target_s",), ("redirect", "warn_before_s"))
        urgencies[name] = UrgencyClass(
            name=name,
            target_s=spec.number("target_s", 0.0),
            redirect=spec.text("redirect"),
            warn_before_s=spec.number("warn_before_s"),
        )
    return urgencies


def _default_urgency(
    problems: Problems, entry: Fields, urgencies: Mapping[str, UrgencyClass]
) -> str:
    if not entry.given("default_urgency"):
        if len(urgencies) == 1:
            return next(iter(urgencies))
        if len(urgencies) > 1:
            problems.add(
                entry.at("default_urgency"),
                "required key is missing (the service has more than one urgency class)",
            )
        return ""
    name = entry.text("default_urgency")
    if name is None or not urgencies:
        return name or ""
    if name not in urgencies:
        problems.add(
            entry.at("default_urgency"),
            f"unknown urgency class {name!r}; expected one of: {_known_list(urgencies)}",
        )
    elif urgencies[name].redirect is not None:
        problems.add(
            entry.at("default_urgency"),
            f"urgency class {name!r} redirects to {urgencies[name].redirect}; "
            "the default class must queue",
        )
    return name


def _steps(
    problems: Problems, entry: Fields, service: str | None, known: _Known
) -> tuple[tuple[Step, ...], list[tuple[str, str]]]:
    if not entry.given("steps"):
        return _SERVICE_DEFAULTS.steps, []
    entries = entry.items("steps")
    if not entries:
        if entry.raw("steps") == []:
            problems.add(entry.at("steps"), "must contain at least one step")
        return _SERVICE_DEFAULTS.steps, []
    steps: list[Step] = []
    targets: list[tuple[str, str]] = []
    kinds: set[StepKind] = set()
    all_kinds_valid = True
    for index, (path, value) in enumerate(entries):
        last = index == len(entries) - 1
        step, target = _step(problems, path, value, last, service, known)
        if step is None:
            all_kinds_valid = False
            continue
        kinds.add(step.kind)
        steps.append(step)
        if target is not None:
            targets.append(target)
    if all_kinds_valid and not kinds & WIDE_STEPS:
        problems.add(
            entry.at("steps"),
            "needs a region, relaxed or overflow step; own_agent, own_team and own_site "
            "steps alone never reach the rest of the region",
        )
    return tuple(steps), targets


def _step(
    problems: Problems, path: str, value: object, last: bool, service: str | None, known: _Known
) -> tuple[Step | None, tuple[str, str] | None]:
    entry = Fields(problems, path, value, ("kind",), ("duration_s", "relax_levels", "overflow_to"))
    if not entry.valid or not entry.has("kind"):
        return None, None
    kind = as_enum(problems, entry.at("kind"), entry.raw("kind"), StepKind, "step kind")
    duration = entry.number("duration_s")
    # An overflow step takes no time (the contact moves on reaching it), so it may omit
    # its duration anywhere; a later step is only used when the target cannot be.
    if not entry.given("duration_s") and not last and kind is not StepKind.OVERFLOW:
        problems.add(
            entry.at("duration_s"),
            "required on every step but the last (a step without a duration lasts for good)",
        )
    if kind is None:
        return None, None
    relax_levels = 0
    if kind is StepKind.RELAXED:
        relax_levels = entry.integer("relax_levels", 1, 1, MAX_RELAX)
    elif entry.given("relax_levels"):
        problems.add(entry.at("relax_levels"), "only allowed on relaxed steps")
    overflow_to: str | None = None
    target: tuple[str, str] | None = None
    if kind is StepKind.OVERFLOW:
        if not entry.given("overflow_to"):
            problems.add(
                entry.at("overflow_to"), "required on overflow steps (the service to move to)"
            )
        else:
            overflow_to = as_text(problems, entry.at("overflow_to"), entry.raw("overflow_to"))
        if overflow_to is not None and service is not None and overflow_to == service:
            problems.add(entry.at("overflow_to"), "a service cannot overflow to itself")
        elif overflow_to is not None and overflow_to not in known.services:
            problems.add(
                entry.at("overflow_to"),
                f"unknown service {overflow_to!r}; known services: {_known_list(known.services)}",
            )
        elif overflow_to is not None:
            target = (entry.at("overflow_to"), overflow_to)
    elif entry.given("overflow_to"):
        problems.add(entry.at("overflow_to"), "only allowed on overflow steps")
    step = Step(kind=kind, duration_s=duration, relax_levels=relax_levels, overflow_to=overflow_to)
    return step, target


def _overflow_loops(problems: Problems, overflows: Mapping[str, list[tuple[str, str]]]) -> None:
    """Reports each cycle of overflow steps once: contacts would bounce for ever."""
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        trail.append(name)
        for path, target in overflows.get(name, []):
            if state.get(target) == 1:
                # trail[start:] runs from target to this service; start the loop here.
                cycle = trail[trail.index(target) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    loop = " -> ".join((name, *cycle[:-1], name))
                    problems.add(path, f"overflow loop: {loop}")
            elif target not in state:
                visit(target, trail)
        trail.pop()
        state[name] = 2

    for name in overflows:
        if name not in state:
            visit(name, [])


# --- agents ----------------------------------------------------------------------------


def _agents(problems: Problems, top: Fields, known: _Known) -> dict[str, AgentSpec]:
    agents: dict[str, AgentSpec] = {}
    ids: list[tuple[str, str]] = []
    for path, value in top.items("agents"):
        agent = _agent(problems, path, value, known)
        if agent is None:
            continue
        ids.append((key_path(path, "id"), agent.id))
        agents.setdefault(agent.id, agent)
    _unique(problems, ids, "agent id")
    return agents


def _agent(problems: Problems, path: str, value: object, known: _Known) -> AgentSpec | None:
    entry = Fields(problems, path, value, _AGENT_REQUIRED, _AGENT_OPTIONAL)
    if not entry.valid:
        return None
    agent_id = entry.ident("id")
    name = entry.text("name", "")
    display_name = entry.text("display_name", "")
    team = _reference(problems, entry, "team", known.refs("teams", known.teams), "team")
    site = _reference(problems, entry, "site", known.refs("sites", known.sites), "site")
    if site is None and not entry.given("site") and team in known.teams:
        site = known.teams[team].site
    cat = known.catalogue
    abilities = AgentAbilities(
        skills=_agent_skills(problems, entry, known.refs("skills", cat.skills)),
        languages=_agent_names(
            problems, entry, "languages", known.refs("languages", cat.languages), "language"
        ),
        authorisations=_agent_names(
            problems,
            entry,
            "authorisations",
            known.refs("authorisations", cat.authorisations),
            "authorisation",
        ),
    )
    if entry.raw("languages") == []:
        problems.add(entry.at("languages"), "must list at least one language")
    capacity = _capacity(problems, entry)
    partner = entry.text("partner", "")
    if partner and partner not in known.agreements:
        known_names = ", ".join(sorted(known.agreements)) or "(none: add a partners section)"
        problems.add(
            entry.at("partner"),
            f"unknown partner agreement {partner!r}; expected one of: {known_names}",
        )
    if agent_id is None:
        return None
    return AgentSpec(
        id=agent_id,
        name=name,
        site=site or "",
        team=team or "",
        abilities=abilities,
        capacity=capacity,
        display_name=display_name or "",
        partner=partner,
    )


def _agent_skills(problems: Problems, entry: Fields, known: Iterable[str] | None) -> dict[str, int]:
    mapping = entry.mapping("skills")
    if mapping is None:
        return {}
    names = None if known is None else list(known)
    skills: dict[str, int] = {}
    for skill, level in mapping.items():
        path = entry.at(f"skills.{skill}")
        if names is not None and skill not in names:
            problems.add(path, f"unknown skill {skill!r}; known skills: {_known_list(names)}")
            continue
        checked = as_int(problems, path, level, MIN_LEVEL, MAX_LEVEL, "proficiency")
        if checked is not None:
            skills[skill] = checked
    return skills


def _agent_names(
    problems: Problems, entry: Fields, key: str, known: Iterable[str] | None, what: str
) -> frozenset[str]:
    allowed = None if known is None else list(known)
    names: list[tuple[str, str]] = []
    for path, value in entry.items(key):
        name = as_text(problems, path, value)
        if name is None:
            continue
        if allowed is not None and name not in allowed:
            problems.add(path, f"unknown {what} {name!r}; known {what}s: {_known_list(allowed)}")
            continue
        names.append((path, name))
    _unique(problems, names, what)
    return frozenset(name for _, name in names)


def _capacity(problems: Problems, entry: Fields) -> dict[Channel, int]:
    if not entry.given("capacity"):
        return dict(_AGENT_DEFAULTS.capacity)
    mapping = entry.mapping("capacity")
    if mapping is None:
        return dict(_AGENT_DEFAULTS.capacity)
    capacity: dict[Channel, int] = {}
    all_valid = True
    for key, value in mapping.items():
        path = entry.at(f"capacity.{key}")
        channel = as_enum(problems, path, key, Channel, "channel")
        count = as_int(problems, path, value, 0, None, "capacity")
        if channel is None or count is None:
            all_valid = False
            continue
        capacity[channel] = count
    if all_valid and not any(count > 0 for count in capacity.values()):
        problems.add(
            entry.at("capacity"),
            f"at least one channel must have capacity above 0 (channels: {', '.join(CHANNELS)})",
        )
    return capacity
