"""Tests for the requirement expression parser, including property-based tests that
compare compiled bitmask matching against a direct evaluation of the expression."""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skills import (
    MAX_LEVEL,
    MIN_LEVEL,
    AgentAbilities,
    ExpressionError,
    Requirement,
    RequirementError,
    SkillCatalogue,
    Term,
    parse_requirement,
)
from skills.requirement import MAX_CLAUSES

CATALOGUE = SkillCatalogue(
    ["nursing", "dental", "pharmacy"], ["fi", "sv"], ["prescribe", "referral"]
)

ANY_ATOM = "a skill, lang:CODE, auth:NAME, '*' or '('"


def parse(text: str) -> Requirement:
    return parse_requirement(text, CATALOGUE)


def skill(name: str, level: int = 1) -> Term:
    return Term("skill", name, level)


def dnf(*clauses: set[Term]) -> Requirement:
    return Requirement.of({frozenset(c) for c in clauses})


# --- parsing ------------------------------------------------------------------------


def test_bare_skill_means_level_one() -> None:
    assert parse("nursing") == dnf({skill("nursing", 1)})
    assert parse("nursing") == parse("nursing>=1")


def test_greater_equal_sets_level() -> None:
    assert parse("nursing>=3") == dnf({skill("nursing", 3)})


@pytest.mark.parametrize(("strict", "inclusive"), [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)])
def test_greater_than_is_plus_one(strict: int, inclusive: int) -> None:
    assert parse(f"nursing>{strict}") == parse(f"nursing>={inclusive}")


def test_star_is_anyone() -> None:
    assert parse("*") == Requirement.anyone()
    assert parse("(*)") == Requirement.anyone()
    assert parse("* & nursing") == parse("nursing")
    assert parse("nursing | *") == Requirement.anyone()


def test_language_and_authorisation_atoms() -> None:
    assert parse("lang:sv") == dnf({Term("lang", "sv")})
    assert parse("auth:prescribe") == dnf({Term("auth", "prescribe")})


def test_and_binds_tighter_than_or() -> None:
    expected = dnf({skill("nursing"), Term("lang", "sv")}, {skill("dental")})
    assert parse("nursing & lang:sv | dental") == expected
    assert parse("dental | nursing & lang:sv") == expected
    assert parse("(nursing & lang:sv) | dental") == expected


def test_parentheses_override_precedence() -> None:
    expected = dnf({skill("nursing"), Term("lang", "sv")}, {skill("dental"), Term("lang", "sv")})
    assert parse("(nursing | dental) & lang:sv") == expected
    assert parse("nursing | dental & lang:sv") != expected


def test_nested_parentheses() -> None:
    assert parse("((nursing))") == parse("nursing")
    assert parse("(((nursing | dental)) & (lang:fi))") == parse(
        "nursing & lang:fi | dental & lang:fi"
    )


@pytest.mark.parametrize(
    "text",
    [
        "nursing>=3&lang:sv|dental>=2",
        "nursing >= 3 & lang:sv | dental >= 2",
        "  nursing>=3   &\tlang:sv\n|  dental>=2  ",
        "(nursing>=3 & lang:sv) | (dental>=2)",
        "dental>1 | lang:sv & nursing>2",
    ],
)
def test_whitespace_and_layout_do_not_matter(text: str) -> None:
    reference = parse("nursing>=3 & lang:sv | dental>=2")
    assert parse(text) == reference
    assert str(parse(text)) == str(reference)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("nursing>=2 & nursing>=3", "nursing>=3"),
        ("nursing>=3 & nursing", "nursing>=3"),
        ("nursing>=2 | nursing>=3", "nursing>=2"),
        ("nursing | nursing & dental", "nursing"),
        ("nursing & dental | nursing", "nursing"),
        ("nursing & lang:sv | nursing>=3 & lang:sv & auth:prescribe", "nursing & lang:sv"),
        ("dental | nursing", "nursing | dental"),
        ("lang:sv & nursing & dental", "dental & nursing & lang:sv"),
        ("(nursing | dental) & (nursing | dental)", "nursing | dental"),
        ("nursing | dental | nursing", "dental | nursing"),
        ("lang:fi & lang:fi", "lang:fi"),
    ],
)
def test_canonical_form(left: str, right: str) -> None:
    assert parse(left) == parse(right)
    assert str(parse(left)) == str(parse(right))


def test_canonical_text() -> None:
    assert str(parse("nursing>=2 & nursing>=3")) == "nursing>=3"
    assert str(parse("nursing>=1")) == "nursing"
    assert str(parse("*")) == "*"
    # Terms sort auth < lang < skill, then by name; clauses sort by their sorted terms.
    assert str(parse("dental | nursing>2 & lang:sv")) == "lang:sv & nursing>=3 | dental"
    assert str(parse("pharmacy & dental | auth:referral")) == "auth:referral | dental & pharmacy"


@pytest.mark.parametrize(
    "text",
    [
        "nursing",
        "nursing>=5",
        "*",
        "lang:sv & auth:prescribe",
        "(nursing | dental>=3) & (lang:fi | lang:sv) & auth:referral",
        "nursing>2 & dental>=2 | pharmacy & lang:fi | auth:prescribe",
    ],
)
def test_str_reparses_to_same_requirement(text: str) -> None:
    r = parse(text)
    assert parse(str(r)) == r
    assert str(parse(str(r))) == str(r)


def test_names_need_no_catalogue() -> None:
    r = parse_requirement("surgery>=2 & lang:de | auth:anything")
    assert str(r) == "auth:anything | lang:de & surgery>=2"


def test_name_characters() -> None:
    r = parse_requirement("mental_health.adult-care>=2 & lang:sv-FI & auth:x1")
    assert {t.name for c in r.clauses for t in c} == {"mental_health.adult-care", "sv-FI", "x1"}


def test_prefix_words_are_ordinary_skill_names_without_colon() -> None:
    r = parse_requirement("lang>=2 & auth & language")
    assert r.skills() == frozenset({"lang", "auth", "language"})


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("nursing &", 10, f"expected {ANY_ATOM}, got end of expression"),
        ("", 1, f"expected {ANY_ATOM}, got end of expression"),
        ("   ", 4, f"expected {ANY_ATOM}, got end of expression"),
        ("nursing |", 10, f"expected {ANY_ATOM}, got end of expression"),
        ("& nursing", 1, f"expected {ANY_ATOM}, got '&'"),
        ("nursing && dental", 10, f"expected {ANY_ATOM}, got '&'"),
        ("nursing || dental", 10, f"expected {ANY_ATOM}, got '|'"),
        ("()", 2, f"expected {ANY_ATOM}, got ')'"),
        ("3", 1, f"expected {ANY_ATOM}, got '3'"),
        (">=3", 1, f"expected {ANY_ATOM}, got '>='"),
        ("(nursing", 9, "expected ')', got end of expression"),
        ("((nursing | dental)", 20, "expected ')', got end of expression"),
        ("(nursing dental)", 10, "expected ')', got 'dental'"),
        ("nursing)", 8, "expected '&', '|' or end of expression, got ')'"),
        ("nursing dental", 9, "expected '&', '|' or end of expression, got 'dental'"),
        ("nursing>=2>3", 11, "expected '&', '|' or end of expression, got '>'"),
        ("(nursing))", 10, "expected '&', '|' or end of expression, got ')'"),
        ("nursing>=", 10, "expected a proficiency level 1..5, got end of expression"),
        ("nursing> dental", 10, "expected a proficiency level 1..5, got 'dental'"),
        ("lang:", 6, "expected a name after 'lang:', got end of expression"),
        ("auth:&", 6, "expected a name after 'auth:', got '&'"),
        ("lang:(sv)", 6, "expected a name after 'lang:', got '('"),
        ("nursing>=6", 10, "proficiency must be 1..5, got >=6"),
        ("nursing>=0", 10, "proficiency must be 1..5, got >=0"),
        ("nursing>5", 9, "proficiency must be 1..5, got >5"),
        ("nursing>=10", 10, "proficiency must be 1..5, got >=10"),
        ("nursing=3", 8, "unexpected character '='"),
        ("nursing<=3", 8, "unexpected character '<'"),
        ("nursing>=2.5", 11, "unexpected character '.'"),
        ("nursing ! dental", 9, "unexpected character '!'"),
        ("nursing & $x", 11, "unexpected character '$'"),
        ("nursing>=-1", 10, "unexpected character '-'"),
        ("lang : sv", 6, "unexpected character ':'"),
    ],
)
def test_error_names_column_and_expectation(text: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_requirement(text)
    err = info.value
    assert str(err) == f"column {column}: {reason} in {text!r}"
    assert err.position == column - 1
    assert err.reason == reason
    assert err.text == text


def test_documented_error_message() -> None:
    with pytest.raises(
        ExpressionError,
        match=re.escape(
            "column 10: expected a skill, lang:CODE, auth:NAME, '*' or '(', got end of expression"
        ),
    ):
        parse_requirement("nursing &")


def test_expression_error_is_a_requirement_and_value_error() -> None:
    assert issubclass(ExpressionError, RequirementError)
    assert issubclass(ExpressionError, ValueError)


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("surgery", 1, "unknown skill 'surgery'"),
        ("nursing & surgery>=2", 11, "unknown skill 'surgery'"),
        ("Nursing", 1, "unknown skill 'Nursing'"),
        ("lang:de", 6, "unknown language 'de'"),
        ("nursing & (lang:fi | lang:no)", 27, "unknown language 'no'"),
        ("auth:sign_off", 6, "unknown authorisation 'sign_off'"),
        ("lang:prescribe", 6, "unknown language 'prescribe'"),
        ("auth:sv", 6, "unknown authorisation 'sv'"),
        ("fi", 1, "unknown skill 'fi'"),
    ],
)
def test_unknown_names_with_catalogue(text: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert str(info.value) == f"column {column}: {reason} in {text!r}"
    assert info.value.position == column - 1


def _groups(n: int) -> str:
    return " & ".join(f"(s{i}a | s{i}b)" for i in range(n))


def test_six_binary_groups_expand_to_sixty_four_clauses() -> None:
    r = parse_requirement(_groups(6))
    assert len(r.clauses) == 64 == MAX_CLAUSES
    assert all(len(c) == 6 for c in r.clauses)


def test_more_than_sixty_four_clauses_rejected() -> None:
    with pytest.raises(RequirementError) as info:
        parse_requirement(_groups(7))
    message = str(info.value)
    assert "128 alternatives" in message
    assert "at most 64" in message
    assert "factor out common terms" in message


def test_clause_limit_applies_to_canonical_form() -> None:
    options = " | ".join(f"x{i}" for i in range(12))
    r = parse_requirement(f"({options}) & ({options})")
    assert r == parse_requirement(options)


# --- property-based: random expression trees ----------------------------------------

SKILL_POOL = ("nursing", "dental", "pharmacy", "mental_health", "social")
LANG_POOL = ("fi", "sv", "en")
AUTH_POOL = ("prescribe", "referral")
OPS: tuple[Literal["&", "|"], ...] = ("&", "|")


@dataclass(frozen=True)
class Leaf:
    kind: Literal["skill", "lang", "auth", "star"]
    name: str = ""
    level: int = 0


@dataclass(frozen=True)
class Node:
    op: Literal["&", "|"]
    children: tuple[Expr, ...]


Expr = Leaf | Node


def evaluate(expr: Expr, who: AgentAbilities) -> bool:
    """The reference semantics, straight from the AST."""
    if isinstance(expr, Node):
        results = [evaluate(c, who) for c in expr.children]
        return all(results) if expr.op == "&" else any(results)
    if expr.kind == "skill":
        return who.skills.get(expr.name, 0) >= expr.level
    if expr.kind == "lang":
        return expr.name in who.languages
    if expr.kind == "auth":
        return expr.name in who.authorisations
    return True


def max_clauses(expr: Expr) -> int:
    """An upper bound on the DNF size the parser can meet while building ``expr``."""
    if isinstance(expr, Leaf):
        return 1
    sizes = [max_clauses(c) for c in expr.children]
    if expr.op == "|":
        return sum(sizes)
    product = 1
    for s in sizes:
        product *= s
    return product


def lowered(expr: Expr, levels: int) -> Expr:
    if isinstance(expr, Node):
        return Node(expr.op, tuple(lowered(c, levels) for c in expr.children))
    if expr.kind == "skill":
        return Leaf("skill", expr.name, max(MIN_LEVEL, expr.level - levels))
    return expr


def shuffled(expr: Expr, rng: random.Random) -> Expr:
    if isinstance(expr, Leaf):
        return expr
    children = [shuffled(c, rng) for c in expr.children]
    rng.shuffle(children)
    return Node(expr.op, tuple(children))


def render(expr: Expr, rng: random.Random) -> str:
    """Text for ``expr``, with random spacing, '>' vs '>=', and redundant parentheses."""

    def sp() -> str:
        return rng.choice(["", "", " ", "  ", "\t"])

    def leaf(node: Leaf) -> str:
        if node.kind == "star":
            return "*"
        if node.kind in ("lang", "auth"):
            return f"{node.kind}:{node.name}"
        forms = [
            f"{node.name}{sp()}>={sp()}{node.level}",
            f"{node.name}{sp()}>{sp()}{node.level - 1}",
        ]
        if node.level == MIN_LEVEL:
            forms.append(node.name)
        return rng.choice(forms)

    def go(node: Expr, parent: str | None) -> str:
        if isinstance(node, Leaf):
            text = leaf(node)
            needs_parens = False
        else:
            text = f"{sp()}{node.op}{sp()}".join(go(c, node.op) for c in node.children)
            needs_parens = parent == "&" and node.op == "|"
        if needs_parens or rng.random() < 0.15:
            text = f"({sp()}{text}{sp()})"
        return text

    return f"{sp()}{go(expr, None)}{sp()}"


@dataclass(frozen=True)
class Scenario:
    catalogue: SkillCatalogue
    expr: Expr
    agents: tuple[AgentAbilities, ...]


# Strategies are built once per catalogue shape: building them inside every draw
# dominates the run time otherwise.
LEAF_KINDS = st.sampled_from(["skill"] * 6 + ["lang"] * 3 + ["auth"] * 2 + ["star"])
STOP_EARLY = st.sampled_from([False, False, False, True])
DEPTHS = st.sampled_from([3, 3, 3, 2, 2, 1, 0])
WIDTHS = st.integers(2, 3)
SKILL_LEVELS = st.integers(MIN_LEVEL, MAX_LEVEL)


@dataclass(frozen=True)
class Shape:
    skills: st.SearchStrategy[str]
    langs: st.SearchStrategy[str]
    auths: st.SearchStrategy[str]
    agents: st.SearchStrategy[list[AgentAbilities]]


@functools.cache
def shape(skills: tuple[str, ...], langs: tuple[str, ...], auths: tuple[str, ...]) -> Shape:
    agent = st.builds(
        AgentAbilities,
        st.fixed_dictionaries({s: st.integers(0, MAX_LEVEL) for s in skills}),
        st.frozensets(st.sampled_from(langs)),
        st.frozensets(st.sampled_from(auths)),
    )
    return Shape(
        st.sampled_from(skills),
        st.sampled_from(langs),
        st.sampled_from(auths),
        st.lists(agent, min_size=1, max_size=8),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    skills = SKILL_POOL[: draw(st.integers(3, 5))]
    langs = LANG_POOL[: draw(st.integers(2, 3))]
    auths = AUTH_POOL[: draw(st.integers(1, 2))]
    strategies = shape(skills, langs, auths)

    def leaf() -> Expr:
        # Mostly skills; '*' is rare because it swallows any disjunction it is in.
        kind = draw(LEAF_KINDS)
        if kind == "skill":
            return Leaf("skill", draw(strategies.skills), draw(SKILL_LEVELS))
        if kind == "lang":
            return Leaf("lang", draw(strategies.langs))
        if kind == "auth":
            return Leaf("auth", draw(strategies.auths))
        return Leaf("star")

    def tree(depth: int, root: bool = False) -> Expr:
        # Below the root a branch ends early a quarter of the time.
        if depth == 0 or (not root and draw(STOP_EARLY)):
            return leaf()
        op = draw(st.sampled_from(OPS))
        return Node(op, tuple(tree(depth - 1) for _ in range(draw(WIDTHS))))

    expr = tree(draw(DEPTHS), root=True)
    agents = tuple(draw(strategies.agents))
    return Scenario(SkillCatalogue(skills, langs, auths), expr, agents)


def _parse_or_skip(text: str, scenario: Scenario) -> Requirement | None:
    """Parses; a clause-limit error is only acceptable when the tree could exceed it."""
    try:
        return parse_requirement(text, scenario.catalogue)
    except ExpressionError:
        raise
    except RequirementError as exc:
        assert max_clauses(scenario.expr) > MAX_CLAUSES, exc
        assert "alternatives" in str(exc)
        return None


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios(), rng=st.randoms(use_true_random=False))
def test_compiled_matching_equals_direct_evaluation(scenario: Scenario, rng: random.Random) -> None:
    text = render(scenario.expr, rng)
    requirement = _parse_or_skip(text, scenario)
    if requirement is None:
        return
    cat = scenario.catalogue
    compiled = requirement.compile(cat)
    for who in scenario.agents:
        mask = cat.agent_mask(who)
        expected = evaluate(scenario.expr, who)
        assert compiled.matches(mask) == expected, (text, str(requirement), who)
        score = compiled.proficiency(cat, mask)
        if not expected:
            assert score == 0
        else:
            # At least the required levels of some satisfied clause, at most everything held.
            satisfied = [
                c for c, m in zip(requirement.clauses, compiled.masks, strict=True) if mask & m == m
            ]
            assert satisfied or not requirement.clauses
            floor = max(
                (sum(t.level for t in c if t.kind == "skill") for c in satisfied), default=0
            )
            assert floor <= score <= sum(who.skills.values())

    # Canonical text re-parses to the same requirement and prints the same.
    assert parse_requirement(str(requirement), cat) == requirement
    assert str(parse_requirement(str(requirement), cat)) == str(requirement)


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(), rng=st.randoms(use_true_random=False))
def test_canonical_form_is_the_set_of_minimal_clauses(
    scenario: Scenario, rng: random.Random
) -> None:
    """Every clause is met by an agent holding exactly its terms, and weakening any one
    term makes the expression fail (so no clause is redundant or over-strong). Together
    with the matching property this pins the canonical form down uniquely, so different
    renderings and child orders of the same tree must give equal requirements."""
    requirement = _parse_or_skip(render(scenario.expr, rng), scenario)
    if requirement is None:
        return
    assert requirement == parse_requirement(
        render(shuffled(scenario.expr, rng), rng), scenario.catalogue
    )
    assert (requirement.clauses == ()) == evaluate(scenario.expr, AgentAbilities())
    for clause in requirement.clauses:
        skills = {t.name: t.level for t in clause if t.kind == "skill"}
        langs = frozenset(t.name for t in clause if t.kind == "lang")
        auths = frozenset(t.name for t in clause if t.kind == "auth")
        assert len(skills) + len(langs) + len(auths) == len(clause)  # one term per name
        exact = AgentAbilities(skills, langs, auths)
        assert evaluate(scenario.expr, exact)
        assert requirement.compile(scenario.catalogue).matches(scenario.catalogue.agent_mask(exact))
        for name, level in skills.items():
            weaker = AgentAbilities({**skills, name: level - 1}, langs, auths)
            assert not evaluate(scenario.expr, weaker), (str(requirement), clause, name)
        for code in langs:
            assert not evaluate(scenario.expr, AgentAbilities(skills, langs - {code}, auths))
        for a in auths:
            assert not evaluate(scenario.expr, AgentAbilities(skills, langs, auths - {a}))


@settings(max_examples=100, deadline=None)
@given(
    scenario=scenarios(),
    rng=st.randoms(use_true_random=False),
    levels=st.integers(1, MAX_LEVEL),
)
def test_relaxed_equals_tree_with_lowered_levels(
    scenario: Scenario, rng: random.Random, levels: int
) -> None:
    requirement = _parse_or_skip(render(scenario.expr, rng), scenario)
    if requirement is None:
        return
    relaxed = requirement.relaxed(levels)
    assert relaxed == parse_requirement(
        render(lowered(scenario.expr, levels), rng), scenario.catalogue
    )
    cat = scenario.catalogue
    compiled, original = relaxed.compile(cat), requirement.compile(cat)
    for who in scenario.agents:
        mask = cat.agent_mask(who)
        assert compiled.matches(mask) == evaluate(lowered(scenario.expr, levels), who)
        if original.matches(mask):
            assert compiled.matches(mask)  # relaxing never loses an agent
        # Languages and authorisations stay hard: with them stripped the agent matches
        # only where the lowered tree itself needs neither.
        bare = AgentAbilities(who.skills)
        assert compiled.matches(cat.agent_mask(bare)) == evaluate(
            lowered(scenario.expr, levels), bare
        )


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab lang:auth:sv*()&|>=0123456789\t$-._", max_size=30))
def test_arbitrary_text_parses_or_fails_with_a_column(text: str) -> None:
    try:
        r = parse_requirement(text)
    except ExpressionError as err:
        assert 0 <= err.position <= len(text)
        assert str(err).startswith(f"column {err.position + 1}: ")
        assert err.text == text
    except RequirementError as err:
        assert "alternatives" in str(err)
    else:
        assert parse_requirement(str(r)) == r
