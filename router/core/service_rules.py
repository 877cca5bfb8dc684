"""The rules a service's settings must follow, whether they come from the region file
or from a supervisor's live change, written once: small predicates that the region
file's reader (``router.config.service_entries``, which words each problem with its path
in the file) and :func:`service_problems` (the engine's last check of a live change)
both ask, and the rule for changing a service that has contacts open."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from router.core.model import ServiceSpec, StepKind, UrgencyClass

WIDE_STEPS = frozenset({StepKind.REGION, StepKind.RELAXED, StepKind.OVERFLOW})
# warn_fraction is a share of the target: 0 <= warn_fraction < WARN_FRACTION_BELOW.
WARN_FRACTION_BELOW = 1.0


def reaches_region(kinds: Iterable[StepKind]) -> bool:
    """Steps of these kinds reach the rest of the region at some point (own_agent,
    own_team and own_site steps alone never do)."""
    return bool(WIDE_STEPS.intersection(kinds))


def needs_duration(kind: StepKind | None, last: bool) -> bool:
    """A step must say how long it lasts unless it is the last one (which lasts for good)
    or an overflow step (the contact moves on on reaching it)."""
    return not last and kind is not StepKind.OVERFLOW


def takes_relax_levels(kind: StepKind) -> bool:
    return kind is StepKind.RELAXED


def takes_overflow_target(kind: StepKind) -> bool:
    return kind is StepKind.OVERFLOW


def overflow_target_ok(service: str, target: str | None, services: Iterable[str]) -> bool:
    """An overflow step moves the contact to another existing service."""
    return target is not None and target != service and target in services


def default_queues(urgencies: Mapping[str, UrgencyClass], default: str) -> bool:
    """The default urgency class is one of the service's and queues (no redirect)."""
    urgency = urgencies.get(default)
    return urgency is not None and urgency.redirect is None


def service_problems(svc: ServiceSpec, services: Mapping[str, ServiceSpec]) -> list[str]:
    """Every way ``svc`` breaks the rules (empty when it is usable); ``services`` are the
    services it may overflow to."""
    problems = []
    if svc.default_urgency not in svc.urgencies:
        problems.append(f"default urgency {svc.default_urgency!r} is not one of its classes")
    elif not default_queues(svc.urgencies, svc.default_urgency):
        problems.append(f"default urgency {svc.default_urgency!r} redirects; it must queue")
    if not svc.steps:
        problems.append("a service needs at least one step")
    if svc.steps and not reaches_region(step.kind for step in svc.steps):
        problems.append("a service needs a region, relaxed or overflow step")
    for i, step in enumerate(svc.steps):
        last = i == len(svc.steps) - 1
        if step.duration_s is None and needs_duration(step.kind, last):
            problems.append(f"step {i} ({step.kind.value}) needs a duration")
        if step.duration_s is not None and step.duration_s < 0:
            problems.append(f"step {i} has a negative duration")
        if takes_overflow_target(step.kind) and not overflow_target_ok(
            svc.name, step.overflow_to, services
        ):
            problems.append(f"step {i} overflows to {step.overflow_to!r}, not another service")
        if step.relax_levels < 0 or (step.relax_levels and not takes_relax_levels(step.kind)):
            problems.append(f"step {i}: relax_levels belong on a relaxed step")
    if svc.offer_timeout_s <= 0:
        problems.append(f"offer_timeout_s must be above 0, got {svc.offer_timeout_s}")
    if min(svc.wrapup_s, svc.decline_cooldown_s, svc.timeout_cooldown_s or 0.0) < 0:
        problems.append("wrapup_s, decline_cooldown_s and timeout_cooldown_s must be >= 0")
    if not 0 <= svc.warn_fraction < WARN_FRACTION_BELOW:
        problems.append(f"warn_fraction must be in [0, 1), got {svc.warn_fraction}")
    return problems


def urgencies_in_use_lost(svc: ServiceSpec, in_use: Iterable[str]) -> list[str]:
    """The urgency classes of open contacts (``in_use``) that the new settings ``svc``
    no longer have, or turn into a redirect (a class that is never queued), sorted: such
    a change is refused, whoever makes it (the contacts would have no target, or wait in
    a class that sends its callers elsewhere, past its zero target at the front)."""
    urgencies = svc.urgencies
    return sorted(
        name
        for name in set(in_use)
        if (found := urgencies.get(name)) is None or found.redirect is not None
    )
