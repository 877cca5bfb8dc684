"""The same-day rule and what to do with a contact that arrives after hours.

The health care act (terveydenhuoltolaki 51 §) asks for contact and an assessment of care
need the same working day. As a due time::

    start = next_opening(arrival)           # the arrival itself when open
    due   = min(start + urgency target, end of start's office day)

- Arriving on a working day in office hours: due at the urgency target, but no later than
  the end of that day's office hours.
- Arriving outside office hours (evening, night, weekend, holiday, before the day's
  first opening): the urgency clock starts at the next opening, and the contact is due no
  later than the end of that working day's office hours. Friday evening gives Monday at
  closing; Maundy Thursday evening gives the Tuesday after Easter Monday.
- A break within an office day (a split day) counts as that office day: due at its end.
- An always-open service has no office day: due at the urgency target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from router.calendar.hours import Schedule, ServiceHours
from router.core.model import Channel


def same_day_due(schedule: Schedule, t: float, target_s: float) -> float:
    """The due time of a contact arriving at ``t`` with urgency target ``target_s``
    seconds, under the same-day rule (module docstring). Never before ``t``. A schedule
    that never opens again leaves the urgency target: ``t + target_s``."""
    start = schedule.next_opening(t)
    if start is None:
        return t + target_s
    end = schedule.closing_of_day(start)
    if end is None:
        return start + target_s
    return min(start + target_s, end)


def class_due(
    hours: ServiceHours, channel: Channel, arrived_at: float, target_s: float
) -> float | None:
    """The due time the door gives a contact of ``channel`` that arrived at
    ``arrived_at`` in a class with target ``target_s`` (``channels.hours.admit`` does the
    same for a new contact): the same-day rule over the channel's opening hours, or None
    for an always-open channel, whose contacts are due at arrival + target (the engine's
    default). Used when the handler re-classifies a contact: its due time follows the new
    class from its original arrival."""
    schedule = hours.schedule(channel)
    if schedule.always_open:
        return None
    return same_day_due(schedule, arrived_at, target_s)


class WhenClosed(StrEnum):
    """What happens to a contact that arrives while closed and is not redirected."""

    WAIT = "wait"  # it is queued and waits for the next opening
    CALL_BACK = "call_back"  # it is told when to call back (the next opening) and closed


@dataclass(frozen=True, slots=True)
class AfterHoursPolicy:
    """Per service: ``redirect`` sends the named urgency classes elsewhere while closed
    (e.g. ``{"P0": "112", "P1": "116117"}``); every other contact waits or is told when
    to call back, by ``others``, or by ``channels`` for the channels listed there."""

    redirect: Mapping[str, str] = field(default_factory=dict, hash=False)
    others: WhenClosed = WhenClosed.WAIT
    channels: Mapping[Channel, WhenClosed] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "redirect", dict(self.redirect))
        object.__setattr__(self, "channels", dict(self.channels))

    def when_closed(self, channel: Channel) -> WhenClosed:
        return self.channels.get(channel, self.others)


@dataclass(frozen=True, slots=True)
class Route:
    """Open: route the contact as usual."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """Closed, and the urgency class goes elsewhere (e.g. 112, 116117)."""

    target: str


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """Closed: queue the contact; the service opens at ``at``."""

    at: float


@dataclass(frozen=True, slots=True)
class CallBackAt:
    """Closed: tell the contact to call back at ``at``, the next opening."""

    at: float


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Closed, and the channel does not open within the horizon (or never opens)."""


ArrivalAction = Route | Redirect | WaitUntil | CallBackAt | Unavailable


def on_arrival(
    hours: ServiceHours,
    policy: AfterHoursPolicy,
    channel: Channel,
    urgency: str,
    t: float,
) -> ArrivalAction:
    """What to do with a contact of ``urgency`` arriving at ``t`` in ``channel``: route
    it when the channel's hours are open; otherwise redirect its urgency class if the
    policy says so, else wait for or call back at the next opening."""
    schedule = hours.schedule(channel)
    if schedule.is_open(t):
        return Route()
    target = policy.redirect.get(urgency)
    if target is not None:
        return Redirect(target)
    opening = schedule.next_opening(t)
    if opening is None:
        return Unavailable()
    if policy.when_closed(channel) is WhenClosed.CALL_BACK:
        return CallBackAt(opening)
    return WaitUntil(opening)
