"""The region configuration loader and the sample region in config/region.yaml.

Bad configurations are built by copying the sample document and changing one thing, and
each test checks the exact problem lines, so the messages are part of the contract."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from router.config import ConfigError, Region, Site, Team, load_region, parse_region
from router.config.tokens import Role, hash_token
from router.core.model import (
    DEFAULT_BLOCKS,
    AgentChoice,
    Channel,
    StepKind,
)
from router.core.policy import RoutingPolicy
from skills import Requirement, Term

SAMPLE = Path(__file__).resolve().parent.parent / "config" / "region.yaml"
SRC = "config/region.yaml"

Doc = dict[str, Any]
SKILLS = [
    "nursing",
    "dental",
    "child_family",
    "mental_health",
    "substance_use",
    "social_work",
    "prescriptions",
    "appointments",
]
_DROP = object()


@pytest.fixture(scope="module")
def sample_doc() -> Doc:
    doc = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def region() -> Region:
    return load_region(SAMPLE)


@pytest.fixture
def doc(sample_doc: Doc) -> Doc:
    """The sample without its tokens (they refer to agents that many cases edit away;
    tokens have tests of their own)."""
    edited = copy.deepcopy(sample_doc)
    edited.pop("tokens", None)
    return edited


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [m[1] if m[1] is not None else int(m[2]) for m in _PART.finditer(path)]


def put(doc: Doc, path: str, value: object) -> None:
    """Sets the value at a problem-style path ("agents[3].skills.nursing"); ``_DROP``
    removes the key or list item instead."""
    *parents, last = _parts(path)
    node: Any = doc
    for part in parents:
        node = node[part]
    if value is _DROP:
        del node[last]
    else:
        node[last] = value


def problems(doc: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_region(doc, SRC)
    message = str(info.value)
    assert message == "\n".join(info.value.problems)
    return info.value.problems


def lines(*items: str) -> list[str]:
    return [f"{SRC}: {item}" for item in items]


def index_of(doc: Doc, section: str, key: str, value: str) -> int:
    for i, entry in enumerate(doc[section]):
        if entry[key] == value:
            return i
    raise LookupError(value)


# --- the sample region --------------------------------------------------------------------


def test_sample_region_loads_with_the_expected_shape(region: Region) -> None:
    assert region.name.startswith("Pohjanmaan hyvinvointialue")
    assert region.timezone == "Europe/Helsinki"
    assert region.languages == ("fi", "sv", "en")
    assert region.catalogue.skills == tuple(SKILLS)
    assert len(region.sites) >= 5
    assert len(region.agents) >= 35
    assert set(region.services) == {
        "nursing_advice",
        "symptom_assessment",
        "oral_health",
        "child_family",
        "mental_health",
        "social_services",
        "prescriptions",
        "appointments",
    }
    assert all(isinstance(site, Site) for site in region.sites.values())
    assert all(isinstance(team, Team) for team in region.teams.values())
    for agent in region.agents.values():
        assert agent.site in region.sites
        assert agent.team in region.teams
        assert agent.abilities.languages
        assert any(count > 0 for count in agent.capacity.values())


def test_sample_region_policy(region: Region) -> None:
    policy = region.policy()
    assert isinstance(policy, RoutingPolicy)
    assert policy.catalogue is region.catalogue
    assert dict(policy.services) == dict(region.services)
    assert dict(policy.agents) == dict(region.agents)
    assert dict(policy.blocks) == dict(DEFAULT_BLOCKS)
    # the partner agreement adds its gates (router.core.partners) after the file's own
    assert region.catalogue.authorisations == ("omaolo", "own-region", "partner.keski-pohjanmaa")


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_every_service_has_agents_in_both_national_languages(region: Region, language: str) -> None:
    catalogue = region.catalogue
    masks = [catalogue.agent_mask(agent.abilities) for agent in region.agents.values()]
    for service in region.services.values():
        needed = service.requirement.all_of(Requirement.term(Term("lang", language)))
        compiled = needed.compile(catalogue)
        assert any(compiled.matches(mask) for mask in masks), (service.name, language)


def test_sample_staff_mix(region: Region) -> None:
    agents = list(region.agents.values())
    langs = [agent.abilities.languages for agent in agents]
    assert sum(ls == {"fi"} for ls in langs) >= 8
    assert sum({"fi", "sv"} <= ls for ls in langs) >= 15
    assert sum("en" in ls for ls in langs) >= 3
    omaolo = [a for a in agents if "omaolo" in a.abilities.authorisations]
    assert 3 <= len(omaolo) < len(agents) / 2
    assert all(a.capacity.get(Channel.VOICE, 0) <= 1 for a in agents)
    assert max(a.capacity.get(Channel.CHAT, 0) for a in agents) == 3
    assert max(a.capacity.get(Channel.WORKITEM, 0) for a in agents) == 5


def test_sample_urgency_classes_and_steps(region: Region) -> None:
    for name in ("nursing_advice", "symptom_assessment"):
        service = region.services[name]
        assert list(service.urgencies) == [f"P{i}" for i in range(9)]
        assert service.urgencies["P0"].redirect == "112"
        targets = [service.urgencies[f"P{i}"].target_s for i in range(1, 9)]
        assert targets == sorted(targets)
        assert service.urgencies[service.default_urgency].redirect is None
    assert str(region.services["symptom_assessment"].requirement) == "auth:omaolo & nursing>=3"
    mental = region.services["mental_health"]
    assert mental.steps[-1].kind is StepKind.OVERFLOW
    assert mental.steps[-1].overflow_to == "nursing_advice"
    nursing = region.services["nursing_advice"]
    assert [s.kind for s in nursing.steps] == [
        StepKind.OWN_SITE,
        StepKind.REGION,
        StepKind.RELAXED,
    ]
    assert nursing.steps[0].duration_s == 90.0
    assert nursing.steps[-1].duration_s is None
    assert nursing.steps[-1].relax_levels == 1
    # A single urgency class needs no default_urgency.
    assert region.services["prescriptions"].default_urgency == "normal"


# --- defaults and optional keys ----------------------------------------------------------


def test_defaults_come_from_the_core_model(doc: Doc) -> None:
    i = index_of(doc, "services", "name", "oral_health")
    for key in ("steps", "agent_choice", "wrapup_s", "offer_timeout_s"):
        doc["services"][i].pop(key, None)
    del doc["channel_blocks"]
    put(doc, "agents[0].capacity", _DROP)
    region = parse_region(doc, SRC)
    service = region.services["oral_health"]
    assert [s.kind for s in service.steps] == [StepKind.REGION]
    assert service.steps[0].duration_s is None
    assert service.agent_choice is AgentChoice.LONGEST_IDLE
    assert service.wrapup_s == 0.0
    assert service.offer_timeout_s == 30.0
    assert service.decline_cooldown_s == 120.0
    assert service.not_ready_on_decline is False
    assert service.not_ready_on_timeout is True
    assert service.timeout_cooldown_s == 0.0  # a timeout is not a decline
    assert service.warn_fraction == 0.2
    assert dict(region.blocks) == dict(DEFAULT_BLOCKS)
    assert dict(region.agents["a001"].capacity) == {Channel.VOICE: 1}


def test_agent_site_defaults_to_team_site_and_may_differ(doc: Doc) -> None:
    put(doc, "agents[0].site", "korsholm")
    region = parse_region(doc, SRC)
    assert region.agents["a001"].site == "korsholm"
    assert region.agents["a001"].team == "vaasa-nurses"
    assert region.agents["a002"].site == "vaasa"


def test_null_optional_keys_count_as_absent(doc: Doc) -> None:
    put(doc, "authorisations", None)
    put(doc, "agents", None)
    put(doc, "partners", None)
    put(doc, "services[1].requirement", "nursing>=3")
    put(doc, "services[0].wrapup_s", None)
    region = parse_region(doc, SRC)
    assert region.agents == {}
    assert region.catalogue.authorisations == ()
    assert region.services["nursing_advice"].wrapup_s == 0.0


def test_empty_channel_blocks_means_no_blocking(doc: Doc) -> None:
    put(doc, "channel_blocks", {"chat": ["voice", "callback"]})
    assert parse_region(doc, SRC).blocks == {
        Channel.CHAT: frozenset({Channel.VOICE, Channel.CALLBACK})
    }
    put(doc, "channel_blocks", {})
    assert parse_region(doc, SRC).blocks == {}


# --- one rule at a time --------------------------------------------------------------------

Edit = tuple[str, object]

CASES: list[tuple[str, list[Edit], list[str]]] = [
    # Unknown and missing keys, wrong types.
    (
        "unknown-top-level-key",
        [("foo", 1)],
        [
            "foo: unknown key 'foo'; expected one of: region, languages, skills, services, "
            "authorisations, sites, teams, channel_blocks, agents, tokens, partners"
        ],
    ),
    (
        "unknown-nested-key",
        [("agents[3].skils", {"nursing": 2})],
        [
            "agents[3] (a004).skils: unknown key 'skils'; did you mean 'skills'? expected one "
            "of: id, name, team, languages, site, skills, authorisations, capacity, "
            "display_name, partner"
        ],
    ),
    (
        "unknown-step-key",
        [("services[0].steps[0].wait", 5)],
        [
            "services[0] (nursing_advice).steps[0].wait: unknown key 'wait'; expected one of: "
            "kind, duration_s, relax_levels, overflow_to"
        ],
    ),
    (
        "missing-required-key",
        [("services[1].requirement", _DROP), ("region.name", _DROP)],
        [
            "region.name: required key is missing",
            "services[1] (symptom_assessment).requirement: required key is missing",
        ],
    ),
    ("missing-top-level-section", [("services", _DROP)], ["services: required key is missing"]),
    (
        "wrong-type-string",
        [("agents[0].name", 42)],
        ["agents[0] (a001).name: expected a string, got integer 42"],
    ),
    (
        "required-null",
        [("agents[0].team", None)],
        ["agents[0] (a001).team: expected a string, got null"],
    ),
    ("wrong-type-list", [("languages", "fi")], ["languages: expected a list, got string 'fi'"]),
    ("wrong-type-mapping", [("agents[5]", ["a006"])], ["agents[5]: expected a mapping, got list"]),
    (
        "wrong-type-boolean",
        [("services[0].not_ready_on_decline", "no")],
        [
            "services[0] (nursing_advice).not_ready_on_decline: expected a boolean (true or "
            "false), got string 'no'"
        ],
    ),
    ("empty-string", [("sites[0].name", " ")], ["sites[0].name: must not be empty"]),
    (
        "non-string-key",
        [("agents[0].skills", {1: 2})],
        ["agents[0] (a001).skills.1: keys must be strings, got integer 1"],
    ),
    # Catalogue.
    (
        "duplicate-skill",
        [
            (
                "skills",
                [*SKILLS, "nursing"],
            )
        ],
        ["skills[8]: duplicate skill 'nursing' (first defined at skills[0])"],
    ),
    (
        "invalid-catalogue-name",
        [("authorisations", ["omaolo", "kela forms"])],
        [
            "authorisations[1]: 'kela forms' is not a valid name (letters, digits, '_', '.', '-'; "
            "starting with a letter or '_')"
        ],
    ),
    ("no-languages", [("languages", [])], ["languages: must list at least one language"]),
    (
        "unknown-timezone",
        [("region.timezone", "Europe/Helsingfors")],
        [
            "region.timezone: unknown time zone 'Europe/Helsingfors'; use an IANA name such as "
            "Europe/Helsinki"
        ],
    ),
    # Unique ids.
    (
        "duplicate-site",
        [("sites[1].id", "vaasa")],
        [
            "sites[1].id: duplicate site id 'vaasa' (first defined at sites[0].id)",
            "teams[13].site: unknown site 'korsholm'; known sites: vaasa, laihia, jakobstad, "
            "narpes, kristinestad, kokkola",
        ],
    ),
    (
        "duplicate-team",
        [
            ("teams[1].id", "vaasa-nurses"),
            ("agents[7].team", "vaasa-nurses"),
            ("agents[6].team", "vaasa-nurses"),
        ],
        ["teams[1].id: duplicate team id 'vaasa-nurses' (first defined at teams[0].id)"],
    ),
    (
        "duplicate-service",
        [("services[3].name", "oral_health")],
        [
            "services[3] (oral_health).name: duplicate service name 'oral_health' (first defined "
            "at services[2] (oral_health).name)"
        ],
    ),
    (
        "duplicate-agent",
        [("agents[1].id", "a001")],
        ["agents[1] (a001).id: duplicate agent id 'a001' (first defined at agents[0] (a001).id)"],
    ),
    (
        "invalid-id",
        [("agents[1].id", "a 002")],
        [
            "agents[1] (a 002).id: 'a 002' is not a valid id (letters, digits, '_', '.', '-'; "
            "starting with a letter or digit)"
        ],
    ),
    # References.
    (
        "team-site",
        [("teams[0].site", "vasa")],
        [
            "teams[0].site: unknown site 'vasa'; did you mean 'vaasa'? known sites: vaasa, "
            "korsholm, laihia, jakobstad, narpes, kristinestad, kokkola"
        ],
    ),
    (
        "agent-site",
        [("agents[0].site", "oulu")],
        [
            "agents[0] (a001).site: unknown site 'oulu'; known sites: vaasa, korsholm, laihia, "
            "jakobstad, narpes, kristinestad, kokkola"
        ],
    ),
    (
        "agent-team",
        [("agents[0].team", "vaasa-nurse")],
        [
            "agents[0] (a001).team: unknown team 'vaasa-nurse'; did you mean 'vaasa-nurses'? "
            "known teams: vaasa-nurses, vaasa-oral, vaasa-neuvola, vaasa-mhsu, vaasa-social, "
            "vaasa-assistants, region-digital, jakobstad-nurses, jakobstad-oral, "
            "jakobstad-family, jakobstad-psychosocial, jakobstad-assistants, narpes-health, "
            "korsholm-health, kristinestad-health, laihia-health, kp-nurses"
        ],
    ),
    (
        "agent-skill",
        [("agents[0].skills.triage", 3)],
        [
            "agents[0] (a001).skills.triage: unknown skill 'triage'; known skills: nursing, "
            "dental, child_family, mental_health, substance_use, social_work, prescriptions, "
            "appointments"
        ],
    ),
    (
        "agent-language",
        [("agents[0].languages[1]", "se")],
        ["agents[0] (a001).languages[1]: unknown language 'se'; known languages: fi, sv, en"],
    ),
    (
        "agent-duplicate-language",
        [("agents[0].languages", ["fi", "sv", "fi"])],
        [
            "agents[0] (a001).languages[2]: duplicate language 'fi' (first defined at "
            "agents[0] (a001).languages[0])"
        ],
    ),
    (
        "agent-no-language",
        [("agents[0].languages", [])],
        ["agents[0] (a001).languages: must list at least one language"],
    ),
    (
        "agent-authorisation",
        [("agents[1].authorisations", ["kanta"])],
        [
            "agents[1] (a002).authorisations[0]: unknown authorisation 'kanta'; known "
            "authorisations: omaolo"
        ],
    ),
    (
        "overflow-to-unknown",
        [("services[4].steps[2].overflow_to", "nursing")],
        [
            "services[4] (mental_health).steps[2].overflow_to: unknown service 'nursing'; known "
            "services: nursing_advice, symptom_assessment, oral_health, child_family, "
            "mental_health, social_services, prescriptions, appointments"
        ],
    ),
    (
        "default-urgency-unknown",
        [("services[2].default_urgency", "routine")],
        [
            "services[2] (oral_health).default_urgency: unknown urgency class 'routine'; "
            "expected one of: urgent, normal"
        ],
    ),
    # Proficiency.
    (
        "proficiency-too-high",
        [("agents[12].skills.nursing", 7)],
        ["agents[12] (a013).skills.nursing: proficiency must be 1..5, got 7"],
    ),
    (
        "proficiency-zero",
        [("agents[0].skills.nursing", 0)],
        ["agents[0] (a001).skills.nursing: proficiency must be 1..5, got 0"],
    ),
    (
        "proficiency-boolean",
        [("agents[0].skills.nursing", True)],
        ["agents[0] (a001).skills.nursing: expected an integer, got boolean true"],
    ),
    (
        "proficiency-decimal",
        [("agents[0].skills.nursing", 2.5)],
        ["agents[0] (a001).skills.nursing: expected an integer, got number 2.5"],
    ),
    # Capacity.
    (
        "capacity-channel",
        [("agents[0].capacity", {"voice": 1, "phone": 1})],
        [
            "agents[0] (a001).capacity.phone: unknown channel 'phone'; expected one of: voice, "
            "chat, web, callback, workitem"
        ],
    ),
    (
        "capacity-negative",
        [("agents[0].capacity.chat", -1)],
        ["agents[0] (a001).capacity.chat: capacity must be 0..1000, got -1"],
    ),
    (
        "capacity-not-int",
        [("agents[0].capacity.chat", "3")],
        ["agents[0] (a001).capacity.chat: expected an integer, got string '3'"],
    ),
    (
        "capacity-all-zero",
        [("agents[1].capacity", {"voice": 0, "chat": 0})],
        [
            "agents[1] (a002).capacity: at least one channel must have capacity above 0 "
            "(channels: voice, chat, web, callback, workitem)"
        ],
    ),
    (
        "capacity-empty",
        [("agents[1].capacity", {})],
        [
            "agents[1] (a002).capacity: at least one channel must have capacity above 0 "
            "(channels: voice, chat, web, callback, workitem)"
        ],
    ),
    # Durations and numbers.
    (
        "duration-negative",
        [("services[0].steps[0].duration_s", -5)],
        ["services[0] (nursing_advice).steps[0].duration_s: must be non-negative, got -5"],
    ),
    (
        "duration-string",
        [("services[0].wrapup_s", "60s")],
        ["services[0] (nursing_advice).wrapup_s: expected a number, got string '60s'"],
    ),
    (
        "duration-boolean",
        [("services[0].decline_cooldown_s", False)],
        ["services[0] (nursing_advice).decline_cooldown_s: expected a number, got boolean false"],
    ),
    (
        "duration-nan",
        [("services[0].wrapup_s", float("nan"))],
        ["services[0] (nursing_advice).wrapup_s: must be a finite number, got nan"],
    ),
    (
        "offer-timeout-zero",
        [("services[0].offer_timeout_s", 0)],
        ["services[0] (nursing_advice).offer_timeout_s: must be above 0, got 0"],
    ),
    (
        "urgency-target-negative",
        [("services[0].urgencies.P1.target_s", -1)],
        ["services[0] (nursing_advice).urgencies.P1.target_s: must be non-negative, got -1"],
    ),
    (
        "urgency-warn-negative",
        [("services[0].urgencies.P1.warn_before_s", -1)],
        ["services[0] (nursing_advice).urgencies.P1.warn_before_s: must be non-negative, got -1"],
    ),
    (
        "urgency-unknown-key",
        [("services[0].urgencies.P1.target", 60)],
        [
            "services[0] (nursing_advice).urgencies.P1.target: unknown key 'target'; did you "
            "mean 'target_s'? expected one of: target_s, redirect, warn_before_s"
        ],
    ),
    (
        "urgency-redirect-number",
        [("services[0].urgencies.P0.redirect", 112)],
        ["services[0] (nursing_advice).urgencies.P0.redirect: expected a string, got integer 112"],
    ),
    (
        "urgencies-empty",
        [("services[2].urgencies", {}), ("services[2].default_urgency", _DROP)],
        ["services[2] (oral_health).urgencies: must define at least one urgency class"],
    ),
    (
        "default-urgency-redirects",
        [("services[0].default_urgency", "P0")],
        [
            "services[0] (nursing_advice).default_urgency: urgency class 'P0' redirects to 112; "
            "the default class must queue"
        ],
    ),
    (
        "default-urgency-missing",
        [("services[2].default_urgency", _DROP)],
        [
            "services[2] (oral_health).default_urgency: required key is missing (the service has "
            "more than one urgency class)"
        ],
    ),
    (
        "warn-fraction-one",
        [("services[0].warn_fraction", 1)],
        ["services[0] (nursing_advice).warn_fraction: must be below 1, got 1.0"],
    ),
    (
        "warn-fraction-negative",
        [("services[0].warn_fraction", -0.1)],
        ["services[0] (nursing_advice).warn_fraction: must be non-negative, got -0.1"],
    ),
    (
        "agent-choice",
        [("services[0].agent_choice", "random")],
        [
            "services[0] (nursing_advice).agent_choice: unknown agent choice 'random'; expected "
            "one of: longest_idle, highest_proficiency, least_occupied"
        ],
    ),
    # Requirements.
    (
        "requirement-unknown-skill",
        [("services[0].requirement", "nursin>=2")],
        [
            "services[0] (nursing_advice).requirement: column 1: unknown skill 'nursin' in "
            "'nursin>=2'"
        ],
    ),
    (
        "requirement-syntax",
        [("services[0].requirement", "nursing>=2 &")],
        [
            "services[0] (nursing_advice).requirement: column 13: expected a skill, lang:CODE, "
            "auth:NAME, '*' or '(', got end of expression in 'nursing>=2 &'"
        ],
    ),
    (
        "requirement-level",
        [("services[0].requirement", "nursing>=6")],
        [
            "services[0] (nursing_advice).requirement: column 10: proficiency must be 1..5, got "
            ">=6 in 'nursing>=6'"
        ],
    ),
    # Steps.
    (
        "steps-empty",
        [("services[0].steps", [])],
        ["services[0] (nursing_advice).steps: must contain at least one step"],
    ),
    (
        "step-kind",
        [("services[0].steps[1].kind", "everywhere")],
        [
            "services[0] (nursing_advice).steps[1].kind: unknown step kind 'everywhere'; "
            "expected one of: own_agent, own_team, own_site, region, relaxed, overflow"
        ],
    ),
    (
        "step-duration-missing",
        [("services[0].steps[0].duration_s", _DROP)],
        [
            "services[0] (nursing_advice).steps[0].duration_s: required on every step but the "
            "last (a step without a duration lasts for good)"
        ],
    ),
    (
        "step-duration-null",
        [("services[0].steps[1].duration_s", None)],
        [
            "services[0] (nursing_advice).steps[1].duration_s: required on every step but the "
            "last (a step without a duration lasts for good)"
        ],
    ),
    (
        "overflow-step-needs-no-duration",
        [
            (
                "services[4].steps",
                [
                    {"kind": "own_site", "duration_s": 120},
                    {"kind": "overflow", "overflow_to": "nursing_advice"},
                    {"kind": "region"},
                ],
            ),
            ("services[4].steps[1].relax_levels", 2),
        ],
        ["services[4] (mental_health).steps[1].relax_levels: only allowed on relaxed steps"],
    ),
    (
        "steps-never-widen",
        [("services[2].steps", [{"kind": "own_team", "duration_s": 60}, {"kind": "own_site"}])],
        [
            "services[2] (oral_health).steps: needs a region, relaxed or overflow step; "
            "own_agent, own_team and own_site steps alone never reach the rest of the region"
        ],
    ),
    (
        "relax-levels-on-region",
        [("services[0].steps[1].relax_levels", 1)],
        ["services[0] (nursing_advice).steps[1].relax_levels: only allowed on relaxed steps"],
    ),
    (
        "relax-levels-range",
        [("services[0].steps[2].relax_levels", 5)],
        ["services[0] (nursing_advice).steps[2].relax_levels: must be 1..4, got 5"],
    ),
    (
        "relax-levels-zero",
        [("services[0].steps[2].relax_levels", 0)],
        ["services[0] (nursing_advice).steps[2].relax_levels: must be 1..4, got 0"],
    ),
    (
        "overflow-to-on-region",
        [("services[0].steps[1].overflow_to", "mental_health")],
        ["services[0] (nursing_advice).steps[1].overflow_to: only allowed on overflow steps"],
    ),
    (
        "overflow-without-target",
        [("services[4].steps[2].overflow_to", _DROP)],
        [
            "services[4] (mental_health).steps[2].overflow_to: required on overflow steps (the "
            "service to move to)"
        ],
    ),
    (
        "overflow-to-itself",
        [("services[4].steps[2].overflow_to", "mental_health")],
        ["services[4] (mental_health).steps[2].overflow_to: a service cannot overflow to itself"],
    ),
    (
        "overflow-loop",
        [
            (
                "services[0].steps",
                [
                    {"kind": "region", "duration_s": 600},
                    {"kind": "overflow", "overflow_to": "mental_health"},
                ],
            )
        ],
        [
            "services[4] (mental_health).steps[2].overflow_to: overflow loop: mental_health -> "
            "nursing_advice -> mental_health"
        ],
    ),
    # Channel blocks.
    (
        "blocks-channel",
        [("channel_blocks.phone", ["voice", "fax"])],
        [
            "channel_blocks.phone: unknown channel 'phone'; expected one of: voice, chat, web, "
            "callback, workitem",
            "channel_blocks.phone[1]: unknown channel 'fax'; expected one of: voice, chat, web, "
            "callback, workitem",
        ],
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [(e, x) for _, e, x in CASES], ids=[name for name, _, _ in CASES]
)
def test_each_rule_is_reported_exactly(doc: Doc, edits: list[Edit], expected: list[str]) -> None:
    for path, value in edits:
        put(doc, path, value)
    assert problems(doc) == lines(*expected)


def test_all_problems_are_reported_at_once(doc: Doc) -> None:
    put(doc, "agents[12].skills.nursing", 7)
    put(doc, "teams[0].site", "vasa")
    put(doc, "services[0].steps[0].duration_s", _DROP)
    assert problems(doc) == lines(
        "teams[0].site: unknown site 'vasa'; did you mean 'vaasa'? known sites: vaasa, korsholm, "
        "laihia, jakobstad, narpes, kristinestad, kokkola",
        "services[0] (nursing_advice).steps[0].duration_s: required on every step but the last "
        "(a step without a duration lasts for good)",
        "agents[12] (a013).skills.nursing: proficiency must be 1..5, got 7",
    )


def test_problems_name_the_entry_they_are_in(doc: Doc) -> None:
    """A list entry is named by its id (agents) or name (services), so a supervisor need
    not count entries; an entry without a usable name is only numbered."""
    put(doc, "agents[17].skills.appointments", 9)
    put(doc, "services[2].wrapup_s", -1)
    put(doc, "agents[18].id", None)
    assert problems(doc) == lines(
        "services[2] (oral_health).wrapup_s: must be non-negative, got -1",
        "agents[17] (a018).skills.appointments: proficiency must be 1..5, got 9",
        "agents[18].id: expected a string, got null",
    )


def test_near_misses_are_suggested(doc: Doc) -> None:
    put(doc, "services[0].wrapup", 30)
    put(doc, "services[0].agent_choice", "longest-idle")
    put(doc, "services[4].steps[2].overflow_to", "nursing-advice")
    put(doc, "agents[0].skills.Nursing", 2)
    put(doc, "agents[1].capacity", {"voise": 1})
    assert problems(doc) == lines(
        "services[0] (nursing_advice).wrapup: unknown key 'wrapup'; did you mean 'wrapup_s'? "
        "expected one of: name, requirement, urgencies, default_urgency, steps, agent_choice, "
        "wrapup_s, offer_timeout_s, decline_cooldown_s, timeout_cooldown_s, "
        "not_ready_on_decline, not_ready_on_timeout, warn_fraction, callback, hours, "
        "after_hours, feedback",
        "services[0] (nursing_advice).agent_choice: unknown agent choice 'longest-idle'; did you "
        "mean 'longest_idle'? expected one of: longest_idle, highest_proficiency, least_occupied",
        "services[4] (mental_health).steps[2].overflow_to: unknown service 'nursing-advice'; did "
        "you mean 'nursing_advice'? known services: nursing_advice, symptom_assessment, "
        "oral_health, child_family, mental_health, social_services, prescriptions, appointments",
        "agents[0] (a001).skills.Nursing: unknown skill 'Nursing'; did you mean 'nursing'? known "
        "skills: nursing, dental, child_family, mental_health, substance_use, social_work, "
        "prescriptions, appointments",
        "agents[1] (a002).capacity.voise: unknown channel 'voise'; did you mean 'voice'? "
        "expected one of: voice, chat, web, callback, workitem",
    )


def test_nothing_is_suggested_when_nothing_is_close(doc: Doc) -> None:
    put(doc, "agents[0].skills.astrology", 2)
    (problem,) = problems(doc)
    assert "did you mean" not in problem


def test_every_field_of_a_broken_entry_is_checked(doc: Doc) -> None:
    put(doc, "agents[2].id", 3)
    put(doc, "agents[2].capacity.voice", -1)
    put(doc, "sites[5].id", None)
    put(doc, "sites[5].name", "")
    assert problems(doc) == lines(
        "sites[5].id: expected a string, got null",
        "sites[5].name: must not be empty",
        "teams[14].site: unknown site 'kristinestad'; known sites: vaasa, korsholm, laihia, "
        "jakobstad, narpes, kokkola",
        "agents[2].id: expected a string, got integer 3",
        "agents[2].capacity.voice: capacity must be 0..1000, got -1",
    )


def test_one_broken_section_is_reported_once(doc: Doc) -> None:
    put(doc, "sites", {"vaasa": "Vaasa"})
    put(doc, "skills", None)
    assert problems(doc) == lines(
        "skills: expected a list, got null",
        "sites: expected a list, got mapping",
    )


def test_the_error_is_a_value_error_listing_problems(doc: Doc) -> None:
    put(doc, "agents[0].skills.nursing", 9)
    put(doc, "agents[1].skills.nursing", 0)
    with pytest.raises(ValueError, match=r"(?m)^config/region\.yaml: agents\[1\]") as info:
        parse_region(doc, SRC)
    assert isinstance(info.value, ConfigError)
    assert len(info.value.problems) == 2


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            None,
            "(top level): the document is empty; expected a mapping with keys: region, "
            "languages, skills, services, authorisations, sites, teams, channel_blocks, agents, "
            "tokens, partners",
        ),
        (["region"], "(top level): expected a mapping, got list"),
    ],
)
def test_document_must_be_a_mapping(document: object, expected: str) -> None:
    assert problems(document) == lines(expected)


# --- files and YAML ----------------------------------------------------------------------


def _load(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_region(path)
    return info.value.problems


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert _load(path) == [f"{path}: file not found"]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert _load(tmp_path) == [f"{tmp_path}: cannot read file: Is a directory"]


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_text("region:\n  name: x\nlanguages: [fi, sv\nskills: []\n", encoding="utf-8")
    assert _load(path) == [
        f"{path}: line 4, column 7: a ']' (or ',') is missing before ':'; in the list in [] "
        "that starts at line 3, column 12 (YAML: expected ',' or ']', but got ':')"
    ]


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_text("region:\n  name: x\n timezone: y\n", encoding="utf-8")
    (problem,) = _load(path)
    assert problem.startswith(f"{path}: line 3, column 2: ")


def test_duplicate_yaml_keys_are_reported_with_other_problems(
    tmp_path: Path, sample_doc: Doc
) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace(
        "    skills: {nursing: 4, prescriptions: 2}\n",
        "    skills: {nursing: 4, prescriptions: 2, nursing: 9}\n",
        1,
    )
    path = tmp_path / "region.yaml"
    path.write_text(text, encoding="utf-8")
    bad = "    skills: {nursing: 4, prescriptions: 2, nursing: 9}"
    line = text.splitlines().index(bad) + 1
    column = bad.rindex("nursing") + 1
    assert _load(path) == [
        f"{path}: line {line}, column {column}: duplicate key 'nursing' (YAML would silently keep "
        "only the last value)",
        f"{path}: agents[0] (a001).skills.nursing: proficiency must be 1..5, got 9",
    ]


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_bytes(b"region: {name: \xe4}\n")
    assert _load(path) == [f"{path}: byte 15: not valid UTF-8 text"]


def test_load_region_accepts_str_paths() -> None:
    assert load_region(str(SAMPLE)).source == str(SAMPLE)


# --- feedback -----------------------------------------------------------------------------


def test_sample_surveys_resolved_nursing_advice_calls(region: Region) -> None:
    policy = region.feedback_of("nursing_advice")
    assert policy is not None and policy.after == {"resolved"}
    assert policy.cooldown_days == 30 and set(policy.texts) == {"fi", "sv"}
    assert region.feedback_of("oral_health") is None


def test_feedback_problems_are_reported_together(doc: Doc) -> None:
    i = index_of(doc, "services", "name", "nursing_advice")
    doc["services"][i]["feedback"] = {
        "after": ["resolved", "abandoned"],
        "channels": ["voice", "chat", "fax"],
        "cooldown_days": 0,
        "answer_window_s": -5,
        "texts": {"de": "Danke", "fi": ""},
        "per_agent": True,
    }
    assert problems(doc) == lines(
        f"services[{i}] (nursing_advice).feedback.per_agent: unknown key 'per_agent'; expected "
        "one of: after, channels, cooldown_days, answer_window_s, texts",
        f"services[{i}] (nursing_advice).feedback.after[1]: expected an outcome after which a "
        "person can be asked, one of: resolved, merged, transferred, redirected; got 'abandoned'",
        f"services[{i}] (nursing_advice).feedback.channels[1]: chat contacts carry no phone "
        "number to send a request to; expected some of: callback, voice, web, workitem",
        f"services[{i}] (nursing_advice).feedback.channels[2]: unknown channel 'fax'; "
        "expected one of: voice, chat, web, callback, workitem",
        f"services[{i}] (nursing_advice).feedback.texts.de: unknown language 'de'; expected one "
        "of: fi, sv, en",
        f"services[{i}] (nursing_advice).feedback.texts.fi: must not be empty",
        f"services[{i}] (nursing_advice).feedback.cooldown_days: must be 1..3650, got 0",
        f"services[{i}] (nursing_advice).feedback.answer_window_s: must be above 0, got -5",
    )


# --- tokens ----------------------------------------------------------------------------

HASH = "0" * 64


def test_sample_ships_hashed_demo_tokens_for_every_role(region: Region) -> None:
    by_name = {t.name: t for t in region.tokens}
    assert {t.role for t in region.tokens} == set(Role)
    assert all(t.demo for t in region.tokens)
    assert by_name["supervisor"].sha256 == hash_token("demo-supervisor")
    assert by_name["agent-a001"].agent == "a001"
    assert len([t for t in region.tokens if t.role is Role.AGENT]) == len(region.agents)


def test_token_rules_are_reported_together(doc: Doc) -> None:
    doc["tokens"] = [
        {"name": "t1", "role": "agent", "sha256": HASH},
        {"name": "t1", "role": "wizard", "sha256": "abc"},
        {"name": "t3", "role": "integration", "sha256": "1" * 64},
        {"name": "t4", "role": "agent", "agent": "nobody", "sha256": "2" * 64},
        {
            "name": "t5",
            "role": "integration",
            "channels": ["fax"],
            "sources": ["x"],
            "sha256": HASH,
        },
        {"name": "t6", "role": "public", "agent": "a001", "sha256": "3" * 64},
    ]
    assert problems(doc) == lines(
        "tokens[0].agent: an agent token must name its agent",
        "tokens[1].role: unknown role 'wizard'; "
        "expected one of: agent, supervisor, integration, public",
        "tokens[1].sha256: must be 64 lowercase hex digits (a SHA-256 hash)",
        "tokens[1].name: duplicate token name 't1' (first at tokens[0].name)",
        "tokens[2].channels: an integration token must list its channels",
        "tokens[3].agent: unknown agent 'nobody'",
        "tokens[4].channels[0]: unknown channel 'fax'; "
        "expected one of: phone, chat, web, workitems, callback, feedback",
        "tokens[4].sources[0]: unknown source 'x'; sources are the region's authorisations",
        "tokens[4].channels: an integration token must list its channels",
        "tokens[4].sha256: the same token is also used at tokens[0].sha256",
        "tokens[5].agent: only agent tokens name an agent, not public tokens",
    )


def test_partner_agreements_are_read_with_their_cover(doc: Doc) -> None:
    region = parse_region(doc, SRC)
    agreement = region.agreements["keski-pohjanmaa"]
    assert agreement.services == frozenset({"nursing_advice"})
    monday_evening = datetime(2026, 11, 30, 16, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert agreement.cover.is_on(monday_evening.timestamp())
    assert not agreement.cover.is_on(monday_evening.timestamp() - 1)
    assert region.agents["kp01"].partner == "keski-pohjanmaa"
    assert region.policy().agreements == region.agreements


def test_partner_problems_are_reported_with_their_paths(doc: Doc) -> None:
    put(doc, "partners[0].services", ["nursing_advice", "no_such"])
    put(doc, "partners[0].cover.weekly", _DROP)
    put(doc, "partners[0].cover.channels", {"chat": "always"})
    kp01 = index_of(doc, "agents", "id", "kp01")
    put(doc, f"agents[{kp01}].partner", "soite")
    assert problems(doc) == lines(
        "partners[0].services[1]: unknown service 'no_such'; expected one of: nursing_advice, "
        "symptom_assessment, oral_health, child_family, mental_health, social_services, "
        "prescriptions, appointments",
        "partners[0].cover.channels: unknown key 'channels'; expected one of: weekly, "
        "timezone, holidays, exceptions",
        "partners[0].cover.weekly: required key is missing",
        f"agents[{kp01}] (kp01).partner: unknown partner agreement 'soite'; expected one of: "
        "keski-pohjanmaa",
    )
