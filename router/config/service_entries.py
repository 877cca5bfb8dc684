"""The ``services:`` entries of the region file, and one service for a live edit.

Names are read first (an overflow step may name a service defined further down), then
each entry: its requirement against the skill catalogue, urgency classes, routing steps
(the rules of ``router.core.service_rules``, worded here with their paths in the file),
the offer settings and callback settings, and the file-only parts (opening hours, after
hours, feedback) kept aside in :class:`~router.config.known_names.Known`. Overflow loops
are reported once each.
"""

from __future__ import annotations

from collections.abc import Mapping

from router.config.errors import Problems, key_path
from router.config.feedback import read_feedback
from router.config.hours_reader import read_after_hours, read_hours
from router.config.known_names import Known, known_list, known_of, named, unique, unknown
from router.config.reader import ID_FORM, IDENT, Fields, as_enum, as_pattern, as_text, did_you_mean
from router.config.region import Region
from router.config.shapes import (
    MAX_CALLBACK_ATTEMPTS,
    MAX_RELAX,
    TIMEOUT_COOLDOWN_S,
    CallbackShape,
    ServiceShape,
    StepShape,
    UrgencyShape,
    optional_keys,
    required_keys,
)
from router.core.model import AgentChoice, ServiceSpec, Step, StepKind, UrgencyClass
from router.core.service_rules import (
    WARN_FRACTION_BELOW,
    default_queues,
    needs_duration,
    reaches_region,
    takes_overflow_target,
    takes_relax_levels,
)
from skills import (
    Requirement,
    RequirementError,
    SkillCatalogue,
    parse_requirement,
)

# Defaults come from the core model, so the file and the engine never disagree.
_SERVICE_DEFAULTS = ServiceSpec(
    name="", requirement=Requirement.anyone(), urgencies={}, default_urgency=""
)
# The keys of each part of an entry, from its one shape (router.config.shapes).
_SERVICE_REQUIRED = required_keys(ServiceShape)
_SERVICE_OPTIONAL = optional_keys(ServiceShape)
_URGENCY_KEYS = (required_keys(UrgencyShape), optional_keys(UrgencyShape))
_STEP_KEYS = (required_keys(StepShape), optional_keys(StepShape))
_CALLBACK_KEYS = (required_keys(CallbackShape), optional_keys(CallbackShape))
_LIVE_ONLY_IN_FILE = ("hours", "after_hours")


def read_service(
    problems: Problems,
    path: str,
    value: object,
    region: Region,
    services: Mapping[str, ServiceSpec] | None = None,
) -> ServiceSpec | None:
    """One service in the shape of an entry of the ``services:`` list, checked by the same
    rules as the file against ``region``'s catalogue. ``services`` are the services as they
    are now (default: the region's), for overflow targets and loops; the entry replaces
    the one of the same name among them. Every problem goes to ``problems``, with paths
    under ``path``; the result is None when the value is unusable and must not be used
    when any problem was reported."""
    current = region.services if services is None else services
    if isinstance(value, dict) and "name" in value:
        as_pattern(problems, key_path(path, "name"), value["name"], IDENT, ID_FORM)
    for key in _LIVE_ONLY_IN_FILE:
        if isinstance(value, dict) and key in value:
            problems.add(key_path(path, key), "opening hours are set in the region file")
    if isinstance(value, dict) and "feedback" in value:
        problems.add(key_path(path, "feedback"), "the feedback survey is set in the region file")
    spec, targets = _service(problems, path, value, known_of(region, current))
    if spec is not None:
        _loops_through(problems, spec.name, targets, current)
    return spec


def _loops_through(
    problems: Problems,
    name: str,
    targets: list[tuple[str, str]],
    services: Mapping[str, ServiceSpec],
) -> None:
    """Reports overflow loops that the new steps of service ``name`` would close (the
    other services, already checked, have none among themselves)."""
    graph = {
        other: [s.overflow_to for s in spec.steps if s.overflow_to is not None]
        for other, spec in services.items()
        if other != name
    }

    def route(start: str, seen: set[str]) -> list[str] | None:
        if start == name:
            return [name]
        if start in seen:
            return None
        seen.add(start)
        for nxt in graph.get(start, []):
            rest = route(nxt, seen)
            if rest is not None:
                return [start, *rest]
        return None

    for target_path, target in targets:
        loop = route(target, set())
        if loop is not None:
            problems.add(target_path, f"overflow loop: {' -> '.join((name, *loop))}")


def read_services(problems: Problems, top: Fields, known: Known) -> dict[str, ServiceSpec]:
    entries = [(named(path, value, "name"), value) for path, value in top.items("services")]
    if top.raw("services") == []:
        problems.add(top.at("services"), "must define at least one service")
    # Names first: overflow steps may refer to services defined further down.
    names: list[tuple[str, str]] = []
    for path, value in entries:
        if isinstance(value, dict) and "name" in value:
            name = as_pattern(problems, key_path(path, "name"), value["name"], IDENT, ID_FORM)
            if name is not None:
                names.append((key_path(path, "name"), name))
    repeats = unique(problems, names, "service name")
    known.services = list(dict.fromkeys(name for _, name in names))
    services: dict[str, ServiceSpec] = {}
    overflows: dict[str, list[tuple[str, str]]] = {}
    for path, value in entries:
        spec, targets = _service(problems, path, value, known)
        if spec is not None and key_path(path, "name") not in repeats:
            services[spec.name] = spec
            overflows[spec.name] = targets
    _overflow_loops(problems, overflows)
    return services


def _service(
    problems: Problems, path: str, value: object, known: Known
) -> tuple[ServiceSpec | None, list[tuple[str, str]]]:
    """One service, and its overflow targets as (path, service) for the loop check."""
    entry = Fields(problems, path, value, _SERVICE_REQUIRED, _SERVICE_OPTIONAL)
    if not entry.valid:
        return None, []
    # The name was checked with the other names; read it quietly.
    raw_name = entry.raw("name")
    name = raw_name if isinstance(raw_name, str) and IDENT.fullmatch(raw_name) else None
    requirement = _requirement(problems, entry, known.checked_catalogue())
    urgencies = _urgencies(problems, entry)
    default_urgency = _default_urgency(problems, entry, urgencies)
    steps, targets = _steps(problems, entry, name, known)
    warn_fraction = entry.number("warn_fraction", _SERVICE_DEFAULTS.warn_fraction)
    if warn_fraction >= WARN_FRACTION_BELOW:
        problems.add(
            entry.at("warn_fraction"),
            f"must be below {WARN_FRACTION_BELOW:g}, got {warn_fraction!r}",
        )
    callback = Fields(
        problems,
        entry.at("callback"),
        entry.raw("callback") or {},
        *_CALLBACK_KEYS,
    )
    attempts = callback.integer(
        "attempts", _SERVICE_DEFAULTS.callback_attempts, 1, MAX_CALLBACK_ATTEMPTS
    )
    if name is not None:
        known.hours[name] = read_hours(
            problems, entry.at("hours"), entry.raw("hours"), known.timezone
        )
        known.after_hours[name] = read_after_hours(
            problems,
            entry.at("after_hours"),
            entry.raw("after_hours"),
            # Not checked against a broken urgency list: one mistake, one report.
            urgencies.keys() if urgencies else None,
        )
        feedback = read_feedback(
            problems, entry.at("feedback"), entry.raw("feedback"), known.languages
        )
        if feedback is not None:
            known.feedback[name] = feedback
    spec = ServiceSpec(
        name=name or "",
        requirement=requirement,
        urgencies=urgencies,
        default_urgency=default_urgency,
        steps=steps,
        agent_choice=entry.enum(
            "agent_choice", AgentChoice, "agent choice", _SERVICE_DEFAULTS.agent_choice
        ),
        wrapup_s=entry.number("wrapup_s", _SERVICE_DEFAULTS.wrapup_s),
        offer_timeout_s=entry.number(
            "offer_timeout_s", _SERVICE_DEFAULTS.offer_timeout_s, positive=True
        ),
        decline_cooldown_s=entry.number("decline_cooldown_s", _SERVICE_DEFAULTS.decline_cooldown_s),
        timeout_cooldown_s=entry.number("timeout_cooldown_s", TIMEOUT_COOLDOWN_S),
        not_ready_on_decline=entry.flag(
            "not_ready_on_decline", _SERVICE_DEFAULTS.not_ready_on_decline
        ),
        not_ready_on_timeout=entry.flag(
            "not_ready_on_timeout", _SERVICE_DEFAULTS.not_ready_on_timeout
        ),
        warn_fraction=warn_fraction,
        callback_attempts=attempts,
        callback_retry_s=callback.number(
            "retry_s", _SERVICE_DEFAULTS.callback_retry_s, positive=True
        ),
        callback_window_s=callback.number(
            "window_s", _SERVICE_DEFAULTS.callback_window_s, positive=True
        ),
    )
    return (spec if name is not None else None), targets


def _requirement(
    problems: Problems, entry: Fields, catalogue: SkillCatalogue | None
) -> Requirement:
    text = entry.text("requirement")
    if text is None:
        return Requirement.anyone()
    try:
        return parse_requirement(text, catalogue)
    except RequirementError as exc:
        problems.add(entry.at("requirement"), str(exc))
        return Requirement.anyone()


def _urgencies(problems: Problems, entry: Fields) -> dict[str, UrgencyClass]:
    mapping = entry.mapping("urgencies")
    if mapping is None:
        return {}
    if not mapping:
        problems.add(entry.at("urgencies"), "must define at least one urgency class")
    urgencies: dict[str, UrgencyClass] = {}
    for name, value in mapping.items():
        path = entry.at(f"urgencies.{name}")
        if IDENT.fullmatch(name) is None:
            problems.add(path, f"{name!r} is not a valid urgency class {ID_FORM}")
            continue
        spec = Fields(problems, path, value, *_URGENCY_KEYS)
        urgencies[name] = UrgencyClass(
            name=name,
            target_s=spec.number("target_s", 0.0),
            redirect=spec.text("redirect"),
            warn_before_s=spec.number("warn_before_s"),
        )
    return urgencies


def _default_urgency(
    problems: Problems, entry: Fields, urgencies: Mapping[str, UrgencyClass]
) -> str:
    if not entry.given("default_urgency"):
        if len(urgencies) == 1:
            return next(iter(urgencies))
        if len(urgencies) > 1:
            problems.add(
                entry.at("default_urgency"),
                "required key is missing (the service has more than one urgency class)",
            )
        return ""
    name = entry.text("default_urgency")
    if name is None or not urgencies:
        return name or ""
    if name not in urgencies:
        problems.add(
            entry.at("default_urgency"),
            f"unknown urgency class {name!r}; "
            f"{did_you_mean(name, urgencies)}expected one of: {known_list(urgencies)}",
        )
    elif not default_queues(urgencies, name):
        problems.add(
            entry.at("default_urgency"),
            f"urgency class {name!r} redirects to {urgencies[name].redirect}; "
            "the default class must queue",
        )
    return name


def _steps(
    problems: Problems, entry: Fields, service: str | None, known: Known
) -> tuple[tuple[Step, ...], list[tuple[str, str]]]:
    if not entry.given("steps"):
        return _SERVICE_DEFAULTS.steps, []
    entries = entry.items("steps")
    if not entries:
        if entry.raw("steps") == []:
            problems.add(entry.at("steps"), "must contain at least one step")
        return _SERVICE_DEFAULTS.steps, []
    steps: list[Step] = []
    targets: list[tuple[str, str]] = []
    kinds: set[StepKind] = set()
    all_kinds_valid = True
    for index, (path, value) in enumerate(entries):
        last = index == len(entries) - 1
        step, target = _step(problems, path, value, last, service, known)
        if step is None:
            all_kinds_valid = False
            continue
        kinds.add(step.kind)
        steps.append(step)
        if target is not None:
            targets.append(target)
    if all_kinds_valid and not reaches_region(kinds):
        problems.add(
            entry.at("steps"),
            "needs a region, relaxed or overflow step; own_agent, own_team and own_site "
            "steps alone never reach the rest of the region",
        )
    return tuple(steps), targets


def _step(
    problems: Problems, path: str, value: object, last: bool, service: str | None, known: Known
) -> tuple[Step | None, tuple[str, str] | None]:
    entry = Fields(problems, path, value, *_STEP_KEYS)
    if not entry.valid or not entry.has("kind"):
        return None, None
    kind = as_enum(problems, entry.at("kind"), entry.raw("kind"), StepKind, "step kind")
    duration = entry.number("duration_s")
    # An overflow step takes no time (the contact moves on reaching it), so it may omit
    # its duration anywhere; a later step is only used when the target cannot be.
    if not entry.given("duration_s") and needs_duration(kind, last):
        problems.add(
            entry.at("duration_s"),
            "required on every step but the last (a step without a duration lasts for good)",
        )
    if kind is None:
        return None, None
    relax_levels = 0
    if takes_relax_levels(kind):
        relax_levels = entry.integer("relax_levels", 1, 1, MAX_RELAX)
    elif entry.given("relax_levels"):
        problems.add(entry.at("relax_levels"), "only allowed on relaxed steps")
    overflow_to: str | None = None
    target: tuple[str, str] | None = None
    if takes_overflow_target(kind):
        if not entry.given("overflow_to"):
            problems.add(
                entry.at("overflow_to"), "required on overflow steps (the service to move to)"
            )
        else:
            overflow_to = as_text(problems, entry.at("overflow_to"), entry.raw("overflow_to"))
        if overflow_to is not None and service is not None and overflow_to == service:
            problems.add(entry.at("overflow_to"), "a service cannot overflow to itself")
        elif overflow_to is not None and overflow_to not in known.services:
            problems.add(
                entry.at("overflow_to"),
                unknown("service", overflow_to, known.services),
            )
        elif overflow_to is not None:
            target = (entry.at("overflow_to"), overflow_to)
    elif entry.given("overflow_to"):
        problems.add(entry.at("overflow_to"), "only allowed on overflow steps")
    step = Step(kind=kind, duration_s=duration, relax_levels=relax_levels, overflow_to=overflow_to)
    return step, target


def _overflow_loops(problems: Problems, overflows: Mapping[str, list[tuple[str, str]]]) -> None:
    """Reports each cycle of overflow steps once: contacts would bounce for ever."""
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        trail.append(name)
        for path, target in overflows.get(name, []):
            if state.get(target) == 1:
                # trail[start:] runs from target to this service; start the loop here.
                cycle = trail[trail.index(target) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    loop = " -> ".join((name, *cycle[:-1], name))
                    problems.add(path, f"overflow loop: {loop}")
            elif target not in state:
                visit(target, trail)
        trail.pop()
        state[name] = 2

    for name in overflows:
        if name not in state:
            visit(name, [])
