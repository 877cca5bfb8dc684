"""Typed reading of a loaded YAML document, reporting every problem with its path.

Each reader takes the value found at ``path`` and either returns it converted or records
a problem and returns the fallback (``None`` unless a default is given). Callers never see
an exception; the loader raises all problems together at the end. :class:`Fields` wraps
one YAML mapping with its allowed keys, so each schema section is a few lines.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TypeVar, overload

from router.config.errors import Problems, index_path, key_path

E = TypeVar("E", bound=StrEnum)

# Names that a requirement expression (skills.expression) can refer to.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Ids of sites, teams, services and agents: no spaces or punctuation that needs quoting
# in URLs, metrics labels or logs.
IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ID_FORM = "id (letters, digits, '_', '.', '-'; starting with a letter or digit)"
NAME_FORM = "name (letters, digits, '_', '.', '-'; starting with a letter or '_')"
# The longest duration a region file or a live edit may set (a target, a timeout, a
# retry, a step): a year and a day. Past it a time is no plan but a typo, and the clock
# plus 1e308 seconds overflows every date the service writes (the audit's export).
MAX_SECONDS = 366 * 86_400


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices`` to a mistyped ``word``
    (letter case ignored), or "" when none is close; it goes before the list of what
    is allowed."""
    options = list(choices)
    by_folded = {option.casefold(): option for option in options}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.75)
    return f"did you mean {by_folded[close[0]]!r}? " if close else ""


def describe(value: object) -> str:
    """A YAML-flavoured description of a value's type, for "expected X, got Y"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def expected(what: str, value: object) -> str:
    return f"expected {what}, got {describe(value)}"


def as_mapping(problems: Problems, path: str, value: object) -> dict[str, object] | None:
    """A mapping with string keys; non-string keys are reported and left out."""
    if not isinstance(value, dict):
        problems.add(path, expected("a mapping", value))
        return None
    result: dict[str, object] = {}
    for key, item in value.items():
        if isinstance(key, str):
            result[key] = item
        else:
            problems.add(key_path(path, str(key)), f"keys must be strings, got {describe(key)}")
    return result


def as_list(problems: Problems, path: str, value: object) -> list[object] | None:
    if not isinstance(value, list):
        problems.add(path, expected("a list", value))
        return None
    return list(value)


def as_text(problems: Problems, path: str, value: object) -> str | None:
    """A non-empty string."""
    if not isinstance(value, str):
        problems.add(path, expected("a string", value))
        return None
    if not value.strip():
        problems.add(path, "must not be empty")
        return None
    return value


def as_pattern(
    problems: Problems, path: str, value: object, pattern: re.Pattern[str], what: str
) -> str | None:
    """A string matching ``pattern`` in full; ``what`` describes the allowed form."""
    text = as_text(problems, path, value)
    if text is None:
        return None
    if pattern.fullmatch(text) is None:
        problems.add(path, f"{text!r} is not a valid {what}")
        return None
    return text


def as_int(
    problems: Problems, path: str, value: object, low: int, high: int | None, what: str = ""
) -> int | None:
    """An integer (not a boolean) in ``low..high`` (``high`` None: no upper bound); ``what``
    names the quantity in the range message ("proficiency must be 1..5, got 7")."""
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(path, expected("an integer", value))
        return None
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        problems.add(path, f"{what + ' ' if what else ''}must be {bounds}, got {value}")
        return None
    return value


def as_number(
    problems: Problems,
    path: str,
    value: object,
    *,
    positive: bool = False,
    most: float = MAX_SECONDS,
) -> float | None:
    """A finite non-negative number (integer or decimal, not a boolean) of at most
    ``most``; with ``positive`` it must also be above zero. The numbers of a region file
    are durations in seconds (or a fraction of one), hence the default."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(path, expected("a number", value))
        return None
    number = float(value)
    if not math.isfinite(number):
        problems.add(path, f"must be a finite number, got {value!r}")
        return None
    if number < 0 or (positive and number == 0):
        problems.add(path, f"must be {'above 0' if positive else 'non-negative'}, got {value!r}")
        return None
    if number > most:
        limit = f"{most:,.0f}" + (" (366 days)" if most == MAX_SECONDS else "")
        problems.add(path, f"must be at most {limit}, got {value!r}")
        return None
    return number


def as_bool(problems: Problems, path: str, value: object) -> bool | None:
    if not isinstance(value, bool):
        problems.add(path, expected("a boolean (true or false)", value))
        return None
    return value


def as_enum(problems: Problems, path: str, value: object, enum: type[E], what: str) -> E | None:
    """One of the values of a string enum; the problem lists the allowed values."""
    text = as_text(problems, path, value)
    if text is None:
        return None
    try:
        return enum(text)
    except ValueError:
        values = [member.value for member in enum]
        hint = did_you_mean(text, values)
        problems.add(path, f"unknown {what} {text!r}; {hint}expected one of: {', '.join(values)}")
        return None


def items(problems: Problems, path: str, value: object) -> list[tuple[str, object]]:
    """The items of the list at ``path`` with their own paths (none when not a list)."""
    entries = as_list(problems, path, value)
    if entries is None:
        return []
    return [(index_path(path, i), entry) for i, entry in enumerate(entries)]


class Fields:
    """One YAML mapping of the schema: checks the value is a mapping, reports unknown
    and missing keys, then reads fields by name. A key set to ``null`` counts as absent
    for optional keys. When the value is not a mapping, every read returns its fallback
    without further problems, so one mistake is reported once."""

    __slots__ = ("data", "path", "problems", "required", "valid")

    def __init__(
        self,
        problems: Problems,
        path: str,
        value: object,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> None:
        self.problems = problems
        self.path = path
        self.required = frozenset(required)
        mapping = as_mapping(problems, path, value)
        self.valid = mapping is not None
        self.data: dict[str, object] = mapping if mapping is not None else {}
        if mapping is None:
            return
        allowed = (*required, *optional)
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                problems.add(
                    key_path(path, key),
                    f"unknown key {key!r}; {hint}expected one of: {', '.join(allowed)}",
                )
        for key in required:
            if key not in mapping:
                problems.add(key_path(path, key), "required key is missing")

    def at(self, key: str) -> str:
        """The path of ``key`` in this mapping."""
        return key_path(self.path, key)

    def has(self, key: str) -> bool:
        """True when ``key`` is present (a required key even when null)."""
        return key in self.data

    def given(self, key: str) -> bool:
        """True when ``key`` is present and not null."""
        return self.data.get(key) is not None

    def raw(self, key: str) -> object:
        return self.data.get(key)

    def _read(self, key: str) -> tuple[bool, object]:
        """(present, value): absent keys and nulls of optional keys are "not present";
        a null required key is present, so the reader reports its type."""
        if key not in self.data:
            return False, None
        value = self.data[key]
        if value is None and key not in self.required:
            return False, None
        return True, value

    @overload
    def text(self, key: str) -> str | None: ...
    @overload
    def text(self, key: str, default: str) -> str: ...
    def text(self, key: str, default: str | None = None) -> str | None:
        present, value = self._read(key)
        if not present:
            return default
        result = as_text(self.problems, self.at(key), value)
        return default if result is None else result

    def ident(self, key: str) -> str | None:
        """An id: letters, digits, '_', '.', '-', starting with a letter or digit."""
        present, value = self._read(key)
        if not present:
            return None
        return as_pattern(self.problems, self.at(key), value, IDENT, ID_FORM)

    @overload
    def number(self, key: str, *, positive: bool = False) -> float | None: ...
    @overload
    def number(self, key: str, default: float, *, positive: bool = False) -> float: ...
    def number(
        self, key: str, default: float | None = None, *, positive: bool = False
    ) -> float | None:
        present, value = self._read(key)
        if not present:
            return default
        result = as_number(self.problems, self.at(key), value, positive=positive)
        return default if result is None else result

    def integer(self, key: str, default: int, low: int, high: int | None) -> int:
        present, value = self._read(key)
        if not present:
            return default
        result = as_int(self.problems, self.at(key), value, low, high)
        return default if result is None else result

    def flag(self, key: str, default: bool) -> bool:
        present, value = self._read(key)
        if not present:
            return default
        result = as_bool(self.problems, self.at(key), value)
        return default if result is None else result

    def enum(self, key: str, enum: type[E], what: str, default: E) -> E:
        present, value = self._read(key)
        if not present:
            return default
        result = as_enum(self.problems, self.at(key), value, enum, what)
        return default if result is None else result

    def mapping(self, key: str) -> dict[str, object] | None:
        present, value = self._read(key)
        if not present:
            return None
        return as_mapping(self.problems, self.at(key), value)

    def items(self, key: str) -> list[tuple[str, object]]:
        """The entries of the list at ``key`` with their paths; none when absent."""
        present, value = self._read(key)
        if not present:
            return []
        return items(self.problems, self.at(key), value)
