"""The feedback survey's request bodies, each written once as a pydantic model: the
answer handler and the opt-out handler check a posted body with it
(``router.service.body_shapes``: every problem at once, in the readers' words) and the
OpenAPI document's request schema is written from it. The answers' models give the
document's response schemas (``answer_schema``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from router.config.reader import expected
from router.service.body_shapes import Answer, BodyShape, Text, answer_schema, refuse
from router.service.feedback import E164, MAX_ANSWER_TEXT, STOP_PATTERN, STOP_WORDS

MAX_SCORE = 10


def _score(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 7.0 is an integer to JSON Schema too
    if isinstance(value, bool) or not isinstance(value, int):
        raise refuse(expected("an integer", value))
    if not 0 <= value <= MAX_SCORE:
        raise refuse(f"score must be 0..{MAX_SCORE}, got {value}")
    return value


def _answer_text(text: str) -> str:
    if not text.strip():
        raise refuse("must not be empty (leave it out)")
    return text.strip()


Score = Annotated[
    int,
    BeforeValidator(_score),
    Field(
        json_schema_extra={"minimum": 0, "maximum": MAX_SCORE},
        description=f"how likely to recommend, 0..{MAX_SCORE} (required unless opting out)",
    ),
]
AnswerText = Annotated[
    str,
    Field(
        max_length=MAX_ANSWER_TEXT,
        description="free text (kept masked); STOP, LOPETA, SLUTA or AVSLUTA alone, "
        "without a score, opts the number out",
    ),
    AfterValidator(_answer_text),
]


def is_stop(text: str | None) -> bool:
    """``text`` (stripped) is one of the keywords that opt a number out."""
    return text is not None and text.casefold() in STOP_WORDS


def _either_score_or_stop(schema: dict[str, Any]) -> None:
    # Either a score (and any text), or one of the keywords alone to opt out. Each branch
    # lists every property: the document closes an object that lists its properties
    # (and a property a branch requires may not be null there).
    properties = schema["properties"]
    schema["anyOf"] = [
        {"required": ["request_id", "score"], "properties": properties},
        {
            "required": ["request_id", "text"],
            "properties": {
                **properties,
                "score": {"type": "null"},
                "text": {**properties["text"], "pattern": STOP_PATTERN},
            },
        },
    ]


class AnswerBody(BodyShape, json_schema_extra=_either_score_or_stop):
    """An answer to a feedback request: a score (and any text), or a keyword alone."""

    request_id: Annotated[Text, Field(description="from the feedback request")]
    # Declared before ``score``, whose check reads it.
    text: AnswerText | None = None
    score: Score | None = Field(default=None, validate_default=True)

    @field_validator("score")
    @classmethod
    def _score_unless_opting_out(cls, score: int | None, info: ValidationInfo) -> int | None:
        if score is None and not is_stop(info.data.get("text")):
            raise refuse(
                f"required: an integer 0..{MAX_SCORE} (or, to opt out, the text "
                + " / ".join(w.upper() for w in sorted(STOP_WORDS))
                + " alone)"
            )
        return score

    @property
    def opts_out(self) -> bool:
        return self.score is None


def _e164(text: str) -> str:
    if E164.fullmatch(text) is None:
        raise refuse(f"expected an E.164 number such as +358401234567, got {text!r}")
    return text


class OptOutBody(BodyShape):
    """A number that opts out of feedback requests."""

    number: Annotated[
        Text,
        AfterValidator(_e164),
        Field(
            description="E.164 number, e.g. +358401234567",
            json_schema_extra={"pattern": E164.pattern.join("^$")},
        ),
    ]


# ------------------------------------------------------------ answers


class RecordedAnswer(Answer):
    """The answer as recorded (``feedback_api.answer_json``); a retry gets the same."""

    request_id: str
    contact_id: str
    score: int
    text: str | None = Field(description="masked like the logs")
    answered_at: float


class AnswerOptedOut(Answer):
    """A keyword alone: the number opted out instead of answering."""

    request_id: str
    opted_out: Literal[True]


class OptedOut(Answer):
    opted_out: Literal[True]


ANSWER_SCHEMA = answer_schema(RecordedAnswer, AnswerOptedOut)
OPTED_OUT_SCHEMA = answer_schema(OptedOut)
