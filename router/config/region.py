"""The loaded region: sites, teams, the skill catalogue, services and agents, ready to
hand to the engine as a :class:`~router.core.policy.RoutingPolicy`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router.calendar.opening_hours import ServiceHours
from router.calendar.rules import AfterHoursPolicy
from router.config.feedback import FeedbackPolicy
from router.config.tokens import TokenSpec
from router.core.model import AgentSpec, Channel, ServiceSpec
from router.core.partners import Agreement
from router.core.policy import RoutingPolicy
from skills import SkillCatalogue


@dataclass(frozen=True, slots=True)
class Site:
    """A health station or office; agents and teams belong to one."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Team:
    """A group of agents at one site (the "own team" ring of the widening reach)."""

    id: str
    site: str
    name: str


@dataclass(frozen=True, slots=True)
class Region:
    """One wellbeing services county as configured. Mappings keep the file's order."""

    name: str
    timezone: str
    languages: tuple[str, ...]
    catalogue: SkillCatalogue
    sites: Mapping[str, Site]
    teams: Mapping[str, Team]
    services: Mapping[str, ServiceSpec]
    agents: Mapping[str, AgentSpec]
    blocks: Mapping[Channel, frozenset[Channel]]
    tokens: tuple[TokenSpec, ...] = ()
    source: str = ""
    # Opening hours and what happens after hours, per service (absent: always open).
    hours: Mapping[str, ServiceHours] = field(default_factory=dict)
    after_hours: Mapping[str, AfterHoursPolicy] = field(default_factory=dict)
    # The feedback survey after a contact, per service (absent: none).
    feedback: Mapping[str, FeedbackPolicy] = field(default_factory=dict)
    # Partner agreements by name (``partners:``): a neighbouring region's agents covering
    # some services during scheduled hours.
    agreements: Mapping[str, Agreement] = field(default_factory=dict)

    def hours_of(self, service: str) -> ServiceHours:
        return self.hours.get(service) or ServiceHours()

    def after_hours_of(self, service: str) -> AfterHoursPolicy:
        return self.after_hours.get(service) or AfterHoursPolicy()

    def feedback_of(self, service: str) -> FeedbackPolicy | None:
        return self.feedback.get(service)

    def policy(self) -> RoutingPolicy:
        """The engine's configuration for this region (fresh mappings on each call)."""
        return RoutingPolicy(
            catalogue=self.catalogue,
            services=dict(self.services),
            agents=dict(self.agents),
            blocks=dict(self.blocks),
            agreements=dict(self.agreements),
        )
