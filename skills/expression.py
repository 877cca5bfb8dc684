"""Parser for skill requirement expressions such as ``nursing>=3 & lang:sv | dental>=2``.

Grammar (``&`` binds tighter than ``|``; parentheses group)::

    expr  := conj ("|" conj)*
    conj  := atom ("&" atom)*
    atom  := "(" expr ")" | "*" | "lang:" NAME | "auth:" NAME | NAME [(">=" | ">") LEVEL]

A bare skill name means level 1 or above; ``*`` means anyone. The result is a canonical
:class:`Requirement`; pass a catalogue to check every name exists. Errors name the
1-based column and what was expected there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skills.catalogue import MAX_LEVEL, MIN_LEVEL, SkillCatalogue
from skills.requirement import Requirement, RequirementError, Term, TermKind

_TOKEN = re.compile(
    r"(?P<op>>=|>|&|\||\(|\)|\*)|(?P<prefix>lang:|auth:)|(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)"
    r"|(?P<number>[0-9]{1,3})"
)


class ExpressionError(RequirementError):
    """A requirement expression is malformed; the message gives the column and what was
    expected there."""

    def __init__(self, text: str, position: int, message: str) -> None:
        self.text = text
        self.position = position
        self.reason = message
        super().__init__(f"column {position + 1}: {message} in {text!r}")


@dataclass(slots=True)
class _Token:
    kind: str
    value: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        tokens.append(_Token(kind, m.group(kind), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, catalogue: SkillCatalogue | None) -> None:
        self.text = text
        self.catalogue = catalogue
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: _Token, expected: str) -> ExpressionError:
        got = "end of expression" if tok.kind == "end" else repr(tok.value)
        return ExpressionError(self.text, tok.position, f"expected {expected}, got {got}")

    def parse(self) -> Requirement:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "a skill, lang:CODE, auth:NAME, '*' or '('")
        result = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(tok, "'&', '|' or end of expression")
        return result

    def expr(self) -> Requirement:
        result = self.conj()
        while self.peek().value == "|":
            self.take()
            result = result.any_of(self.conj())
        return result

    def conj(self) -> Requirement:
        result = self.atom()
        while self.peek().value == "&":
            self.take()
            result = result.all_of(self.atom())
        return result

    def atom(self) -> Requirement:
        tok = self.take()
        if tok.value == "(":
            inner = self.expr()
            close = self.take()
            if close.value != ")":
                raise self.fail(close, "')'")
            return inner
        if tok.value == "*":
            return Requirement.anyone()
        if tok.kind == "prefix":
            name = self.take()
            if name.kind not in ("name", "number"):
                raise self.fail(name, f"a name after {tok.value!r}")
            kind: TermKind = "lang" if tok.value == "lang:" else "auth"
            self._check(name, kind)
            return Requirement.term(Term(kind, name.value))
        if tok.kind == "name":
            level = MIN_LEVEL
            if self.peek().value in (">=", ">"):
                op = self.take()
                number = self.take()
                if number.kind != "number":
                    raise self.fail(number, f"a proficiency level {MIN_LEVEL}..{MAX_LEVEL}")
                level = int(number.value) + (1 if op.value == ">" else 0)
                if not MIN_LEVEL <= level <= MAX_LEVEL:
                    raise ExpressionError(
                        self.text,
                        number.position,
                        f"proficiency must be {MIN_LEVEL}..{MAX_LEVEL}, "
                        f"got {op.value}{number.value}",
                    )
            self._check(tok, "skill")
            return Requirement.term(Term("skill", tok.value, level))
        raise self.fail(tok, "a skill, lang:CODE, auth:NAME, '*' or '('")

    def _check(self, tok: _Token, kind: str) -> None:
        cat = self.catalogue
        if cat is None:
            return
        known = {
            "skill": cat.has_skill,
            "lang": cat.has_language,
            "auth": cat.has_authorisation,
        }[kind]
        if not known(tok.value):
            what = {"skill": "skill", "lang": "language", "auth": "authorisation"}[kind]
            raise ExpressionError(self.text, tok.position, f"unknown {what} {tok.value!r}")


def parse_requirement(text: str, catalogue: SkillCatalogue | None = None) -> Requirement:
    """Parses ``text`` into a canonical requirement, checking names against ``catalogue``."""
    return _Parser(text, catalogue).parse()
