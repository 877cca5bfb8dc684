"""The shortcut ``mask`` takes for a text that is one number (every caller's number in
the audit) gives what the full substitutions give, and leaves nothing in clear."""

from __future__ import annotations

import random

import pytest

from router.service.logs import mask, masked_in_full


def _numbers() -> list[str]:
    rng = random.Random(15)
    out = ["+1234567", "+358401234567", "+123456789012345", "+0000000", "+3584012345678"]
    for _ in range(400):
        out.append("+" + "".join(rng.choice("0123456789") for _ in range(rng.randint(7, 15))))
    return out


@pytest.mark.parametrize("number", _numbers())
def test_a_lone_number_is_masked_as_the_full_substitutions_mask_it(number: str) -> None:
    masked = mask(number)
    assert masked == masked_in_full(number)
    assert masked != number and masked.count("*") >= 4


@pytest.mark.parametrize(
    "text",
    [
        "+123456",  # too short to be a number: left alone by both
        "+1234567890123456",  # too long
        "+358401234567 ",
        " +358401234567",
        "+358 40 123 4567",
        "tel:+358401234567",
        "+٣٥٨٤٠١٢٣٤٥٦٧",  # other digits: only the full path reads them
        "131052-308T",
        "Bearer abc",
    ],
)
def test_texts_beside_the_shortcut_get_the_full_substitutions(text: str) -> None:
    assert mask(text) == masked_in_full(text)
