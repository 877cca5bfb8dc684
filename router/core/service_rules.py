"""The rules a service's settings must follow, whether they come from the region file
or from a supervisor's live change: pure checks returning every problem found, and the
rule for changing a service that has contacts open."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from router.core.model import ServiceSpec, StepKind

WIDE_STEPS = frozenset({StepKind.REGION, StepKind.RELAXED, StepKind.OVERFLOW})


def service_problems(svc: ServiceSpec, services: Mapping[str, ServiceSpec]) -> list[str]:
    """Every way ``svc`` breaks the rules (empty when it is usable); ``services`` are the
    services it may overflow to."""
    problems = []
    if svc.default_urgency not in svc.urgencies:
        problems.append(f"default urgency {svc.default_urgency!r} is not one of its classes")
    if not svc.steps:
        problems.append("a service needs at least one step")
    if svc.steps and not any(step.kind in WIDE_STEPS for step in svc.steps):
        problems.append("a service needs a region, relaxed or overflow step")
    for i, step in enumerate(svc.steps):
        last = i == len(svc.steps) - 1
        if step.duration_s is None and not last and step.kind is not StepKind.OVERFLOW:
            problems.append(f"step {i} ({step.kind.value}) needs a duration")
        if step.duration_s is not None and step.duration_s < 0:
            problems.append(f"step {i} has a negative duration")
        if step.kind is StepKind.OVERFLOW and (
            step.overflow_to not in services or step.overflow_to == svc.name
        ):
            problems.append(f"step {i} overflows to {step.overflow_to!r}, not another service")
        if step.relax_levels < 0 or (step.relax_levels and step.kind is not StepKind.RELAXED):
            problems.append(f"step {i}: relax_levels belong on a relaxed step")
    if svc.offer_timeout_s <= 0:
        problems.append(f"offer_timeout_s must be above 0, got {svc.offer_timeout_s}")
    if min(svc.wrapup_s, svc.decline_cooldown_s, svc.timeout_cooldown_s or 0.0) < 0:
        problems.append("wrapup_s, decline_cooldown_s and timeout_cooldown_s must be >= 0")
    if not 0 <= svc.warn_fraction < 1:
        problems.append(f"warn_fraction must be in [0, 1), got {svc.warn_fraction}")
    return problems


def urgencies_in_use_removed(svc: ServiceSpec, in_use: Iterable[str]) -> list[str]:
    """The urgency classes of open contacts (``in_use``) that the new settings ``svc``
    no longer have, sorted: such a change is refused (the contacts would have no target),
    whoever makes it."""
    return sorted(set(in_use) - set(svc.urgencies))
