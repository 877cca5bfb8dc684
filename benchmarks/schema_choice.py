"""``python -m benchmarks.schema_choice``: pydantic v2 against msgspec on the request path.

The same two shapes in each library - a supervisor's service PATCH body after the merge
(a whole service entry: urgencies, steps, callback) and an agent entry (the PUT body) -
validated from a Python object (what ``read_json`` hands a handler) and from JSON bytes,
the libraries interleaved round by round so both see the same machine. Reported: each
library's median time per body and the ratio, beside today's hand-written readers
(``read_service`` / ``read_agent``: types plus the references and cross-field rules) on
the sample region's own service and agent. Then the property the error format needs:
one body with three mistakes, and how many of them each library reports.

Then the phone webhook's body (#17 part 3): the call as ``channels.shapes.CallBody``
checks it now (pydantic, the region's names by validators, problems translated) against
a copy of the hand-written readers it replaced (``_call_by_readers``, as at commit
94b36b3), from the parsed object and from the raw bytes (``json.loads`` first, as
``read_json`` does), a good call and one with five mistakes, interleaved the same way.

msgspec is not a dependency of the project: ``make bench`` installs it, pinned, from
requirements/bench.lock into .venv/bench-lib, apart from the project's environment (run
alone without it, only pydantic runs and the report says so).
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.common import E164, HIDDEN_NUMBERS, REF, Own, read_language, read_site
from channels.common import read_service as read_service_name
from channels.shapes import CallBody, own_of
from router.config import load_region
from router.config.errors import Problems
from router.config.loader import read_agent, read_service
from router.config.reader import Fields
from router.config.shapes import agent_entry, service_entry
from router.core.errors import UnknownAgent
from router.service.body_shapes import check_body
from router.service.http import ApiError, BodyProblems
from router.service.service import Service, Settings

SAMPLE_REGION = "config/region.yaml"

ROUNDS = 7
PHONE_ROUNDS = 15
CALLS = 3_000


class Kind(StrEnum):
    OWN_SITE = "own_site"
    REGION = "region"
    RELAXED = "relaxed"
    OVERFLOW = "overflow"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PUrgency(_Strict):
    target_s: float = Field(ge=0)
    redirect: str | None = None
    warn_before_s: float | None = Field(default=None, ge=0)


class PStep(_Strict):
    kind: Kind = Field(strict=False)
    duration_s: float | None = Field(default=None, ge=0)
    relax_levels: int | None = Field(default=None, ge=1, le=4)
    overflow_to: str | None = None


class PCallback(_Strict):
    attempts: int = Field(default=3, ge=1, le=20)
    retry_s: float = Field(default=900.0, gt=0)
    window_s: float = Field(default=3600.0, gt=0)


class PService(_Strict):
    name: str
    requirement: str
    urgencies: dict[str, PUrgency]
    default_urgency: str | None = None
    steps: list[PStep] | None = None
    agent_choice: str = "longest_idle"
    wrapup_s: float = Field(default=0.0, ge=0)
    offer_timeout_s: float = Field(default=30.0, gt=0)
    decline_cooldown_s: float = Field(default=120.0, ge=0)
    timeout_cooldown_s: float = Field(default=0.0, ge=0)
    not_ready_on_decline: bool = False
    not_ready_on_timeout: bool = True
    warn_fraction: float = Field(default=0.2, ge=0, lt=1)
    callback: PCallback | None = None


class PAgent(_Strict):
    id: str
    name: str
    team: str
    languages: list[str] = Field(min_length=1)
    site: str | None = None
    skills: dict[str, int] = Field(default_factory=dict)
    authorisations: list[str] = Field(default_factory=list)
    capacity: dict[str, int] = Field(default_factory=lambda: {"voice": 1})
    display_name: str | None = None
    partner: str | None = None


def msgspec_models(msgspec: Any) -> tuple[Any, Any]:
    """The same shapes as msgspec Structs (built at run time: msgspec is optional)."""
    meta = msgspec.Meta
    non_neg = Annotated[float, meta(ge=0)]
    positive = Annotated[float, meta(gt=0)]
    options = {"forbid_unknown_fields": True, "kw_only": True}
    urgency = msgspec.defstruct(
        "Urgency",
        [
            ("target_s", non_neg),
            ("redirect", str | None, None),
            ("warn_before_s", float | None, None),
        ],
        **options,
    )
    step = msgspec.defstruct(
        "Step",
        [
            ("kind", Kind),
            ("duration_s", non_neg | None, None),
            ("relax_levels", Annotated[int, meta(ge=1, le=4)] | None, None),
            ("overflow_to", str | None, None),
        ],
        **options,
    )
    callback = msgspec.defstruct(
        "Callback",
        [
            ("attempts", Annotated[int, meta(ge=1, le=20)], 3),
            ("retry_s", positive, 900.0),
            ("window_s", positive, 3600.0),
        ],
        **options,
    )
    service = msgspec.defstruct(
        "Service",
        [
            ("name", str),
            ("requirement", str),
            ("urgencies", dict[str, urgency]),  # type: ignore[valid-type]
            ("default_urgency", str | None, None),
            ("steps", list[step] | None, None),  # type: ignore[valid-type]
            ("agent_choice", str, "longest_idle"),
            ("wrapup_s", non_neg, 0.0),
            ("offer_timeout_s", positive, 30.0),
            ("decline_cooldown_s", non_neg, 120.0),
            ("timeout_cooldown_s", non_neg, 0.0),
            ("not_ready_on_decline", bool, False),
            ("not_ready_on_timeout", bool, True),
            ("warn_fraction", Annotated[float, meta(ge=0, lt=1)], 0.2),
            ("callback", callback | None, None),
        ],
        **options,
    )
    agent = msgspec.defstruct(
        "Agent",
        [
            ("id", str),
            ("name", str),
            ("team", str),
            ("languages", Annotated[list[str], meta(min_length=1)]),
            ("site", str | None, None),
            ("skills", dict[str, int], msgspec.field(default_factory=dict)),
            ("authorisations", list[str], msgspec.field(default_factory=list)),
            ("capacity", dict[str, int], msgspec.field(default_factory=lambda: {"voice": 1})),
            ("display_name", str | None, None),
            ("partner", str | None, None),
        ],
        **options,
    )
    return service, agent


SERVICE_BODY: dict[str, Any] = {
    "name": "nursing_advice",
    "requirement": "nursing>=2",
    "urgencies": {
        "P1": {"target_s": 0, "redirect": "emergency 112"},
        "P2": {"target_s": 900, "warn_before_s": 120},
        "P3": {"target_s": 1800},
        "P4": {"target_s": 7200},
    },
    "default_urgency": "P3",
    "steps": [
        {"kind": "own_site", "duration_s": 60},
        {"kind": "region", "duration_s": 300},
        {"kind": "relaxed", "duration_s": 600, "relax_levels": 1},
        {"kind": "overflow", "overflow_to": "symptom_assessment"},
    ],
    "agent_choice": "longest_idle",
    "wrapup_s": 30.0,
    "offer_timeout_s": 20.0,
    "decline_cooldown_s": 120.0,
    "timeout_cooldown_s": 0.0,
    "not_ready_on_decline": False,
    "not_ready_on_timeout": True,
    "warn_fraction": 0.2,
    "callback": {"attempts": 3, "retry_s": 900.0, "window_s": 3600.0},
}
AGENT_BODY: dict[str, Any] = {
    "id": "a018",
    "name": "Aino Virtanen",
    "team": "oulu-nurses",
    "site": "oulu",
    "skills": {"nursing": 3, "mental_health": 2, "child_family": 1},
    "languages": ["fi", "sv"],
    "authorisations": ["omaolo"],
    "capacity": {"voice": 1, "chat": 2},
}
# Three mistakes: a misspelt key, a negative duration, a string for a boolean.
BROKEN_SERVICE: dict[str, Any] = {
    **SERVICE_BODY,
    "wrapup": 30,
    "offer_timeout_s": -1,
    "not_ready_on_timeout": "yes",
}


def _per_call(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        fn()
    return (time.perf_counter() - started) / CALLS


def main() -> None:
    try:
        msgspec: Any = importlib.import_module("msgspec")
    except ImportError:
        msgspec = None
    cases: dict[str, dict[str, Callable[[], object]]] = {}
    models: tuple[tuple[str, type[BaseModel], dict[str, Any]], ...] = (
        ("service", PService, SERVICE_BODY),
        ("agent", PAgent, AGENT_BODY),
    )
    for label, model, body in models:
        raw = json.dumps(body).encode()
        cases[f"{label} from object"] = {"pydantic": partial(model.model_validate, body)}
        cases[f"{label} from JSON"] = {"pydantic": partial(model.model_validate_json, raw)}
    if msgspec is not None:
        m_service, m_agent = msgspec_models(msgspec)
        for label, struct, body in (
            ("service", m_service, SERVICE_BODY),
            ("agent", m_agent, AGENT_BODY),
        ):
            raw = json.dumps(body).encode()
            cases[f"{label} from object"]["msgspec"] = partial(msgspec.convert, body, struct)
            decoder = msgspec.json.Decoder(struct)
            cases[f"{label} from JSON"]["msgspec"] = partial(decoder.decode, raw)
    # Today's hand-written readers on the same kind of body (the sample region's own
    # nursing_advice and first agent, as the supervisor API dumps them), for scale.
    region = load_region(SAMPLE_REGION)
    a_service = service_entry(region.services["nursing_advice"])
    an_agent = agent_entry(next(iter(region.agents.values())), region.languages)
    cases["service from object"]["readers"] = lambda: read_service(
        Problems("bench"), "", a_service, region
    )
    cases["agent from object"]["readers"] = lambda: read_agent(
        Problems("bench"), "", an_agent, region
    )
    times: dict[tuple[str, str], list[float]] = {}
    for round_no in range(ROUNDS):
        for case, libraries in cases.items():
            order = list(libraries.items())
            if round_no % 2:
                order.reverse()
            for library, fn in order:
                times.setdefault((case, library), []).append(_per_call(fn))
        print(f"round {round_no + 1}/{ROUNDS}", file=sys.stderr, flush=True)
    print(f"{CALLS} validations per library per round, {ROUNDS} rounds interleaved (medians)\n")
    print("| body | pydantic v2 µs | msgspec µs | pydantic / msgspec | today's readers µs |")
    print("|---|---:|---:|---:|---:|")
    for case in cases:
        p = statistics.median(times[(case, "pydantic")]) * 1e6
        m_text, ratio = "(not installed)", ""
        if (case, "msgspec") in times:
            m = statistics.median(times[(case, "msgspec")]) * 1e6
            m_text, ratio = f"{m:.1f}", f"{p / m:.1f}"
        r_text = ""
        if (case, "readers") in times:
            r_text = f"{statistics.median(times[(case, 'readers')]) * 1e6:.1f}"
        print(f"| {case} | {p:.1f} | {m_text} | {ratio} | {r_text} |")
    print("\nA body with three mistakes (misspelt key, negative timeout, string for a flag):")
    try:
        PService.model_validate(BROKEN_SERVICE)
    except ValidationError as exc:
        found = [f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors()]
        print(f"- pydantic reports {len(found)}: {'; '.join(found)}")
    if msgspec is not None:
        try:
            msgspec.convert(BROKEN_SERVICE, m_service)
        except msgspec.ValidationError as exc:
            print(f"- msgspec reports 1 (it stops at the first): {exc}")


# ------------------------------------------------------------ the phone webhook's body

# What the IVR posts for most calls; the second names the caller's own nurse too.
CALL_BODY: dict[str, Any] = {
    "call_id": "k-20261206-000123",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi", "urgency": "P3"},
    "site": "vaasa",
}
CALL_WITH_NURSE: dict[str, Any] = {**CALL_BODY, "own_agent": "a001"}
BROKEN_CALL: dict[str, Any] = {
    "call_id": "has space",
    "caller": "12345",
    "ivr": {"service": "astrology", "language": "de"},
    "extra": 1,
    "site": 3,
}


def _call_by_readers(body: object, service: Service) -> tuple[str | None, ...]:
    """The phone webhook's body check before #17 part 3 (``PhoneChannel.arrived`` with
    ``read_ref``, ``read_own`` and ``read_urgency`` of ``channels.common``, removed)."""
    problems = BodyProblems()
    f = Fields(problems, "", body, ("call_id", "caller", "ivr"), ("site", "own_agent", "own_team"))
    if not f.valid:
        problems.raise_if_any()
    call_id = f.text("call_id")
    if call_id is not None and not REF.fullmatch(call_id):
        problems.add("call_id", "expected 1-128 letters, digits, '_', '.', ':' or '-'")
    caller = f.text("caller")
    if caller is not None and caller.lower() not in HIDDEN_NUMBERS and not E164.fullmatch(caller):
        problems.add("caller", "expected an E.164 number such as +358401234567, or 'hidden'")
    site = read_site(f, problems, service)
    agent, team = f.text("own_agent"), f.text("own_team")
    if team is not None and team not in service.region.teams:
        problems.add(
            "own_team",
            f"unknown team {team!r}; expected one of: {', '.join(service.region.teams)}",
        )
        team = None
    own = Own(None, team, site)
    if agent is not None:
        try:
            spec = service.engine.agent(agent).spec
            own = Own(agent, team or spec.team, site or spec.site)
        except UnknownAgent:
            problems.add("own_agent", f"unknown agent {agent!r}; expected an agent id")
    ivr = f.mapping("ivr")
    ivr_f = Fields(
        problems, "ivr", ivr if ivr is not None else {}, ("service",), ("language", "urgency")
    )
    service_name = read_service_name(ivr_f, problems, service)
    urgency = ivr_f.text("urgency")
    classes = service.engine.service(service_name).urgencies if service_name else ()
    if urgency is not None and service_name is not None and urgency not in classes:
        problems.add(
            "ivr.urgency",
            f"unknown urgency {urgency!r} for {service_name}; "
            f"expected one of: {', '.join(classes)}",
        )
    language = read_language(ivr_f, problems, service)
    problems.raise_if_any()
    return call_id, caller, service_name, urgency, language, own.agent, own.team, own.site


def _call_by_model(body: object, service: Service) -> tuple[str | None, ...]:
    call = check_body(body, CallBody, service)
    own = own_of(service, call.own_agent, call.own_team, call.site)
    ivr = call.ivr
    return (
        call.call_id,
        call.caller,
        ivr.service,
        ivr.urgency,
        ivr.language,
        own.agent,
        own.team,
        own.site,
    )


def _refused(check: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        try:
            return check()
        except ApiError as exc:
            return exc.problems

    return run


def _fields(check: Callable[[], object]) -> set[str]:
    """The fields ``check`` refuses (it must refuse)."""
    try:
        check()
    except ApiError as exc:
        return {field for field, _ in exc.problems}
    raise AssertionError("the broken call was accepted")


def phone_body() -> None:
    service = Service(load_region(SAMPLE_REGION), Settings())
    good, broken = json.dumps(CALL_BODY).encode(), json.dumps(BROKEN_CALL).encode()
    nurse = json.dumps(CALL_WITH_NURSE).encode()
    for body in (CALL_BODY, CALL_WITH_NURSE):
        assert _call_by_readers(body, service) == _call_by_model(body, service)
    # The copy is faithful: the same values for the good call, the same fields refused.
    readers_found = _fields(lambda: _call_by_readers(BROKEN_CALL, service))
    model_found = _fields(lambda: _call_by_model(BROKEN_CALL, service))
    assert readers_found == model_found, (readers_found, model_found)
    cases: dict[str, dict[str, Callable[[], object]]] = {
        "good call, parsed": {
            "readers": lambda: _call_by_readers(CALL_BODY, service),
            "model": lambda: _call_by_model(CALL_BODY, service),
        },
        "good call, from bytes": {
            "readers": lambda: _call_by_readers(json.loads(good), service),
            "model": lambda: _call_by_model(json.loads(good), service),
        },
        "call naming the own nurse, from bytes": {
            "readers": lambda: _call_by_readers(json.loads(nurse), service),
            "model": lambda: _call_by_model(json.loads(nurse), service),
        },
        "call with 5 mistakes, from bytes": {
            "readers": _refused(lambda: _call_by_readers(json.loads(broken), service)),
            "model": _refused(lambda: _call_by_model(json.loads(broken), service)),
        },
    }
    times: dict[tuple[str, str], list[float]] = {}
    for round_no in range(PHONE_ROUNDS):
        for case, sides in cases.items():
            order = list(sides.items())
            if round_no % 2:
                order.reverse()
            for side, fn in order:
                times.setdefault((case, side), []).append(_per_call(fn))
    print(
        f"\nThe phone webhook's body ({CALLS} checks per side per round, {PHONE_ROUNDS} rounds):\n"
    )
    print("| body | hand-written readers µs | CallBody model µs | model / readers |")
    print("|---|---:|---:|---:|")
    for case in cases:
        r = statistics.median(times[(case, "readers")]) * 1e6
        m = statistics.median(times[(case, "model")]) * 1e6
        print(f"| {case} | {r:.1f} | {m:.1f} | {m / r:.2f} |")


if __name__ == "__main__":
    if sys.argv[1:] == ["phone"]:
        phone_body()
    else:
        main()
        phone_body()
