"""The skill catalogue: which skills, languages and authorisations exist, and their bits.

Matching is a bitmask test. A skill held at level L sets the bits for "level >= 1" up to
"level >= L", so a requirement "nursing>=3" is the single bit for (nursing, 3) and an
agent satisfies a conjunction exactly when ``agent_mask & clause_mask == clause_mask``.
Languages and authorisations are one bit each. Bits are handed out when a catalogue is
built and never change, so compiled requirements and agent masks stay valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MIN_LEVEL = 1
MAX_LEVEL = 5
LEVELS = MAX_LEVEL - MIN_LEVEL + 1


class CatalogueError(ValueError):
    """A name is not in the skill catalogue; add it to the region's skills, languages or
    authorisations, or fix the spelling."""


@dataclass(frozen=True, slots=True)
class AgentAbilities:
    """What one agent brings: skill levels, languages and authorisations."""

    skills: Mapping[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    authorisations: frozenset[str] = frozenset()


class SkillCatalogue:
    """Maps skill, language and authorisation names to bit positions."""

    __slots__ = ("_auth_bit", "_lang_bit", "_skill_base", "authorisations", "languages", "skills")

    def __init__(
        self,
        skills: Iterable[str],
        languages: Iterable[str],
        authorisations: Iterable[str] = (),
    ) -> None:
        self.skills: tuple[str, ...] = tuple(dict.fromkeys(skills))
        self.languages: tuple[str, ...] = tuple(dict.fromkeys(languages))
        self.authorisations: tuple[str, ...] = tuple(dict.fromkeys(authorisations))
        bit = 0
        self._skill_base: dict[str, int] = {}
        for name in self.skills:
            self._skill_base[name] = bit
            bit += LEVELS
        self._lang_bit: dict[str, int] = {}
        for code in self.languages:
            self._lang_bit[code] = bit
            bit += 1
        self._auth_bit: dict[str, int] = {}
        for name in self.authorisations:
            self._auth_bit[name] = bit
            bit += 1

    def has_skill(self, name: str) -> bool:
        return name in self._skill_base

    def has_language(self, code: str) -> bool:
        return code in self._lang_bit

    def has_authorisation(self, name: str) -> bool:
        return name in self._auth_bit

    def skill_bit(self, name: str, level: int) -> int:
        """The mask bit meaning "holds ``name`` at ``level`` or above"."""
        base = self._skill_base.get(name)
        if base is None:
            raise CatalogueError(f"unknown skill {name!r}; known skills: {', '.join(self.skills)}")
        if not MIN_LEVEL <= level <= MAX_LEVEL:
            raise CatalogueError(
                f"proficiency must be {MIN_LEVEL}..{MAX_LEVEL}, got {level} for {name!r}"
            )
        return 1 << (base + level - MIN_LEVEL)

    def language_bit(self, code: str) -> int:
        bit = self._lang_bit.get(code)
        if bit is None:
            raise CatalogueError(
                f"unknown language {code!r}; known languages: {', '.join(self.languages)}"
            )
        return 1 << bit

    def authorisation_bit(self, name: str) -> int:
        bit = self._auth_bit.get(name)
        if bit is None:
            known = ", ".join(self.authorisations) or "(none)"
            raise CatalogueError(f"unknown authorisation {name!r}; known authorisations: {known}")
        return 1 << bit

    def agent_mask(self, abilities: AgentAbilities) -> int:
        """The mask of everything an agent with ``abilities`` satisfies."""
        mask = 0
        for name, level in abilities.skills.items():
            if level == 0 and name in self._skill_base:
                continue  # listed but not held
            self.skill_bit(name, level)  # validates the name and the level
            for held in range(MIN_LEVEL, level + 1):
                mask |= self.skill_bit(name, held)
        for code in abilities.languages:
            mask |= self.language_bit(code)
        for auth in abilities.authorisations:
            mask |= self.authorisation_bit(auth)
        return mask

    def level_in(self, mask: int, skill: str) -> int:
        """The proficiency level an agent mask holds in ``skill`` (0 when not held)."""
        base = self._skill_base.get(skill)
        if base is None:
            raise CatalogueError(f"unknown skill {skill!r}; known skills: {', '.join(self.skills)}")
        window = (mask >> base) & ((1 << LEVELS) - 1)
        return window.bit_count()
