"""Tests for canonical requirements (DNF), relaxation, compilation and matching."""

from __future__ import annotations

import pytest

from skills import (
    AgentAbilities,
    CatalogueError,
    CompiledRequirement,
    Requirement,
    RequirementError,
    SkillCatalogue,
    Term,
    parse_requirement,
)
from skills.requirement import MAX_CLAUSES

CATALOGUE = SkillCatalogue(
    ["nursing", "dental", "pharmacy"], ["fi", "sv", "en"], ["prescribe", "referral"]
)


def req(text: str) -> Requirement:
    return parse_requirement(text, CATALOGUE)


def skill(name: str, level: int = 1) -> Requirement:
    return Requirement.term(Term("skill", name, level))


def lang(code: str) -> Requirement:
    return Requirement.term(Term("lang", code))


def auth(name: str) -> Requirement:
    return Requirement.term(Term("auth", name))


def agent(
    skills: dict[str, int] | None = None,
    languages: tuple[str, ...] = (),
    auths: tuple[str, ...] = (),
) -> int:
    return CATALOGUE.agent_mask(
        AgentAbilities(skills or {}, frozenset(languages), frozenset(auths))
    )


def meets(requirement: Requirement | str, mask: int) -> bool:
    r = req(requirement) if isinstance(requirement, str) else requirement
    return r.compile(CATALOGUE).matches(mask)


# --- Term ---------------------------------------------------------------------------


def test_term_str() -> None:
    assert str(Term("skill", "nursing", 1)) == "nursing"
    assert str(Term("skill", "nursing", 3)) == "nursing>=3"
    assert str(Term("lang", "sv")) == "lang:sv"
    assert str(Term("auth", "prescribe")) == "auth:prescribe"


def test_terms_are_hashable_values() -> None:
    assert Term("skill", "a", 2) == Term("skill", "a", 2)
    assert Term("skill", "a", 2) != Term("skill", "a", 3)
    assert len({Term("lang", "sv"), Term("lang", "sv"), Term("auth", "sv")}) == 2


# --- construction and canonical form ------------------------------------------------


def test_anyone_is_empty_disjunction_and_prints_star() -> None:
    anyone = Requirement.anyone()
    assert anyone.clauses == ()
    assert str(anyone) == "*"
    assert anyone.skills() == frozenset()


def test_anyone_is_identity_for_all_of() -> None:
    a = skill("nursing", 2)
    assert Requirement.anyone().all_of(a) == a
    assert a.all_of(Requirement.anyone()) == a


def test_anyone_absorbs_any_of() -> None:
    a = skill("nursing", 2)
    assert Requirement.anyone().any_of(a) == Requirement.anyone()
    assert a.any_of(Requirement.anyone()) == Requirement.anyone()


def test_all_of_and_any_of_are_commutative() -> None:
    a, b = skill("nursing", 2), lang("sv")
    assert a.all_of(b) == b.all_of(a)
    assert a.any_of(b) == b.any_of(a)
    assert str(a.all_of(b)) == str(b.all_of(a))
    assert str(a.any_of(b)) == str(b.any_of(a))


def test_all_of_and_any_of_are_idempotent() -> None:
    a = skill("nursing", 2).all_of(lang("sv"))
    assert a.all_of(a) == a
    assert a.any_of(a) == a


def test_stronger_term_wins_in_a_conjunction() -> None:
    assert skill("nursing", 2).all_of(skill("nursing", 3)) == skill("nursing", 3)
    assert str(skill("nursing", 3).all_of(skill("nursing", 2))) == "nursing>=3"


def test_weaker_term_wins_in_a_disjunction() -> None:
    assert skill("nursing", 2).any_of(skill("nursing", 3)) == skill("nursing", 2)


def test_absorption() -> None:
    a = skill("nursing")
    ab = a.all_of(skill("dental"))
    assert a.any_of(ab) == a
    assert ab.any_of(a) == a
    # Absorption also applies when the absorbing clause is weaker on a shared skill.
    strong = skill("nursing", 4).all_of(lang("sv"))
    weak = skill("nursing", 2).all_of(lang("sv"))
    assert strong.any_of(weak) == weak


def test_distribution_of_and_over_or() -> None:
    a, b, c = skill("nursing"), skill("dental"), lang("fi")
    assert a.any_of(b).all_of(c) == a.all_of(c).any_of(b.all_of(c))


def test_requirements_are_hashable_and_usable_as_keys() -> None:
    interned = {req("nursing>=2 & lang:sv"): 1}
    assert interned[req("lang:sv & nursing >= 2")] == 1
    assert interned[req("lang:sv & nursing>1 & nursing")] == 1


def test_str_lists_clauses_and_sorted_terms() -> None:
    r = lang("sv").all_of(skill("nursing", 3)).any_of(auth("prescribe"))
    assert str(r) == "auth:prescribe | lang:sv & nursing>=3"


def test_of_rejects_more_than_max_clauses() -> None:
    clauses = {frozenset({Term("lang", f"l{i}")}) for i in range(MAX_CLAUSES + 1)}
    with pytest.raises(RequirementError, match=rf"{MAX_CLAUSES + 1} alternatives.*{MAX_CLAUSES}"):
        Requirement.of(clauses)


def test_of_accepts_exactly_max_clauses() -> None:
    clauses = {frozenset({Term("lang", f"l{i}")}) for i in range(MAX_CLAUSES)}
    assert len(Requirement.of(clauses).clauses) == MAX_CLAUSES


def test_skills_lists_skill_names_only() -> None:
    r = req("nursing>=2 & lang:sv | dental & auth:prescribe | nursing>=4")
    assert r.skills() == frozenset({"nursing", "dental"})


# --- relaxation ---------------------------------------------------------------------


def test_relaxed_lowers_skill_levels() -> None:
    assert req("nursing>=4 & dental>=3").relaxed(1) == req("nursing>=3 & dental>=2")
    assert req("nursing>=4 & dental>=3").relaxed(2) == req("nursing>=2 & dental")


def test_relaxed_never_goes_below_level_one() -> None:
    assert req("nursing>=2").relaxed(10) == req("nursing")
    assert req("nursing").relaxed(3) == req("nursing")


def test_relaxed_keeps_languages_and_authorisations() -> None:
    r = req("nursing>=3 & lang:sv & auth:prescribe").relaxed(5)
    assert r == req("nursing & lang:sv & auth:prescribe")
    finnish_only_nurse = agent({"nursing": 5}, languages=("fi",), auths=("prescribe",))
    assert not meets(r, finnish_only_nurse)
    unauthorised = agent({"nursing": 5}, languages=("sv",))
    assert not meets(r, unauthorised)


def test_relaxed_zero_or_negative_is_identity() -> None:
    r = req("nursing>=3 | dental>=2 & lang:fi")
    assert r.relaxed(0) == r
    assert r.relaxed(-2) == r


def test_relaxed_anyone_is_anyone() -> None:
    assert Requirement.anyone().relaxed(2) == Requirement.anyone()


def test_relaxed_result_is_canonical() -> None:
    # After relaxing, "nursing>=3 & dental" becomes "nursing>=2 & dental", which the
    # alternative "nursing>=2" absorbs.
    r = req("nursing>=3 & dental | nursing>=3").relaxed(1)
    assert r == req("nursing>=2")
    assert str(r) == "nursing>=2"


def test_relaxed_widens_who_matches() -> None:
    r = req("nursing>=4")
    level3 = agent({"nursing": 3})
    assert not meets(r, level3)
    assert meets(r.relaxed(1), level3)


def test_relaxed_does_not_mutate_original() -> None:
    r = req("nursing>=4")
    r.relaxed(2)
    assert r == req("nursing>=4")


# --- compile and match --------------------------------------------------------------


def test_skill_level_semantics() -> None:
    nurse3 = agent({"nursing": 3})
    assert meets("nursing", nurse3)
    assert meets("nursing>=2", nurse3)
    assert meets("nursing>=3", nurse3)
    assert meets("nursing>2", nurse3)
    assert not meets("nursing>3", nurse3)
    assert not meets("nursing>=4", nurse3)
    assert not meets("dental", nurse3)


def test_languages_are_hard_requirements() -> None:
    assert meets("nursing & lang:sv", agent({"nursing": 1}, languages=("sv",)))
    assert not meets("nursing & lang:sv", agent({"nursing": 5}, languages=("fi", "en")))
    assert meets("lang:sv | lang:fi", agent(languages=("fi",)))


def test_authorisations_are_hard_requirements() -> None:
    assert meets("auth:prescribe", agent(auths=("prescribe",)))
    assert not meets("auth:prescribe", agent({"nursing": 5}, ("sv",), ("referral",)))


def test_anyone_matches_everyone() -> None:
    compiled = Requirement.anyone().compile(CATALOGUE)
    assert compiled.masks == ()
    assert compiled.matches(0)
    assert compiled.matches(agent({"nursing": 5}, ("sv",)))


def test_disjunction_matches_either_branch() -> None:
    r = "nursing>=3 & lang:sv | dental>=2"
    assert meets(r, agent({"nursing": 3}, ("sv",)))
    assert meets(r, agent({"dental": 2}))
    assert not meets(r, agent({"nursing": 3}))
    assert not meets(r, agent({"dental": 1}, ("sv",)))


def test_compile_has_one_mask_per_clause() -> None:
    r = req("nursing>=3 & lang:sv | dental>=2")
    compiled = r.compile(CATALOGUE)
    assert isinstance(compiled, CompiledRequirement)
    assert compiled.requirement == r
    assert len(compiled.masks) == 2
    expected = {
        CATALOGUE.skill_bit("nursing", 3) | CATALOGUE.language_bit("sv"),
        CATALOGUE.skill_bit("dental", 2),
    }
    assert set(compiled.masks) == expected


def test_compile_rejects_names_missing_from_catalogue() -> None:
    unchecked = parse_requirement("surgery>=2")
    with pytest.raises(CatalogueError, match="surgery"):
        unchecked.compile(CATALOGUE)
    with pytest.raises(CatalogueError, match="'de'"):
        parse_requirement("lang:de").compile(CATALOGUE)
    with pytest.raises(CatalogueError, match="sign_off"):
        parse_requirement("auth:sign_off").compile(CATALOGUE)


# --- proficiency --------------------------------------------------------------------


def test_proficiency_sums_agent_levels_not_required_levels() -> None:
    compiled = req("nursing>=2 & dental>=1").compile(CATALOGUE)
    assert compiled.proficiency(CATALOGUE, agent({"nursing": 4, "dental": 3})) == 7


def test_proficiency_ignores_skills_outside_the_clause() -> None:
    compiled = req("nursing").compile(CATALOGUE)
    assert compiled.proficiency(CATALOGUE, agent({"nursing": 2, "dental": 5})) == 2


def test_proficiency_takes_best_satisfied_clause() -> None:
    compiled = req("nursing>=2 | dental & pharmacy").compile(CATALOGUE)
    mask = agent({"nursing": 3, "dental": 2, "pharmacy": 4})
    assert compiled.proficiency(CATALOGUE, mask) == 6  # dental 2 + pharmacy 4 beats nursing 3


def test_proficiency_ignores_unsatisfied_clauses() -> None:
    compiled = req("nursing>=2 | dental & lang:sv").compile(CATALOGUE)
    # The dental clause would score 5 but the agent does not speak Swedish.
    mask = agent({"nursing": 2, "dental": 5})
    assert compiled.proficiency(CATALOGUE, mask) == 2


def test_proficiency_zero_when_not_matching() -> None:
    compiled = req("nursing>=4").compile(CATALOGUE)
    assert compiled.proficiency(CATALOGUE, agent({"nursing": 3})) == 0


def test_proficiency_zero_for_clause_without_skills() -> None:
    compiled = req("lang:sv").compile(CATALOGUE)
    assert compiled.proficiency(CATALOGUE, agent({"nursing": 5}, ("sv",))) == 0
    anyone = Requirement.anyone().compile(CATALOGUE)
    assert anyone.proficiency(CATALOGUE, agent({"nursing": 5})) == 0


def test_proficiency_ranks_stronger_agents_higher() -> None:
    compiled = req("nursing>=2 & lang:fi").compile(CATALOGUE)
    weak = compiled.proficiency(CATALOGUE, agent({"nursing": 2}, ("fi",)))
    strong = compiled.proficiency(CATALOGUE, agent({"nursing": 5}, ("fi",)))
    assert 0 < weak < strong
