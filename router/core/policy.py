"""What the engine is configured with: the skill catalogue, services, the agent roster
and the channel blocking rules. Built from YAML by ``router.config``, or directly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router.core.model import DEFAULT_BLOCKS, AgentSpec, Channel, ServiceSpec
from router.core.partners import Agreement
from router.core.values import restore
from skills import SkillCatalogue


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    catalogue: SkillCatalogue
    services: Mapping[str, ServiceSpec]
    agents: Mapping[str, AgentSpec] = field(default_factory=dict)
    blocks: Mapping[Channel, frozenset[Channel]] = field(default_factory=lambda: DEFAULT_BLOCKS)
    # Partner agreements by name (``router.core.partners``); the catalogue must then hold
    # their gate authorisations (``gate_authorisations``).
    agreements: Mapping[str, Agreement] = field(default_factory=dict)

    def __setstate__(self, state: list[object]) -> None:
        """Unpickles a policy, also one from before agreements: none."""
        restore(self, state)
