"""docs/redis.md gives the sample region's Redis key: it is what the code makes of it."""

from __future__ import annotations

import re
from pathlib import Path

from router.store.keys import region_key
from tests.service_support import sample_region

DOC = Path(__file__).resolve().parent.parent / "docs" / "redis.md"


def test_the_documented_key_of_the_sample_region_is_the_one_the_code_makes() -> None:
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    name = sample_region().name
    found = re.search(r"\(so `(?P<name>[^`]+)` becomes `(?P<key>[^`]+)`", text)
    assert found is not None, "docs/redis.md no longer gives the sample region's key"
    assert found["name"] == name
    assert found["key"] == region_key(name)
