"""Compiled skill requirements: a disjunction of conjunctions, each a bitmask.

A requirement is kept in disjunctive normal form. Each clause is a set of terms (skill at
a minimum level, language, authorisation) and its mask; an agent mask satisfies the
requirement when it covers any clause mask. With few clauses this is a constant-time test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from skills.catalogue import MIN_LEVEL, SkillCatalogue

TermKind = Literal["skill", "lang", "auth"]

MAX_CLAUSES = 64


class RequirementError(ValueError):
    """A requirement cannot be compiled; the message says where and why."""


@dataclass(frozen=True, slots=True, order=True)
class Term:
    """One condition: ``skill`` at ``level`` or above, a language, or an authorisation."""

    kind: TermKind
    name: str
    level: int = 0

    def __str__(self) -> str:
        if self.kind == "skill":
            return self.name if self.level == MIN_LEVEL else f"{self.name}>={self.level}"
        return f"{self.kind}:{self.name}"


Clause = frozenset[Term]


def _minimal(clauses: set[Clause]) -> tuple[Clause, ...]:
    """Drops clauses implied by others (absorption) and terms weaker than another term
    on the same skill, then sorts, so equal requirements get equal canonical forms."""
    tightened: set[Clause] = set()
    for clause in clauses:
        strongest: dict[tuple[TermKind, str], Term] = {}
        for term in clause:
            key = (term.kind, term.name)
            if key not in strongest or term.level > strongest[key].level:
                strongest[key] = term
        tightened.add(frozenset(strongest.values()))
    kept = [
        c
        for c in tightened
        if not any(other < c or (other != c and _implies(c, other)) for other in tightened)
    ]
    return tuple(sorted(kept, key=sorted))


def _implies(stronger: Clause, weaker: Clause) -> bool:
    """True when every agent meeting ``stronger`` also meets ``weaker``."""
    for w in weaker:
        if not any(s.kind == w.kind and s.name == w.name and s.level >= w.level for s in stronger):
            return False
    return True


@dataclass(frozen=True, slots=True)
class Requirement:
    """A requirement in canonical disjunctive normal form. ``clauses == ()`` means
    "anyone" (the empty conjunction is not allowed, so the empty disjunction is used as
    the unconditional requirement)."""

    clauses: tuple[Clause, ...]

    @classmethod
    def anyone(cls) -> Requirement:
        return cls(())

    @classmethod
    def of(cls, clauses: set[Clause]) -> Requirement:
        minimal = _minimal(clauses)
        if len(minimal) > MAX_CLAUSES:
            raise RequirementError(
                f"requirement expands to {len(minimal)} alternatives; at most {MAX_CLAUSES} "
                "are allowed (factor out common terms)"
            )
        return cls(minimal)

    @classmethod
    def term(cls, term: Term) -> Requirement:
        return cls((frozenset((term,)),))

    def all_of(self, other: Requirement) -> Requirement:
        if not self.clauses:
            return other
        if not other.clauses:
            return self
        return Requirement.of({a | b for a in self.clauses for b in other.clauses})

    def any_of(self, other: Requirement) -> Requirement:
        if not self.clauses or not other.clauses:
            return Requirement.anyone()
        return Requirement.of(set(self.clauses) | set(other.clauses))

    def relaxed(self, levels: int) -> Requirement:
        """The same requirement with every skill level lowered by ``levels`` (never below
        1). Languages and authorisations are never relaxed: a Swedish-speaking caller is
        not handed to a Finnish-only agent, however long the wait."""
        if levels <= 0 or not self.clauses:
            return self
        return Requirement.of(
            {
                frozenset(
                    Term(t.kind, t.name, max(MIN_LEVEL, t.level - levels))
                    if t.kind == "skill"
                    else t
                    for t in clause
                )
                for clause in self.clauses
            }
        )

    def compile(self, catalogue: SkillCatalogue) -> CompiledRequirement:
        masks = []
        for clause in self.clauses:
            mask = 0
            for t in clause:
                if t.kind == "skill":
                    mask |= catalogue.skill_bit(t.name, t.level)
                elif t.kind == "lang":
                    mask |= catalogue.language_bit(t.name)
                else:
                    mask |= catalogue.authorisation_bit(t.name)
            masks.append(mask)
        return CompiledRequirement(self, tuple(masks))

    def skills(self) -> frozenset[str]:
        return frozenset(t.name for c in self.clauses for t in c if t.kind == "skill")

    def __str__(self) -> str:
        if not self.clauses:
            return "*"
        parts = [" & ".join(str(t) for t in sorted(c)) for c in self.clauses]
        return " | ".join(parts)


def either(first: Requirement, second: Requirement) -> Requirement:
    """Who meets ``first`` or ``second``: their clauses together, in canonical form.

    Unlike ``Requirement.any_of`` this is not held to ``MAX_CLAUSES``: that limit asks a
    person to factor what they write, and each of these was written and checked on its
    own. The engine joins a contact's reach in the services it overflowed from with its
    new service's (``router.core.step_choice``); refusing there would drop a contact."""
    if not first.clauses or not second.clauses:
        return Requirement.anyone()
    return Requirement(_minimal(set(first.clauses) | set(second.clauses)))


@dataclass(frozen=True, slots=True)
class CompiledRequirement:
    """A requirement with one mask per clause, ready for constant-time matching."""

    requirement: Requirement
    masks: tuple[int, ...]

    def matches(self, agent_mask: int) -> bool:
        if not self.masks:
            return True
        for m in self.masks:  # noqa: SIM110 - a plain loop is faster than any() on the hot path
            if agent_mask & m == m:
                return True
        return False

    def proficiency(self, catalogue: SkillCatalogue, agent_mask: int) -> int:
        """Sum of the agent's levels in the skills of the best clause it meets; used to
        rank agents by proficiency. 0 when it meets none (or the clause has no skills)."""
        best = 0
        for clause, m in zip(self.requirement.clauses, self.masks, strict=True):
            if agent_mask & m == m:
                score = sum(
                    catalogue.level_in(agent_mask, t.name) for t in clause if t.kind == "skill"
                )
                best = max(best, score)
        return best
