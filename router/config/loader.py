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

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from router.config.agent_entries import read_agent, read_agents
from router.config.errors import Problems, key_path
from router.config.known_names import DEFAULT_TIMEZONE, Known, reference, unique
from router.config.partners import read_partners
from router.config.reader import NAME, NAME_FORM, Fields, as_enum, as_pattern, items
from router.config.region import Region, Site, Team
from router.config.service_entries import read_service, read_services
from router.config.tokens import read_tokens
from router.config.yaml_text import load_yaml, read_text
from router.core.model import DEFAULT_BLOCKS, Channel
from router.core.partners import gate_authorisations
from skills import SkillCatalogue

# One entry against a loaded region (a supervisor's live edit, a changed region file).
__all__ = ["DEFAULT_TIMEZONE", "load_region", "parse_region", "read_agent", "read_service"]

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


def load_region(path: str | Path) -> Region:
    """Reads and checks the region file at ``path``; raises :class:`ConfigError` listing
    every problem (or the file or YAML syntax error)."""
    text = read_text(path)
    problems = Problems(str(path))
    data = load_yaml(text, problems)
    return _build(data, problems)


def parse_region(data: object, source: str) -> Region:
    """Checks an already loaded document (``yaml.safe_load`` output) and builds the
    region; ``source`` names the file in problem messages."""
    return _build(data, Problems(source))


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
    known = Known(
        catalogue,
        broken,
        timezone=timezone,
        languages=None if "languages" in broken else languages,
    )
    known.sites = _sites(problems, top)
    known.teams = _teams(problems, top, known)
    blocks = _blocks(problems, top)
    services = read_services(problems, top, known)
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
    agents = read_agents(problems, top, known)
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
        name = as_pattern(problems, path, value, NAME, NAME_FORM)
        if name is not None:
            entries.append((path, name))
    if non_empty and top.raw(key) == []:
        problems.add(top.at(key), f"must list at least one {what}")
    unique(problems, entries, what)
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
    unique(problems, ids, "site id")
    return sites


def _teams(problems: Problems, top: Fields, known: Known) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    ids: list[tuple[str, str]] = []
    for path, value in top.items("teams"):
        entry = Fields(problems, path, value, ("id", "site", "name"))
        team_id = entry.ident("id")
        site = reference(problems, entry, "site", known.refs("sites", known.sites), "site")
        name = entry.text("name", "")
        if team_id is None:
            continue
        ids.append((entry.at("id"), team_id))
        teams.setdefault(team_id, Team(id=team_id, site=site or "", name=name))
    unique(problems, ids, "team id")
    return teams


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
