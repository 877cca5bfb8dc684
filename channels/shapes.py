"""The channel webhooks' request bodies, each written once as a pydantic model.

From each model come both the check of a posted body (``router.service.body_shapes``:
every problem at once, in the readers' words) and its OpenAPI request schema. The field
types below carry the rules a JSON type cannot say - an E.164 number, a hidden number, a
key chosen by the integration, an https link - with their reason and the schema pattern
written from the same regex; the names of the region (service, urgency of that service,
language, site, own nurse and team) are checked against the running service passed as
the validation context, and the OpenAPI document's vocabulary makes them enums.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo

from channels.common import (
    CALLABLE_PREFIXES,
    E164,
    HIDDEN_NUMBERS,
    REF,
    REF_REASON,
    Own,
    callback_refusal,
)
from router.core.errors import InvalidEvent, UnknownAgent
from router.service.body_shapes import BodyShape, Text, non_blank, refuse, refuse_text
from router.service.openapi import PY_SPACE
from router.service.service import Service

MAX_MESSAGE = 4000
MAX_TOPIC = 200
MAX_LINK = 2048
MAX_EMAIL = 254
METHODS = ("phone", "email", "sms")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
E164_REASON = "expected an E.164 number such as +358401234567"


def _schema_pattern(regex: re.Pattern[str]) -> str:
    """``regex`` as a whole-string JSON Schema (ECMA) pattern with Python's whitespace."""
    return "^(?:{})$".format(regex.pattern.replace(r"\s", PY_SPACE))


def fullmatch(regex: re.Pattern[str], reason: str) -> AfterValidator:
    """A non-empty string (``Text``) that ``regex`` matches in full, else ``reason``;
    ``regex`` matches no blank string, so one check stands for both."""

    def check(text: str) -> str:
        if regex.fullmatch(text) is None:
            raise refuse_text(text, reason)
        return text

    return AfterValidator(check)


# ------------------------------------------------------------ numbers, keys, links
# The types on a webhook's path check "not blank" (``Text``) in their own validator
# (``refuse_text``): one call out of pydantic's core per field instead of two.

# A key chosen by the integration: a call id, a work item's source and id.
Ref = Annotated[
    str, fullmatch(REF, REF_REASON), Field(json_schema_extra={"pattern": _schema_pattern(REF)})
]
PhoneNumber = Annotated[
    str,
    fullmatch(E164, E164_REASON),
    Field(json_schema_extra={"pattern": _schema_pattern(E164)}),
]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in word)


def _caller(text: str) -> str:
    if E164.fullmatch(text) is not None:
        return text
    lowered = text.lower()
    if lowered in HIDDEN_NUMBERS:
        return lowered
    raise refuse_text(text, f"{E164_REASON}, or 'hidden'")


Caller = Annotated[
    str,
    AfterValidator(_caller),
    Field(
        description="E.164 number or 'hidden' (also anonymous, unknown, restricted)",
        json_schema_extra={
            "pattern": "^(?:{}|{})$".format(
                E164.pattern, "|".join(_any_case(w) for w in sorted(HIDDEN_NUMBERS))
            )
        },
    ),
]


def _callable(number: str) -> str:
    reason = callback_refusal(number)
    if reason is not None:
        raise refuse(reason)
    return number


def _callable_pattern() -> str:
    # E.164 is 7-15 digits; the prefix's digits count among them.
    branches = []
    for prefix in CALLABLE_PREFIXES:
        digits = len(prefix) - 1
        branches.append(f"{re.escape(prefix)}\\d{{{max(7 - digits, 0)},{15 - digits}}}")
    return "^(?:{})$".format("|".join(branches))


CallableNumber = Annotated[
    Text,
    AfterValidator(_callable),
    Field(
        description="a number the service calls back: E.164, Finnish (+358); hidden and "
        "foreign numbers are refused",
        json_schema_extra={"pattern": _callable_pattern()},
    ),
]


def _https_link(link: str) -> str:
    try:
        host = urlsplit(link).hostname
    except ValueError:
        host = None
    if (
        len(link) > MAX_LINK
        or any(ch.isspace() for ch in link)
        or not link.startswith("https://")
        or not host
    ):
        raise refuse(f"expected an https:// URL of at most {MAX_LINK} characters")
    return link


HttpsLink = Annotated[
    Text,
    AfterValidator(_https_link),
    Field(
        json_schema_extra={
            "format": "uri",
            "pattern": "^https://",
            "maxLength": MAX_LINK,
        }
    ),
]


# ------------------------------------------------------------ the region's names


def _service(info: ValidationInfo) -> Service | None:
    context = info.context
    return context if isinstance(context, Service) else None


# The region's names are never blank, so each check below also stands for ``Text``'s:
# a blank value is no name and is refused as empty (``refuse_text``), also when only
# the shape is checked.


def _one_of(what: str, value: str, names: Collection[str]) -> None:
    if value not in names:
        raise refuse_text(value, f"unknown {what} {value!r}; expected one of: {', '.join(names)}")


# The checks on a webhook's path read the context and test the name in place, calling
# ``_one_of`` only to refuse: a Python call less per field of every webhook.


def _known_service(name: str, info: ValidationInfo) -> str:
    service = info.context
    if isinstance(service, Service):
        engine = service.runtime.engine
        try:  # a look-up by name, not a scan of a fresh list of every service's name
            engine.service(name)
        except InvalidEvent:
            _one_of("service", name, engine.services())
    else:
        non_blank(name)
    return name


def _urgency_of_service(urgency: str, info: ValidationInfo) -> str:
    """One of the classes of the ``service`` beside it (declared before it)."""
    service, name = _service(info), info.data.get("service")
    if service is None or not isinstance(name, str):
        non_blank(urgency)
        return urgency
    classes = service.engine.service(name).urgencies
    if urgency not in classes:
        raise refuse_text(
            urgency,
            f"unknown urgency {urgency!r} for {name}; expected one of: {', '.join(classes)}",
        )
    return urgency


def _known(what: str, names_of: Callable[[Service], Collection[str]]) -> AfterValidator:
    """A check that the value is one of the running region's ``what`` (shape only
    without a service in the validation context)."""

    def check(value: str, info: ValidationInfo) -> str:
        service = info.context
        if isinstance(service, Service):
            names = names_of(service)
            if value not in names:
                _one_of(what, value, names)
        else:
            non_blank(value)
        return value

    return AfterValidator(check)


def _known_agent(agent: str, info: ValidationInfo) -> str:
    service = _service(info)
    if service is not None:
        try:
            service.engine.agent(agent)
        except UnknownAgent:
            raise refuse_text(agent, f"unknown agent {agent!r}; expected an agent id") from None
    else:
        non_blank(agent)
    return agent


ServiceName = Annotated[str, AfterValidator(_known_service)]
Urgency = Annotated[
    str,
    AfterValidator(_urgency_of_service),
    Field(description="the service's urgency class"),
]
Language = Annotated[str, _known("language", lambda service: service.region.languages)]
Site = Annotated[
    str,
    _known("site", lambda service: service.region.sites),
    Field(description="the person's own health station"),
]
OwnTeam = Annotated[
    str,
    _known("team", lambda service: service.region.teams),
    Field(
        description="the person's own team (a team id of the region): offered first "
        "when the service's steps include own_team"
    ),
]
OwnAgent = Annotated[
    str,
    AfterValidator(_known_agent),
    Field(
        description="the person's own nurse (an agent id of the roster): offered "
        "first when the service's steps start with own_agent; own_team and site default "
        "to the nurse's"
    ),
]


def own_of(service: Service, agent: str | None, team: str | None, site: str | None) -> Own:
    """The person's own nurse, team and station (already checked against the roster):
    without ``team`` (or ``site``) the nurse's team (or station) is taken, so the
    contact widens from the nurse to the nurse's team, station and the region."""
    if agent is None:
        return Own(None, team, site)
    spec = service.engine.agent(agent).spec
    return Own(agent, team or spec.team or None, site or spec.site or None)


# ------------------------------------------------------------ the bodies
# Each body's keys: required ones first, in the order an unknown key's problem lists
# them (as the readers they replace did); a ``service`` comes before the ``urgency``
# checked against it.

Message = Annotated[Text, Field(max_length=MAX_MESSAGE)]
Topic = Annotated[Text, Field(max_length=MAX_TOPIC)]


class IvrChoice(BodyShape):
    """What the caller chose in the IVR."""

    service: ServiceName
    language: Language | None = None
    urgency: Urgency | None = None


class CallBody(BodyShape):
    """``POST /api/channels/phone/calls``: a call arrived from the IVR."""

    call_id: Ref
    caller: Caller
    ivr: IvrChoice
    site: Site | None = None
    own_agent: OwnAgent | None = None
    own_team: OwnTeam | None = None


class AnsweredBody(BodyShape):
    """``POST .../calls/{call_id}/answered``: the offered agent picked up."""

    agent_id: Text


class CallCallbackBody(BodyShape):
    """``POST .../calls/{call_id}/callback``: the waiting caller asks to be called back
    (a number that cannot be called back is a 409, not a 400: the caller stays queued)."""

    number: Text | None = Field(
        default=None, description="E.164 number to call (default: the caller's)"
    )


def _contact_value(value: str, info: ValidationInfo) -> str:
    """An e-mail address for ``email``, else an E.164 number (per the method before it)."""
    method = info.data.get("method")
    if method == "email":
        if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
            raise refuse("expected an e-mail address such as name@example.fi")
    elif method is not None and not E164.fullmatch(value):
        raise refuse(E164_REASON)
    return value


def _method(method: str) -> str:
    if method not in METHODS:
        raise refuse(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    return method


class ContactPreference(BodyShape):
    """How the person wants to be answered."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {
                        "method": {"const": "email"},
                        "value": {"pattern": _schema_pattern(EMAIL), "maxLength": MAX_EMAIL},
                    }
                },
                {
                    "properties": {
                        "method": {"enum": [m for m in METHODS if m != "email"]},
                        "value": {"pattern": _schema_pattern(E164)},
                    }
                },
            ]
        }
    )

    method: Annotated[Text, AfterValidator(_method), Field(json_schema_extra={"enum": METHODS})]
    value: Annotated[
        Text,
        AfterValidator(_contact_value),
        Field(description="E.164 number (phone, sms) or e-mail address"),
    ]


class WebRequestBody(BodyShape):
    """``POST /api/channels/web/requests``: a contact request from the website."""

    service: ServiceName
    message: Message
    contact_preference: ContactPreference
    language: Language | None = None
    site: Site | None = None
    topic: Topic | None = None
    own_agent: OwnAgent | None = None
    own_team: OwnTeam | None = None


class WorkItemBody(BodyShape):
    """``POST /api/channels/workitems``: an item from an external work queue."""

    source: Annotated[Ref, Field(description="one of the token's sources")]
    item_id: Annotated[Ref, Field(description="the item's id in the source")]
    service: ServiceName
    topic: Topic
    urgency: Urgency
    link: HttpsLink
    person_ref: Ref | None = None
    phone: PhoneNumber | None = Field(
        default=None, description="the person's E.164 number: links the item with their calls"
    )
    language: Language | None = None
    site: Site | None = None
    own_agent: OwnAgent | None = None
    own_team: OwnTeam | None = None


class CallbackRequestBody(BodyShape):
    """``POST /api/channels/callbacks``: a request to be called back."""

    number: CallableNumber
    service: ServiceName
    language: Language | None = None
    site: Site | None = None
    urgency: Urgency | None = None
    window_start: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        default=None, description="a scheduled callback: the start of an offered window"
    )
    own_agent: OwnAgent | None = None

    own_team: OwnTeam | None = None
