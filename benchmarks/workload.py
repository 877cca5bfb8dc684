"""A deterministic synthetic region and contact stream for the dispatch benchmark.

Everything is drawn from a seeded ``random.Random``, so the same seed gives the same
region, the same agents and the same contacts in every run and for every matcher.

The shape follows the cost model in the design notes: what drives the indexed engine's
cost is the number of distinct agent skill sets and of contact routing signatures, not
the number of agents or contacts. So both are drawn from bounded pools:

- a catalogue of ``skills`` skills and the languages fi, sv and en;
- ``profiles`` agent skill profiles, each 3–6 skills at levels 1–5 and 1–2 languages
  (Finnish-speaking mostly, some bilingual, a few Swedish- or English-only); agents are
  spread over the profiles with a skewed popularity (every profile has an agent once
  there are at least as many agents as profiles) and over ``sites`` sites with
  ``teams_per_site`` teams each;
- ``requirements`` contact requirements of 1–3 skills, each built from one profile's
  skills at levels at or below the profile's (every profile is the source of at least
  one), so every contact is servable by the agents of its source profile;
- a fresh contact is drawn for an agent picked in proportion to capacity: a requirement
  built from that agent's profile, in the agent's channel and one of its languages. So
  demand for every profile and channel matches its supply (arrivals roughly match
  capacity skill by skill, not only in total), while contacts are still served by any
  agent whose skills cover them;
- urgency classes with different answer targets (so due order is not arrival order).

One service routes region-wide (a single ``REGION`` step), wrap-up is 0 and offers never
time out within a run: the benchmark measures matching, not timers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from router.core.model import (
    AgentSpec,
    Channel,
    ContactSpec,
    ServiceSpec,
    Step,
    StepKind,
    UrgencyClass,
)
from router.core.policy import RoutingPolicy
from skills import AgentAbilities, Requirement, SkillCatalogue, Term

SERVICE = "general"
LANGUAGES = ("fi", "sv", "en")
# (target answer time in seconds, share of contacts)
URGENCY_MIX: Mapping[str, tuple[float, float]] = {
    "P2": (900.0, 0.10),
    "P3": (3_600.0, 0.25),
    "P5": (4 * 3_600.0, 0.40),
    "P6": (8 * 3_600.0, 0.25),
}
# Long enough that no offer expires during a run (virtual time moves ~1 ms per event).
OFFER_TIMEOUT_S = 1.0e9
# Language sets of agent profiles, with weights.
_PROFILE_LANGS: Sequence[tuple[tuple[str, ...], float]] = (
    (("fi",), 0.55),
    (("fi", "sv"), 0.20),
    (("fi", "en"), 0.12),
    (("sv",), 0.08),
    (("sv", "en"), 0.03),
    (("en",), 0.02),
)
_LANG_PREFERENCE = {"fi": 0.85, "sv": 0.6, "en": 0.15}


@dataclass(frozen=True, slots=True)
class Shape:
    """The bounded pools the workload draws from."""

    skills: int = 50
    profiles: int = 200
    requirements: int = 500
    sites: int = 20
    teams_per_site: int = 5
    chat_share: float = 0.0
    chat_capacity: tuple[int, int] = (2, 3)

    def describe(self) -> str:
        chat = (
            f"; {self.chat_share:.0%} of agents take chats at capacity "
            f"{self.chat_capacity[0]}-{self.chat_capacity[1]} (the rest 1 call)"
            if self.chat_share > 0
            else "; every agent takes 1 call at a time"
        )
        return (
            f"{self.skills} skills, 3 languages (fi, sv, en); {self.profiles} agent skill "
            f"profiles (3-6 skills at levels 1-5, 1-2 languages); {self.sites} sites x "
            f"{self.teams_per_site} teams; {self.requirements} contact requirements "
            f"(1-3 skills, built from a profile at or below its levels); each contact is "
            f"drawn for a random agent's profile (demand matches supply per profile) in one "
            f"of its languages; urgency targets "
            + ", ".join(f"{k} {v[0] / 60:.0f} min ({v[1]:.0%})" for k, v in URGENCY_MIX.items())
            + f"; one service, region step only, wrap-up 0, offers never time out{chat}"
        )


@dataclass(frozen=True, slots=True)
class Profile:
    skills: Mapping[str, int]
    languages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequirementDraw:
    """One entry of the requirement pool: the expression and the languages a contact
    with it may ask for (those of the profile it was built from)."""

    requirement: Requirement
    languages: tuple[str, ...]
    language_weights: tuple[float, ...]
    source: int


@dataclass(frozen=True, slots=True)
class Region:
    """The synthetic region for ``agents`` agents."""

    shape: Shape
    catalogue: SkillCatalogue
    service: ServiceSpec
    profiles: tuple[Profile, ...]
    requirements: tuple[RequirementDraw, ...]
    agents: tuple[AgentSpec, ...]
    agent_profile: tuple[int, ...]
    # requirement pool indexes built from each profile (for targeted contacts)
    by_profile: tuple[tuple[int, ...], ...]

    @property
    def policy(self) -> RoutingPolicy:
        return RoutingPolicy(
            catalogue=self.catalogue,
            services={SERVICE: self.service},
            agents={a.id: a for a in self.agents},
        )

    def agent_groups(self) -> int:
        """Distinct routing signatures of agents (skills, languages, site, team,
        capacity), which is what the engine groups agents by."""
        return len(
            {
                (
                    self.agent_profile[i],
                    a.site,
                    a.team,
                    tuple(sorted(a.capacity.items())),
                )
                for i, a in enumerate(self.agents)
            }
        )

    def skill_sets(self) -> int:
        """Distinct skill and language sets among the agents."""
        return len(set(self.agent_profile))

    def contact_signatures(self) -> int:
        """Distinct (requirement, language) pairs a contact can have."""
        return len({(r.requirement, lang) for r in self.requirements for lang in r.languages})


def _zipf_weights(n: int, s: float, rng: random.Random) -> list[float]:
    weights = [1.0 / (rank + 1) ** s for rank in range(n)]
    rng.shuffle(weights)
    return weights


def build_region(agents: int, seed: int, shape: Shape | None = None) -> Region:
    """The region with ``agents`` agents. The skill profiles and the requirement pool
    depend only on ``seed`` and ``shape``, not on the number of agents."""
    shape = shape or Shape()
    rng = random.Random(f"region:{seed}")
    skill_names = [f"s{i:02d}" for i in range(shape.skills)]
    catalogue = SkillCatalogue(skill_names, LANGUAGES)

    lang_sets = [ls for ls, _ in _PROFILE_LANGS]
    lang_weights = [w for _, w in _PROFILE_LANGS]
    profiles: list[Profile] = []
    for _ in range(shape.profiles):
        k = rng.randint(3, 6)
        chosen = rng.sample(skill_names, k)
        levels = {name: rng.randint(1, 5) for name in chosen}
        profiles.append(Profile(levels, rng.choices(lang_sets, lang_weights)[0]))

    # The requirement pool: one from every profile first, so every profile's agents have
    # contacts meant for them, then the rest from profiles drawn by popularity.
    profile_weights = _zipf_weights(shape.profiles, 0.8, rng)
    draws: list[RequirementDraw] = []
    by_profile: list[list[int]] = [[] for _ in profiles]
    for r in range(shape.requirements):
        p = r if r < shape.profiles else rng.choices(range(shape.profiles), profile_weights)[0]
        prof = profiles[p]
        k = min(rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0], len(prof.skills))
        names = rng.sample(sorted(prof.skills), k)
        terms = frozenset(Term("skill", n, rng.randint(1, prof.skills[n])) for n in names)
        req = Requirement.of({terms})
        langs = prof.languages
        by_profile[p].append(len(draws))
        draws.append(
            RequirementDraw(req, langs, tuple(_LANG_PREFERENCE[lang] for lang in langs), p)
        )

    urgencies = {name: UrgencyClass(name, target) for name, (target, _share) in URGENCY_MIX.items()}
    service = ServiceSpec(
        name=SERVICE,
        requirement=Requirement.anyone(),
        urgencies=urgencies,
        default_urgency="P5",
        steps=(Step(StepKind.REGION),),
        wrapup_s=0.0,
        offer_timeout_s=OFFER_TIMEOUT_S,
        decline_cooldown_s=0.0,
    )

    arng = random.Random(f"agents:{seed}:{agents}")
    specs: list[AgentSpec] = []
    agent_profile: list[int] = []
    order = list(range(shape.profiles))
    arng.shuffle(order)
    for i in range(agents):
        p = order[i] if i < shape.profiles else arng.choices(order, profile_weights)[0]
        prof = profiles[p]
        site = arng.randrange(shape.sites)
        team = arng.randrange(shape.teams_per_site)
        if shape.chat_share > 0 and arng.random() < shape.chat_share:
            capacity: dict[Channel, int] = {Channel.CHAT: arng.randint(*shape.chat_capacity)}
        else:
            capacity = {Channel.VOICE: 1}
        specs.append(
            AgentSpec(
                id=f"a{i:05d}",
                name=f"Agent {i}",
                site=f"site{site:02d}",
                team=f"site{site:02d}-t{team}",
                abilities=AgentAbilities(
                    skills=dict(prof.skills), languages=frozenset(prof.languages)
                ),
                capacity=capacity,
            )
        )
        agent_profile.append(p)
    return Region(
        shape=shape,
        catalogue=catalogue,
        service=service,
        profiles=tuple(profiles),
        requirements=tuple(draws),
        agents=tuple(specs),
        agent_profile=tuple(agent_profile),
        by_profile=tuple(tuple(ix) for ix in by_profile),
    )


class ContactStream:
    """Fresh contacts: requirement, language and urgency drawn from the region's pools."""

    __slots__ = (
        "_agent_ix",
        "_channels",
        "_cum_caps",
        "_next",
        "_prefix",
        "_region",
        "_rng",
        "_urg_names",
        "_urg_w",
    )

    def __init__(self, region: Region, rng: random.Random, prefix: str = "c") -> None:
        self._region = region
        self._rng = rng
        self._next = 0
        self._prefix = prefix
        self._urg_names = list(URGENCY_MIX)
        self._urg_w = [share for _t, share in URGENCY_MIX.values()]
        self._agent_ix = range(len(region.agents))
        self._channels = [next(iter(a.capacity)) for a in region.agents]
        self._cum_caps = list(accumulate(sum(a.capacity.values()) for a in region.agents))

    def _spec(self, draw: RequirementDraw, channel: Channel) -> ContactSpec:
        rng = self._rng
        self._next += 1
        return ContactSpec(
            id=f"{self._prefix}{self._next:07d}",
            channel=channel,
            service=SERVICE,
            urgency=rng.choices(self._urg_names, self._urg_w)[0],
            requirement=draw.requirement,
            language=rng.choices(draw.languages, draw.language_weights)[0],
        )

    def random(self) -> ContactSpec:
        """A contact meant for the profile of an agent drawn in proportion to capacity,
        so demand for each skill profile and channel matches its supply."""
        i = self._rng.choices(self._agent_ix, cum_weights=self._cum_caps)[0]
        return self.for_agent(i)

    def for_agent(self, index: int) -> ContactSpec:
        """A contact the ``index``-th agent can serve (built from its profile, in its
        channel, in one of its languages)."""
        region = self._region
        pool = region.by_profile[region.agent_profile[index]]
        draw = region.requirements[self._rng.choice(pool)]
        return self._spec(draw, self._channels[index])
