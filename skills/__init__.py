"""Pure skill model: the catalogue of skills, languages and authorisations, requirement
expressions and their compiled bitmask form."""

from skills.catalogue import (
    MAX_LEVEL,
    MIN_LEVEL,
    AgentAbilities,
    CatalogueError,
    SkillCatalogue,
)
from skills.expression import ExpressionError, parse_requirement
from skills.requirement import (
    CompiledRequirement,
    Requirement,
    RequirementError,
    Term,
    either,
)

__all__ = [
    "MAX_LEVEL",
    "MIN_LEVEL",
    "AgentAbilities",
    "CatalogueError",
    "CompiledRequirement",
    "ExpressionError",
    "Requirement",
    "RequirementError",
    "SkillCatalogue",
    "Term",
    "either",
    "parse_requirement",
]
