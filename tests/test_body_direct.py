"""A body of strings only is read from its bytes by the model's own JSON parser
(``body_shapes.read_body``); whatever it accepts or refuses, the answer is the one the
API gave when every body went through ``json.loads`` and then the model: the same model,
or the same 400 with the same problems."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from channels.shapes import AnsweredBody, CallBody, WebRequestBody
from router.service.body_shapes import check_body, read_body
from router.service.http import ApiError, body_json
from router.service.service import Service
from tests.service_support import make_service

SERVICE: Service = make_service()


class Posted:
    """What ``read_body`` reads of a request: its length and its bytes."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.content_length = len(raw)
        self.can_read_body = bool(raw)

    async def read(self) -> bytes:
        return self.raw


def outcome(read: Any) -> tuple[str, object]:
    try:
        model: BaseModel = read()
    except ApiError as exc:
        return "refused", (exc.status, exc.code, exc.message, exc.problems)
    return "read", (type(model), model.model_dump())


def as_before(raw: bytes, shape: type[BaseModel]) -> tuple[str, object]:
    return outcome(lambda: check_body(body_json(raw), shape, SERVICE))


def as_now(raw: bytes, shape: type[BaseModel]) -> tuple[str, object]:
    posted: Any = Posted(raw)
    return outcome(lambda: asyncio.run(read_body(posted, shape, SERVICE)))


# Strings a body might hold: the region's names, numbers, blanks, escapes that only one
# parser takes (a lone surrogate), non-ASCII text.
TEXTS = st.one_of(
    st.sampled_from(
        [
            "general",
            "nursing_advice",
            "fi",
            "sv",
            "vaasa",
            "jakobstad",
            "+358401234567",
            "hidden",
            "Anonymous",
            "",
            " ",
            "c-1",
            "\ud800",
            "ä😀",
            "phone",
            "email",
            "a@b.fi",
        ]
    ),
    st.text(max_size=8),
)
VALUES = st.recursive(
    st.one_of(TEXTS, st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False)),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXTS, inner, max_size=2),
    max_leaves=4,
)


REGION = SERVICE.region


@st.composite
def mostly(draw: st.DrawFn, names: st.SearchStrategy[str]) -> str:
    """One of ``names`` nine times in ten, else any text."""
    return draw(names if draw(st.integers(0, 9)) else TEXTS)


SERVICES = sorted(REGION.services)
NAMES = {
    "call_id": mostly(st.sampled_from(["c-1", "x.y:z_2", "A"])),
    "caller": mostly(st.sampled_from(["+358401234567", "hidden", "Anonymous", "+4670123456"])),
    "agent_id": TEXTS,
    "site": mostly(st.sampled_from(sorted(REGION.sites))),
    "own_team": mostly(st.sampled_from(sorted(REGION.teams))),
    "own_agent": mostly(st.sampled_from(sorted(REGION.agents)[:5])),
    "language": mostly(st.sampled_from(sorted(REGION.languages))),
    "message": TEXTS,
    "topic": TEXTS,
}


@st.composite
def choice(draw: st.DrawFn) -> dict[str, Any]:
    """What a caller chose in the IVR, mostly names the region knows."""
    service = draw(mostly(st.sampled_from(SERVICES)))
    chosen: dict[str, Any] = {"service": service}
    if draw(st.booleans()):
        chosen["language"] = draw(NAMES["language"])
    if draw(st.booleans()):
        known = REGION.services[service].urgencies if service in REGION.services else {}
        chosen["urgency"] = draw(mostly(st.sampled_from(sorted(known) or ["P1"])))
    return chosen


@st.composite
def bodies(draw: st.DrawFn, shape: type[BaseModel]) -> dict[str, Any]:
    """A body of ``shape`` that is mostly right, then a few changes: a value of any
    kind, a key left out, a key it does not know."""
    body: dict[str, Any] = {}
    for key, field in shape.model_fields.items():
        if not field.is_required() and draw(st.booleans()):
            continue
        if key == "ivr":
            body[key] = draw(choice())
        elif key == "service":
            body[key] = draw(mostly(st.sampled_from(SERVICES)))
        elif key == "contact_preference":
            method = draw(mostly(st.sampled_from(["phone", "email", "sms"])))
            value = draw(mostly(st.sampled_from(["+358401234567", "a@b.fi"])))
            body[key] = {"method": method, "value": value}
        else:
            body[key] = draw(NAMES.get(key, TEXTS))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        key = draw(st.sampled_from([*shape.model_fields, "extra"]))
        if draw(st.booleans()):
            body[key] = draw(VALUES)
        else:
            body.pop(key, None)
    return body


@st.composite
def posted(draw: st.DrawFn, shape: type[BaseModel]) -> bytes:
    body: dict[str, Any] = draw(bodies(shape))
    escaped: bool = draw(st.booleans())
    twice: bool = draw(st.booleans())
    text = json.dumps(body, ensure_ascii=escaped)
    if body and twice:  # a key given twice: the last one counts
        key = draw(st.sampled_from(sorted(body)))
        text = "{" + json.dumps(key) + ": " + json.dumps(draw(VALUES)) + ", " + text[1:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16"]))
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:  # a lone surrogate, unescaped
        return text.encode("utf-8", "surrogatepass")


@given(st.data())
def test_a_call_body_is_answered_as_before(data: st.DataObject) -> None:
    raw = data.draw(posted(CallBody))
    assert as_now(raw, CallBody) == as_before(raw, CallBody)


@given(st.data())
def test_a_web_request_body_is_answered_as_before(data: st.DataObject) -> None:
    raw = data.draw(posted(WebRequestBody))
    assert as_now(raw, WebRequestBody) == as_before(raw, WebRequestBody)


@given(st.data())
def test_a_body_of_free_text_is_answered_as_before(data: st.DataObject) -> None:
    raw = data.draw(posted(AnsweredBody))
    assert as_now(raw, AnsweredBody) == as_before(raw, AnsweredBody)


def test_texts_only_json_loads_takes_are_still_read() -> None:
    """UTF-16, a byte-order mark and an escaped lone surrogate: the model's parser
    refuses them, ``json.loads`` took them, and so does the API still."""
    for raw in (
        '{"agent_id": "ä"}'.encode("utf-16"),
        b'\xef\xbb\xbf{"agent_id": "a"}',
        b'{"agent_id": "\\ud800"}',
    ):
        state, value = as_now(raw, AnsweredBody)
        assert state == "read"
        assert value == (AnsweredBody, {"agent_id": json.loads(raw)["agent_id"]})


def test_bodies_that_are_not_json_are_refused_with_the_parsers_words() -> None:
    for raw in (b"", b'{"agent_id": "a"} x', b'{"agent_id": "a\nb"}', b'{"agent_id": "\xff"}'):
        state, value = as_now(raw, AnsweredBody)
        assert state == "refused"
        assert value == as_before(raw, AnsweredBody)[1]
