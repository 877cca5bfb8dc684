"""The body's nesting limit holds whatever the text looks like: the bracket count that
spares most bodies the depth walk never lets a deep one through."""

from __future__ import annotations

import json

import pytest

from router.service.http import MAX_JSON_DEPTH, ApiError, decode_json


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_a_body_one_level_too_deep_is_refused_in_any_encoding() -> None:
    deep = _nested(MAX_JSON_DEPTH + 1)
    for raw in (deep, deep.encode(), deep.encode("utf-16"), deep.encode("utf-32")):
        with pytest.raises(ApiError) as refused:
            decode_json(raw, "the body")
        assert refused.value.code == "invalid_json"
        assert f"more than {MAX_JSON_DEPTH} levels" in refused.value.message


def test_a_body_at_the_limit_or_with_brackets_in_its_strings_is_read() -> None:
    assert decode_json(_nested(MAX_JSON_DEPTH).encode(), "the body") == json.loads(
        _nested(MAX_JSON_DEPTH)
    )
    shallow = {"note": "[" * 100 + "{" * 100, "ivr": {"service": "general"}}
    assert decode_json(json.dumps(shallow).encode(), "the body") == shallow
