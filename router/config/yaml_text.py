"""Reading the region file's text as YAML, with the parser's jargon said plainly.

PyYAML reports where it stopped in its own terms ("expected <block end>, but found
'<block mapping start>'", "mapping values are not allowed here"); a supervisor editing the
file needs to hear what to change. Each known message is translated, the parser's own
words kept after it in brackets for searching; unknown ones pass through unchanged.
Duplicate keys, which YAML silently resolves by keeping the last, are reported too.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from router.config.errors import ConfigError, Problems

# (the parser's problem, the plain reason). First match wins; groups are available as
# {0}, {1} in the reason.
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"found character '\\t' that cannot start any token"),
        "a tab character; YAML indents with spaces only",
    ),
    (
        re.compile(r"found character '(.)' that cannot start any token"),
        "a value cannot start with {0!r}; put the value in quotes",
    ),
    (
        re.compile(r"mapping values are not allowed here"),
        "unexpected ':'; a value that contains ': ' must be in quotes, and a key needs "
        "its own line",
    ),
    (
        re.compile(r"expected <block end>, but found '<block mapping start>'"),
        "this line is indented differently from the keys above it; keys of one mapping "
        "line up exactly",
    ),
    (
        re.compile(r"expected <block end>, but found '<block sequence start>'"),
        "this list item is indented differently from the items above it; items of one "
        "list line up exactly",
    ),
    (
        re.compile(r"expected <block end>, but found '-'"),
        "a list item ('-') where a key was expected; a key cannot hold both a value and a list",
    ),
    (
        re.compile(r"could not find expected ':'"),
        "a key without ':' (write 'key: value')",
    ),
    (
        re.compile(r"found undefined alias '(.*)'"),
        "'*{0}' refers to an anchor '&{0}' that is not defined above; a value starting "
        "with '*' must be in quotes",
    ),
    (
        re.compile(r"found unexpected end of stream"),
        "the file ends inside a quoted value; close the quotes",
    ),
    (
        re.compile(r"expected ',' or '([\]}])', but got '(.*)'"),
        "a '{0}' (or ',') is missing before {1!r}",
    ),
    (
        re.compile(r"but found another document"),
        "a second document ('---'); the region file is one document",
    ),
    (
        re.compile(r"could not determine a constructor for the tag '(.*)'"),
        "the tag {0!r} is not allowed; the region file holds plain values (a value "
        "starting with '!' must be in quotes)",
    ),
    (
        re.compile(r"found unhashable key"),
        "a key must be a plain value, not a list or mapping",
    ),
)

# What the parser was doing, said as where the problem started.
_CONTEXT_PLAIN = {
    "while parsing a flow sequence": "the list in [] that starts",
    "while parsing a flow mapping": "the mapping in {} that starts",
    "while parsing a block mapping": "the mapping that starts",
    "while parsing a block collection": "the list that starts",
    "while scanning a quoted scalar": "the quoted value that starts",
    "while scanning a simple key": "the key that starts",
    "expected a single document in the stream": "the document that starts",
}


def plain_reason(problem: str) -> str | None:
    """The parser's ``problem`` said plainly, or None when it is not one we know."""
    for pattern, reason in _PLAIN:
        match = pattern.search(problem)
        if match is not None:
            return reason.format(*match.groups())
    return None


def read_text(path: str | Path) -> str:
    """The file's text; a :class:`ConfigError` naming the file when it cannot be read."""
    source = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{source}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{source}: byte {exc.start}: not valid UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read file: {exc.strerror or exc}"]) from None


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also records duplicate mapping keys, which plain YAML
    loading resolves silently by keeping the last value."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, int, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # unhashable key; SafeConstructor reports it
                continue
            if repeated:
                mark = key_node.start_mark
                self.duplicate_keys.append((mark.line + 1, mark.column + 1, str(key)))
        return dict(super().construct_mapping(node, deep))


def load_yaml(text: str, problems: Problems) -> object:
    """The document in ``text``; a syntax error raises :class:`ConfigError` at once (the
    rest cannot be read), duplicate keys go to ``problems`` with the other problems."""
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(
            [
                f"{problems.source}: line {line}, column {column}: "
                f"unacceptable character #x{exc.character:04x}: {exc.reason}"
            ]
        ) from None
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([f"{problems.source}: {_marked(exc)}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{problems.source}: invalid YAML: {exc}"]) from None
    except ValueError as exc:  # a date-like scalar that is no date, e.g. 2026-02-30
        raise ConfigError(
            [f'{problems.source}: invalid YAML value: {exc} (quote dates: "2026-12-24")']
        ) from None
    finally:
        loader.dispose()
    for line, column, key in loader.duplicate_keys:
        problems.add(
            f"line {line}, column {column}",
            f"duplicate key {key!r} (YAML would silently keep only the last value)",
        )
    return data


def _marked(exc: yaml.MarkedYAMLError) -> str:
    """``line L, column C: reason`` for a parser error, the reason said plainly."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    plain = plain_reason(problem)
    context = ""
    if exc.context and exc.problem and exc.context_mark is not None:
        where = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        started = _CONTEXT_PLAIN.get(exc.context)
        if plain is not None and started is not None:
            context = f"; in {started} at {where}"
        else:
            context = f" ({exc.context} at {where})"
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
    if plain is None:
        return f"{where}: {problem}{context}"
    return f"{where}: {plain}{context} (YAML: {problem})"
