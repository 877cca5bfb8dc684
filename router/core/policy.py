"""What the engine is configured with: the skill catalogue, services, the agent roster
and the channel blocking rules. Built from YAML by ``router.config``, or directly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router.core.model import DEFAULT_BLOCKS, AgentSpec, Channel, ServiceSpec
from skills import SkillCatalogue


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    catalogue: SkillCatalogue
    services: Mapping[str, ServiceSpec]
    agents: Mapping[str, AgentSpec] = field(default_factory=dict)
    blocks: Mapping[Channel, frozenset[Channel]] = field(default_factory=lambda: DEFAULT_BLOCKS)
