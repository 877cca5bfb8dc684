"""Opening hours at the door: what a channel does with a contact that arrives now.

Every channel asks ``admit`` before it hands a contact to the engine. With the service
open the contact gets its due time by the same-day rule (``router.calendar.rules``);
after hours the service's policy redirects it (112, 116117: the engine closes it as
``redirected``), lets it wait for the next opening (``scheduled`` until then, due by the
end of that working day), or tells the caller when to call again (no contact is made).
A service without hours is always open and its contacts are due by their urgency target.
The time is an argument: the same rule runs live and in simulations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from router.calendar.rules import (
    CallBackAt,
    Redirect,
    Unavailable,
    WaitUntil,
    on_arrival,
    same_day_due,
)
from router.config.region import Region
from router.core.model import ContactSpec, ServiceSpec
from router.service.http import ApiError
from router.service.service import Service


@dataclass(frozen=True, slots=True)
class CallAgainAt:
    """Closed now: the caller is told when the service opens (``at``, None: not again)."""

    at: float | None


def admit(
    region: Region, service: ServiceSpec, spec: ContactSpec, now: float
) -> ContactSpec | CallAgainAt:
    """``spec`` as the engine should get it, or that the caller should call again."""
    hours = region.hours_of(spec.service)
    schedule = hours.schedule(spec.channel)
    if schedule.always_open:
        return spec
    urgency = spec.urgency or service.default_urgency
    target = service.urgencies[urgency].target_s if urgency in service.urgencies else 0.0
    action = on_arrival(hours, region.after_hours_of(spec.service), spec.channel, urgency, now)
    if isinstance(action, Redirect):
        return replace(spec, redirect_to=action.target)
    if isinstance(action, CallBackAt):
        return CallAgainAt(action.at)
    if isinstance(action, Unavailable):
        return CallAgainAt(None)
    due = spec.due_at if spec.due_at is not None else same_day_due(schedule, now, target)
    if isinstance(action, WaitUntil):
        return replace(spec, not_before=action.at, due_at=due)
    return replace(spec, due_at=due)


def admitted(service: Service, spec: ContactSpec) -> ContactSpec:
    """``admit`` for channels whose callers cannot be told to call again in an answer
    of their own: a closed service is a 409 that says when it opens."""
    result = admit(
        service.region, service.engine.service(spec.service), spec, service.runtime.clock()
    )
    if isinstance(result, CallAgainAt):
        raise closed_error(result.at)
    return result


def closed_error(at: float | None) -> ApiError:
    if at is None:
        return ApiError(409, "closed", "the service is closed and has no opening hours ahead")
    when = datetime.fromtimestamp(at, UTC).isoformat(timespec="minutes")
    return ApiError(409, "closed", f"the service is closed; it opens at {when}")
