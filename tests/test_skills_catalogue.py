"""Tests for the skill catalogue: bit allocation, agent masks and name validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skills import MAX_LEVEL, MIN_LEVEL, AgentAbilities, CatalogueError, SkillCatalogue

SKILLS = ("nursing", "dental", "pharmacy", "mental_health")
LANGUAGES = ("fi", "sv", "en")
AUTHS = ("prescribe", "referral")
LEVELS = range(MIN_LEVEL, MAX_LEVEL + 1)


@pytest.fixture
def catalogue() -> SkillCatalogue:
    return SkillCatalogue(SKILLS, LANGUAGES, AUTHS)


def _all_bits(cat: SkillCatalogue) -> list[int]:
    bits = [cat.skill_bit(s, lvl) for s in cat.skills for lvl in LEVELS]
    bits += [cat.language_bit(code) for code in cat.languages]
    bits += [cat.authorisation_bit(a) for a in cat.authorisations]
    return bits


def test_level_range_constants() -> None:
    assert (MIN_LEVEL, MAX_LEVEL) == (1, 5)


def test_every_bit_is_a_single_distinct_bit(catalogue: SkillCatalogue) -> None:
    bits = _all_bits(catalogue)
    assert len(bits) == len(SKILLS) * len(LEVELS) + len(LANGUAGES) + len(AUTHS)
    for bit in bits:
        assert bit > 0
        assert bit.bit_count() == 1
    assert len(set(bits)) == len(bits)


def test_bits_are_distinct_even_when_names_collide_across_kinds() -> None:
    # The same string used as a skill, a language and an authorisation must still get
    # three unrelated bits.
    cat = SkillCatalogue(["x"], ["x"], ["x"])
    skill_bits = {cat.skill_bit("x", lvl) for lvl in LEVELS}
    assert cat.language_bit("x") not in skill_bits
    assert cat.authorisation_bit("x") not in skill_bits
    assert cat.language_bit("x") != cat.authorisation_bit("x")


def test_bits_are_deterministic_for_the_same_input() -> None:
    a = SkillCatalogue(SKILLS, LANGUAGES, AUTHS)
    b = SkillCatalogue(list(SKILLS), iter(LANGUAGES), (a for a in AUTHS))
    assert _all_bits(a) == _all_bits(b)


def test_names_keep_their_order(catalogue: SkillCatalogue) -> None:
    assert catalogue.skills == SKILLS
    assert catalogue.languages == LANGUAGES
    assert catalogue.authorisations == AUTHS


def test_authorisations_default_to_none() -> None:
    cat = SkillCatalogue(["nursing"], ["fi"])
    assert cat.authorisations == ()
    assert not cat.has_authorisation("prescribe")


def test_duplicates_are_dropped_keeping_first_occurrence() -> None:
    cat = SkillCatalogue(
        ["nursing", "dental", "nursing", "dental", "pharmacy"],
        ["sv", "fi", "sv"],
        ["prescribe", "prescribe"],
    )
    assert cat.skills == ("nursing", "dental", "pharmacy")
    assert cat.languages == ("sv", "fi")
    assert cat.authorisations == ("prescribe",)
    clean = SkillCatalogue(["nursing", "dental", "pharmacy"], ["sv", "fi"], ["prescribe"])
    assert _all_bits(cat) == _all_bits(clean)
    bits = _all_bits(cat)
    assert len(set(bits)) == len(bits)


def test_membership_queries(catalogue: SkillCatalogue) -> None:
    assert catalogue.has_skill("nursing")
    assert not catalogue.has_skill("fi")
    assert not catalogue.has_skill("Nursing")
    assert catalogue.has_language("sv")
    assert not catalogue.has_language("nursing")
    assert catalogue.has_authorisation("prescribe")
    assert not catalogue.has_authorisation("sv")


def test_unknown_skill_lists_known_skills(catalogue: SkillCatalogue) -> None:
    with pytest.raises(CatalogueError) as info:
        catalogue.skill_bit("surgery", 1)
    message = str(info.value)
    assert "'surgery'" in message
    assert "nursing, dental, pharmacy, mental_health" in message


def test_unknown_language_lists_known_languages(catalogue: SkillCatalogue) -> None:
    with pytest.raises(CatalogueError) as info:
        catalogue.language_bit("de")
    message = str(info.value)
    assert "'de'" in message
    assert "fi, sv, en" in message


def test_unknown_authorisation_lists_known_authorisations(catalogue: SkillCatalogue) -> None:
    with pytest.raises(CatalogueError) as info:
        catalogue.authorisation_bit("sign_off")
    message = str(info.value)
    assert "'sign_off'" in message
    assert "prescribe, referral" in message


def test_unknown_authorisation_with_empty_list_says_none() -> None:
    cat = SkillCatalogue(["nursing"], ["fi"])
    with pytest.raises(CatalogueError, match=r"\(none\)"):
        cat.authorisation_bit("prescribe")


def test_catalogue_error_is_a_value_error() -> None:
    assert issubclass(CatalogueError, ValueError)


@pytest.mark.parametrize("level", [-1, 0, 6, 100])
def test_skill_bit_rejects_levels_outside_range(catalogue: SkillCatalogue, level: int) -> None:
    with pytest.raises(CatalogueError, match=r"1\.\.5"):
        catalogue.skill_bit("nursing", level)


def test_agent_mask_sets_every_level_up_to_the_held_one(catalogue: SkillCatalogue) -> None:
    mask = catalogue.agent_mask(AgentAbilities(skills={"nursing": 3}))
    for lvl in (1, 2, 3):
        assert mask & catalogue.skill_bit("nursing", lvl)
    for lvl in (4, 5):
        assert not mask & catalogue.skill_bit("nursing", lvl)
    for other in ("dental", "pharmacy", "mental_health"):
        for lvl in LEVELS:
            assert not mask & catalogue.skill_bit(other, lvl)


def test_agent_mask_includes_languages_and_authorisations(catalogue: SkillCatalogue) -> None:
    abilities = AgentAbilities(
        skills={"dental": 2},
        languages=frozenset({"sv", "en"}),
        authorisations=frozenset({"referral"}),
    )
    mask = catalogue.agent_mask(abilities)
    expected = (
        catalogue.skill_bit("dental", 1)
        | catalogue.skill_bit("dental", 2)
        | catalogue.language_bit("sv")
        | catalogue.language_bit("en")
        | catalogue.authorisation_bit("referral")
    )
    assert mask == expected


def test_empty_agent_has_empty_mask(catalogue: SkillCatalogue) -> None:
    assert catalogue.agent_mask(AgentAbilities()) == 0


def test_level_zero_means_skill_not_held(catalogue: SkillCatalogue) -> None:
    assert catalogue.agent_mask(AgentAbilities(skills={"nursing": 0})) == 0


def test_agent_mask_rejects_unknown_names(catalogue: SkillCatalogue) -> None:
    with pytest.raises(CatalogueError, match="surgery"):
        catalogue.agent_mask(AgentAbilities(skills={"surgery": 2}))
    with pytest.raises(CatalogueError, match="'de'"):
        catalogue.agent_mask(AgentAbilities(languages=frozenset({"de"})))
    with pytest.raises(CatalogueError, match="sign_off"):
        catalogue.agent_mask(AgentAbilities(authorisations=frozenset({"sign_off"})))


def test_agent_mask_rejects_level_above_maximum(catalogue: SkillCatalogue) -> None:
    with pytest.raises(CatalogueError, match=r"1\.\.5"):
        catalogue.agent_mask(AgentAbilities(skills={"nursing": MAX_LEVEL + 1}))


@pytest.mark.parametrize("level", range(0, MAX_LEVEL + 1))
def test_level_in_round_trips_each_level(catalogue: SkillCatalogue, level: int) -> None:
    mask = catalogue.agent_mask(AgentAbilities(skills={"dental": level}))
    assert catalogue.level_in(mask, "dental") == level
    assert catalogue.level_in(mask, "nursing") == 0


@settings(max_examples=100, deadline=None)
@given(
    levels=st.fixed_dictionaries({s: st.integers(0, MAX_LEVEL) for s in SKILLS}),
    languages=st.frozensets(st.sampled_from(LANGUAGES)),
    auths=st.frozensets(st.sampled_from(AUTHS)),
)
def test_level_in_round_trips_any_agent(
    levels: dict[str, int], languages: frozenset[str], auths: frozenset[str]
) -> None:
    cat = SkillCatalogue(SKILLS, LANGUAGES, AUTHS)
    mask = cat.agent_mask(AgentAbilities(levels, languages, auths))
    for skill, level in levels.items():
        assert cat.level_in(mask, skill) == level
    for code in LANGUAGES:
        assert bool(mask & cat.language_bit(code)) == (code in languages)
    for auth in AUTHS:
        assert bool(mask & cat.authorisation_bit(auth)) == (auth in auths)


def test_level_in_unknown_skill_raises_catalogue_error(catalogue: SkillCatalogue) -> None:
    with pytest.raises(CatalogueError, match="known skills"):
        catalogue.level_in(0, "surgery")
