"""Interned, compiled requirements: each distinct requirement gets a small integer id so
queue buckets and agent groups can refer to it cheaply."""

from __future__ import annotations

from skills import CompiledRequirement, Requirement, SkillCatalogue, Term, either


class RequirementTable:
    """Append-only table of compiled requirements. Ids are dense and never reused, which
    lets agent groups remember how far down the table they have already matched."""

    __slots__ = ("_by_req", "_catalogue", "_derived", "_text", "compiled")

    def __init__(self, catalogue: SkillCatalogue) -> None:
        self._catalogue = catalogue
        self.compiled: list[CompiledRequirement] = []
        self._by_req: dict[Requirement, int] = {}
        self._derived: dict[tuple[object, ...], int] = {}
        self._text: list[str] = []

    def __len__(self) -> int:
        return len(self.compiled)

    def intern(self, requirement: Requirement) -> int:
        rid = self._by_req.get(requirement)
        if rid is None:
            rid = len(self.compiled)
            self.compiled.append(requirement.compile(self._catalogue))
            self._text.append(str(requirement))
            self._by_req[requirement] = rid
        return rid

    def contact_base(
        self,
        requirement: Requirement,
        language: str | None,
        authorisation: str | None,
    ) -> int:
        """The id of ``requirement`` with the contact's language and authorisation added
        as hard conditions. Cached: the same service and language is one dictionary hit."""
        key = (requirement, language, authorisation)
        rid = self._derived.get(key)
        if rid is None:
            req = requirement
            if language is not None:
                req = req.all_of(Requirement.term(Term("lang", language)))
            if authorisation is not None:
                req = req.all_of(Requirement.term(Term("auth", authorisation)))
            rid = self.intern(req)
            self._derived[key] = rid
        return rid

    def relaxed(self, rid: int, levels: int) -> int:
        if levels <= 0:
            return rid
        key = ("relaxed", rid, levels)
        derived = self._derived.get(key)
        if derived is None:
            derived = self.intern(self.compiled[rid].requirement.relaxed(levels))
            self._derived[key] = derived
        return derived

    def union(self, first: int, second: int) -> int:
        """The id of who meets either requirement (``skills.either``). Each part keeps
        its own hard conditions (language, authorisation, partner gate: every clause of
        a contact's requirement carries them), so the union never admits an agent one of
        them forbids. Cached, whichever order the two come in."""
        if first == second:
            return first
        key = ("union", first, second) if first < second else ("union", second, first)
        derived = self._derived.get(key)
        if derived is None:
            compiled = self.compiled
            derived = self.intern(either(compiled[first].requirement, compiled[second].requirement))
            self._derived[key] = derived
        return derived

    def text(self, rid: int) -> str:
        """The requirement as an expression, rendered once when interned."""
        return self._text[rid]

    def matches(self, rid: int, agent_mask: int) -> bool:
        return self.compiled[rid].matches(agent_mask)

    def proficiency(self, rid: int, agent_mask: int) -> int:
        return self.compiled[rid].proficiency(self._catalogue, agent_mask)
