"""The region file's YAML mistakes come back in plain words, at the line and column,
with the parser's own words kept for searching."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import ConfigError, load_region
from router.config.yaml_text import plain_reason

CASES = [
    (
        "tab",
        "region:\n\tname: x\n",
        "line 2, column 1: a tab character; YAML indents with spaces only "
        "(YAML: found character '\\t' that cannot start any token)",
    ),
    (
        "unquoted-colon",
        "region:\n  name: Vaasa: centre\n",
        "line 2, column 14: unexpected ':'; a value that contains ': ' must be in quotes, and a "
        "key needs its own line (YAML: mapping values are not allowed here)",
    ),
    (
        "key-indented-less",
        "region:\n  name: x\n timezone: y\n",
        "line 3, column 2: this line is indented differently from the keys above it; keys of "
        "one mapping line up exactly; in the mapping that starts at line 1, column 1 "
        "(YAML: expected <block end>, but found '<block mapping start>')",
    ),
    (
        "list-item-indented-less",
        "skills:\n  - nursing\n - dental\n",
        "line 3, column 2: this list item is indented differently from the items above it; "
        "items of one list line up exactly; in the mapping that starts at line 1, column 1 "
        "(YAML: expected <block end>, but found '<block sequence start>')",
    ),
    (
        "undefined-alias",
        "region: {name: *x}\n",
        "line 1, column 16: '*x' refers to an anchor '&x' that is not defined above; a value "
        "starting with '*' must be in quotes (YAML: found undefined alias 'x')",
    ),
    (
        "value-starting-with-at",
        "region: {name: @home}\n",
        "line 1, column 16: a value cannot start with '@'; put the value in quotes "
        "(YAML: found character '@' that cannot start any token)",
    ),
    (
        "unclosed-quote",
        'region: {name: "x}\n',
        "line 2, column 1: the file ends inside a quoted value; close the quotes; in the quoted "
        "value that starts at line 1, column 16 (YAML: found unexpected end of stream)",
    ),
    (
        "two-documents",
        "region: {name: x}\n---\nskills: []\n",
        "line 2, column 1: a second document ('---'); the region file is one document; in the "
        "document that starts at line 1, column 1 (YAML: but found another document)",
    ),
    (
        "python-tag",
        "region: !!python/object:os.system {}\n",
        "line 1, column 9: the tag 'tag:yaml.org,2002:python/object:os.system' is not allowed; "
        "the region file holds plain values (a value starting with '!' must be in quotes) "
        "(YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system')",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_yaml_mistakes_are_said_plainly(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "region.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_region(path)
    assert info.value.problems == [f"{path}: {expected}"]


def test_a_parser_message_not_known_here_passes_through_unchanged() -> None:
    assert plain_reason("found a brand new kind of mistake") is None
    assert plain_reason("mapping values are not allowed here") is not None
