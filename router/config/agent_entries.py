"""The ``agents:`` entries of the region file, and one agent for a live edit.

An agent names its team (and so its default site), its skills with proficiency, its
languages and authorisations from the catalogue, its capacity per channel, and
optionally the partner agreement it works under. Unknown names come back with the close
match when there is one.
"""

from __future__ import annotations

from collections.abc import Iterable

from router.config.errors import Problems, key_path
from router.config.known_names import Known, known_of, named, reference, unique, unknown
from router.config.reader import Fields, as_enum, as_int, as_text, did_you_mean
from router.config.region import Region
from router.config.shapes import MAX_CAPACITY, AgentShape, optional_keys, required_keys
from router.core.model import CHANNELS, AgentSpec, Channel
from skills import MAX_LEVEL, MIN_LEVEL, AgentAbilities

_AGENT_DEFAULTS = AgentSpec(id="", name="", site="", team="")
_AGENT_REQUIRED = required_keys(AgentShape)
_AGENT_OPTIONAL = optional_keys(AgentShape)


def read_agent(problems: Problems, path: str, value: object, region: Region) -> AgentSpec | None:
    """One agent in the shape of an entry of the ``agents:`` list, checked against
    ``region``'s catalogue, sites and teams by the same rules as the file (for a
    supervisor's live edit). Every problem goes to ``problems``, with paths under ``path``;
    the result is None when the value is unusable and must not be used when any problem
    was reported."""
    return _agent(problems, path, value, known_of(region, region.services))


def read_agents(problems: Problems, top: Fields, known: Known) -> dict[str, AgentSpec]:
    agents: dict[str, AgentSpec] = {}
    ids: list[tuple[str, str]] = []
    for index_path, value in top.items("agents"):
        path = named(index_path, value, "id")
        agent = _agent(problems, path, value, known)
        if agent is None:
            continue
        ids.append((key_path(path, "id"), agent.id))
        agents.setdefault(agent.id, agent)
    unique(problems, ids, "agent id")
    return agents


def _agent(problems: Problems, path: str, value: object, known: Known) -> AgentSpec | None:
    entry = Fields(problems, path, value, _AGENT_REQUIRED, _AGENT_OPTIONAL)
    if not entry.valid:
        return None
    agent_id = entry.ident("id")
    name = entry.text("name", "")
    display_name = entry.text("display_name", "")
    team = reference(problems, entry, "team", known.refs("teams", known.teams), "team")
    site = reference(problems, entry, "site", known.refs("sites", known.sites), "site")
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
            f"unknown partner agreement {partner!r}; "
            f"{did_you_mean(partner, known.agreements)}expected one of: {known_names}",
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
            problems.add(path, unknown("skill", skill, names))
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
            problems.add(path, unknown(what, name, allowed))
            continue
        names.append((path, name))
    unique(problems, names, what)
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
        count = as_int(problems, path, value, 0, MAX_CAPACITY, "capacity")
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
