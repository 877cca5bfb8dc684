"""Reads a service's ``feedback`` block from the region file (the net promoter score
survey sent after a contact, ``router/service/feedback.py``), reporting every problem at
once with its path. The shape, documented key by key in ``docs/configuration.md``::

    feedback:                        # optional; absent: no feedback requests
      after: [resolved, ...]         # outcomes that make a contact eligible (non-empty)
      channels: [voice, callback]    # optional; default: every channel with a number
      cooldown_days: 30              # at most one request per phone number per period
      answer_window_s: 259200        # answers after this (from the request) are refused
      texts: {fi: "...", sv: "..."}  # optional; the SMS text per language

Readers never raise: problems go to ``problems`` and the result must not be used when any
was reported.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from router.config.errors import Problems, key_path
from router.config.reader import Fields, as_enum, as_text
from router.core.model import AGENT_OUTCOMES, Channel

_KEYS_REQUIRED = ("after",)
_KEYS_OPTIONAL = ("channels", "cooldown_days", "answer_window_s", "texts")
DEFAULT_COOLDOWN_DAYS = 30
DEFAULT_ANSWER_WINDOW_S = 3 * 86_400.0
MAX_TEXT = 480  # three SMS segments

# Outcomes after which a person may be asked: a contact was made (an agent closed it).
ELIGIBLE_OUTCOMES: tuple[str, ...] = tuple(o for o in AGENT_OUTCOMES if o != "unreachable")

# Channels whose contacts carry a phone number the request can go to.
NUMBERED: frozenset[Channel] = frozenset(
    {Channel.VOICE, Channel.CALLBACK, Channel.WEB, Channel.WORKITEM}
)


@dataclass(frozen=True, slots=True)
class FeedbackPolicy:
    """A service's feedback survey: after which outcomes and channels, how often per
    number, how long an answer is taken, and the texts."""

    after: frozenset[str]
    channels: frozenset[Channel] = NUMBERED
    cooldown_days: int = DEFAULT_COOLDOWN_DAYS
    answer_window_s: float = DEFAULT_ANSWER_WINDOW_S
    texts: Mapping[str, str] = field(default_factory=dict)

    @property
    def cooldown_s(self) -> float:
        return self.cooldown_days * 86_400.0


def read_feedback(
    problems: Problems, path: str, value: object, languages: Collection[str] | None
) -> FeedbackPolicy | None:
    """A service's ``feedback`` (``value`` None: none). ``languages`` are the region's,
    which ``texts`` may name (None: not checked)."""
    if value is None:
        return None
    entry = Fields(problems, path, value, _KEYS_REQUIRED, _KEYS_OPTIONAL)
    if not entry.valid:
        return None
    after: set[str] = set()
    for where, outcome in entry.items("after"):
        if outcome not in ELIGIBLE_OUTCOMES:
            problems.add(
                where,
                f"expected an outcome after which a person can be asked, one of: "
                f"{', '.join(ELIGIBLE_OUTCOMES)}; got {outcome!r}",
            )
        else:
            after.add(str(outcome))
    if entry.has("after") and isinstance(entry.raw("after"), list) and not entry.raw("after"):
        problems.add(entry.at("after"), "must list at least one outcome")
    channels: set[Channel] = set()
    for where, raw in entry.items("channels"):
        channel = as_enum(problems, where, raw, Channel, "channel")
        if channel is None:
            continue
        if channel not in NUMBERED:
            problems.add(
                where,
                f"{channel.value} contacts carry no phone number to send a request to; "
                f"expected some of: {', '.join(sorted(c.value for c in NUMBERED))}",
            )
        channels.add(channel)
    if entry.given("channels") and not channels and isinstance(entry.raw("channels"), list):
        problems.add(entry.at("channels"), "must list at least one channel (or be left out)")
    texts: dict[str, str] = {}
    for language, raw in (entry.mapping("texts") or {}).items():
        where = key_path(entry.at("texts"), language)
        if languages is not None and language not in languages:
            problems.add(
                where,
                f"unknown language {language!r}; expected one of: {', '.join(languages)}",
            )
            continue
        text = as_text(problems, where, raw)
        if text is None:
            continue
        if len(text) > MAX_TEXT:
            problems.add(where, f"at most {MAX_TEXT} characters, got {len(text)}")
            continue
        texts[language] = text
    return FeedbackPolicy(
        after=frozenset(after),
        channels=frozenset(channels) or NUMBERED,
        cooldown_days=entry.integer("cooldown_days", DEFAULT_COOLDOWN_DAYS, 1, 3650),
        answer_window_s=entry.number("answer_window_s", DEFAULT_ANSWER_WINDOW_S, positive=True),
        texts=texts,
    )
