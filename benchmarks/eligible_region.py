"""A region for the supervisor's eligible agents at scale: many logged-in agents of few
skill profiles, most or all of them with no room, and a page of waiting contacts with
many distinct requirements (``benchmarks/eligible_scale.py`` times it, and
``tests/test_service_eligible_scale.py`` checks the answers on it).

Built on the sample region's catalogue, sites and channel blocks, with one service that
anyone may take (``*``) reaching the whole region at once, so every agent can be given a
contact. Each waiting contact carries its own requirement (``ContactSpec.requirement``),
drawn from one-skill and two-skill conjunctions and disjunctions with a language.

Modes:

- ``busy``: every agent holds a call (a call blocks every channel): nobody has room, so
  every matching agent of every requirement is looked at before the answer is known;
- ``mixed``: half hold a call; a quarter are not ready with nothing in hand; a quarter
  take calls and chats, hold a chat and are not ready (room for a call, since a chat
  blocks nothing, and for a second chat). The page has voice and chat rows.

Events go straight to the service's engine (``Engine.apply``): the scenario is the
engine's state, and the eligibility answer reads nothing else.
"""

from __future__ import annotations

import random
from dataclasses import replace

from router.config import load_region
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    OfferAccepted,
    PresenceChanged,
)
from router.core.model import (
    AgentSpec,
    Channel,
    ContactSpec,
    ContactState,
    Presence,
    ServiceSpec,
    UrgencyClass,
)
from router.core.state import ContactView
from router.service.service import Service
from skills import AgentAbilities, SkillCatalogue, parse_requirement

REGION_FILE = "config/region.yaml"
SERVICE = "anyone"
MODES = ("busy", "mixed")


def skill_profiles(
    catalogue: SkillCatalogue, count: int, rng: random.Random
) -> list[AgentAbilities]:
    """``count`` distinct abilities: one to three skills at levels 1-5, Finnish and
    often Swedish or English, some authorised for Omaolo."""
    skills = sorted(catalogue.skills)
    found: dict[int, AgentAbilities] = {}
    while len(found) < count:
        chosen = rng.sample(skills, rng.randint(1, 3))
        languages = {"fi"}
        if rng.random() < 0.5:
            languages.add("sv")
        if rng.random() < 0.2:
            languages.add("en")
        auth = frozenset({"omaolo"}) if rng.random() < 0.2 else frozenset()
        abilities = AgentAbilities(
            {name: rng.randint(1, 5) for name in chosen}, frozenset(languages), auth
        )
        found.setdefault(catalogue.agent_mask(abilities), abilities)
    return list(found.values())


def requirement_texts(catalogue: SkillCatalogue, count: int, rng: random.Random) -> list[str]:
    """``count`` requirements distinct in their canonical form (the engine's text)."""
    skills = sorted(catalogue.skills)
    found: dict[str, None] = {}
    while len(found) < count:
        a, b = rng.sample(skills, 2)
        lang = rng.choice(("fi", "fi", "sv", "en"))
        shape = rng.randrange(4)
        if shape == 0:
            text = f"{a}>={rng.randint(1, 3)} & lang:{lang}"
        elif shape == 1:
            text = f"{a}>={rng.randint(1, 2)} & {b} & lang:{lang}"
        elif shape == 2:
            text = f"({a}>={rng.randint(1, 4)} | {b}>={rng.randint(1, 4)}) & lang:{lang}"
        else:
            text = f"{a}>={rng.randint(1, 5)} | auth:omaolo & lang:{lang}"
        found[str(parse_requirement(text, catalogue))] = None
    return list(found)


def build(
    agents: int, rows: int, distinct: int, mode: str, seed: int = 1, profiles: int = 40
) -> tuple[Service, list[ContactView]]:
    """The service and its waiting contacts (``rows`` of them, ``distinct``
    requirements among them), in the queue's order."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    rng = random.Random(seed)
    sample = load_region(REGION_FILE)
    catalogue = sample.catalogue
    kinds = skill_profiles(catalogue, profiles, rng)
    sites = list(sample.sites)
    roster: dict[str, AgentSpec] = {}
    for n in range(agents):
        site = rng.choice(sites)
        both = mode == "mixed" and n % 4 == 3
        capacity = {Channel.VOICE: 1, Channel.CHAT: 2} if both else {Channel.VOICE: 1}
        roster[f"x{n:05d}"] = AgentSpec(
            id=f"x{n:05d}",
            name=f"Agent {n}",
            site=site,
            team=f"{site}-t{n % 3}",
            abilities=rng.choice(kinds),
            capacity=capacity,
        )
    anyone = ServiceSpec(
        name=SERVICE,
        requirement=parse_requirement("*", catalogue),
        urgencies={"normal": UrgencyClass("normal", 3600.0)},
        default_urgency="normal",
        offer_timeout_s=600.0,
    )
    region = replace(
        sample,
        agents=roster,
        services={SERVICE: anyone},
        tokens=(),
        agreements={},
        hours={},
        after_hours={},
        feedback={},
    )
    service = Service(region)
    engine = service.engine
    now = 0.0
    for n, agent_id in enumerate(roster):
        now += 0.001
        if mode == "mixed" and n % 4 == 2:
            engine.apply(now, AgentLoggedIn(agent_id, Presence.NOT_READY))
            continue
        engine.apply(now, AgentLoggedIn(agent_id))
        channel = Channel.CHAT if mode == "mixed" and n % 4 == 3 else Channel.VOICE
        _hand(engine, now, f"held-{agent_id}", channel, agent_id)
        if channel is Channel.CHAT:
            engine.apply(now, PresenceChanged(agent_id, Presence.NOT_READY))
    texts = requirement_texts(catalogue, distinct, rng)
    for n in range(rows):
        now += 0.001
        # Every text at least once, then drawn at random.
        text = texts[n] if n < len(texts) else rng.choice(texts)
        channel = Channel.CHAT if mode == "mixed" and n % 3 == 2 else Channel.VOICE
        spec = ContactSpec(
            id=f"row-{n:04d}",
            channel=channel,
            service=SERVICE,
            requirement=parse_requirement(text, catalogue),
        )
        engine.apply(now, ContactArrived(spec))
    waiting = engine.waiting()
    if len(waiting) != rows:
        raise RuntimeError(f"expected {rows} waiting contacts, got {len(waiting)}")
    return service, waiting


def _hand(engine: Engine, now: float, contact_id: str, channel: Channel, agent_id: str) -> None:
    """A contact anyone may take, offered to ``agent_id`` (the only agent available)
    and accepted."""
    engine.apply(now, ContactArrived(ContactSpec(id=contact_id, channel=channel, service=SERVICE)))
    view = engine.contact(contact_id)
    if view.agent_id != agent_id or view.state is not ContactState.OFFERED:
        raise RuntimeError(f"{contact_id} went to {view.agent_id} ({view.state.value})")
    engine.apply(now, OfferAccepted(contact_id, agent_id))
