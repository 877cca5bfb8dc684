"""Opening hours at the door: what a channel does with a contact that arrives now.

Every channel asks ``admit`` before it hands a contact to the engine. With the service
open the contact gets, by the same-day rule (``router.calendar.rules.same_day``), when
its urgency clock starts and the end of its office day; from these and its class the
engine sets its place in the one order and its deadline (``due_times_of`` computes both
here). After hours the service's policy redirects it (112, 116117: the engine closes it
as ``redirected``), lets it wait for the next opening (``scheduled`` until then, due by
the end of that working day), or tells the caller when to call again (no contact is
made). A service without hours and without a same-day window is always open and its
contacts are due by their urgency target. The time is an argument: the same rule runs
live and in simulations, and nothing here knows HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from router.calendar.rules import (
    CallBackAt,
    DueTimes,
    Redirect,
    Unavailable,
    WaitUntil,
    due_times,
    on_arrival,
    same_day,
)
from router.config.region import Region
from router.core.model import Channel, ContactSpec, ServiceSpec


@dataclass(frozen=True, slots=True)
class CallAgainAt:
    """The door's refusal: closed now, and the caller is told when the service opens
    (``at``, None: not again). A value, not an HTTP error: each channel says it in its
    own way (``channels.refusals``: 409 ``closed``; the phone: a ``closed`` instruction)."""

    at: float | None


def due_times_of(
    region: Region, service_spec: ServiceSpec, channel: Channel, urgency: str, t: float
) -> DueTimes:
    """The place in the one order and the deadline of a contact of ``service_spec`` in
    ``channel`` and urgency class ``urgency`` that arrived at ``t``: its class's target
    counted from ``t`` (or the next opening), and the same-day cap of the service's
    office window: the calendar's ``same_day`` then ``place_and_deadline``, the one rule
    the engine applies on arrival, on a live target change and on re-classification."""
    hours = region.hours_of(service_spec.name)
    urgency_class = service_spec.urgencies.get(urgency)
    target = urgency_class.target_s if urgency_class is not None else 0.0
    return due_times(hours.schedule(channel), t, target, hours.same_day)


def admit(
    region: Region, service_spec: ServiceSpec, spec: ContactSpec, now: float
) -> ContactSpec | CallAgainAt:
    """``spec`` as the engine should get it, or that the caller should call again."""
    hours = region.hours_of(spec.service)
    schedule = hours.schedule(spec.channel)
    if schedule.always_open and hours.same_day is None:
        return spec
    urgency = spec.urgency or service_spec.default_urgency
    action = on_arrival(hours, region.after_hours_of(spec.service), spec.channel, urgency, now)
    if isinstance(action, Redirect):
        return replace(spec, redirect_to=action.target)
    if isinstance(action, CallBackAt):
        return CallAgainAt(action.at)
    if isinstance(action, Unavailable):
        return CallAgainAt(None)
    if spec.due_at is None:  # the engine takes place and deadline from these and the class
        frame = same_day(schedule, now, hours.same_day)
        spec = replace(spec, clock_from=frame.clock_from, same_day_by=frame.by)
    if isinstance(action, WaitUntil):
        return replace(spec, not_before=action.at)
    return spec
