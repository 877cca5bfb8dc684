"""Reading already-parsed JSON objects (websocket messages) with the config readers."""

from __future__ import annotations

from collections.abc import Sequence

from router.config.reader import Fields
from router.service.http import BodyProblems


def fields_of(
    problems: BodyProblems, body: object, required: Sequence[str], optional: Sequence[str] = ()
) -> Fields:
    fields = Fields(problems, "", body, required, optional)
    if not fields.valid:
        problems.raise_if_any()
    return fields
