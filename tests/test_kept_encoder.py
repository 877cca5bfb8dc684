"""The kept encoders (``http.kept_encoder``) write the same text as ``json.dumps`` with the
same separators, and refuse what it refuses with the same error."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.service.http import dumps, kept_encoder

JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),  # NaN and infinities included: json.dumps writes them as is
        st.text(),
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
compact = kept_encoder(",", ":")


@given(JSON)
def test_the_text_is_json_dumps_text(value: Any) -> None:
    assert dumps(value) == json.dumps(value)
    assert compact(value) == json.dumps(value, separators=(",", ":"))


def test_keys_that_are_not_strings_and_floats_at_the_edges_are_written_alike() -> None:
    value = {1: math.inf, 2.5: -math.inf, None: math.nan, False: 1e300, "ä": "😀\u2028"}
    assert dumps(value) == json.dumps(value)
    assert dumps("top-level text") == json.dumps("top-level text")


def test_what_json_cannot_hold_is_refused_alike() -> None:
    with pytest.raises(TypeError) as expected:
        json.dumps({"a": object})
    with pytest.raises(TypeError) as got:
        dumps({"a": object})
    assert str(got.value) == str(expected.value)
    assert dumps({"a": [1]}) == '{"a": [1]}'  # a refusal leaves nothing behind
