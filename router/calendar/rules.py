"""The same-day rule, the one order's key, and what to do with a contact that arrives
after hours.

The health care act (terveydenhuoltolaki 51 §) asks for contact and an assessment of care
need the same working day. A contact gets two times (``due_times``)::

    start     = next opening of the service's hours (the arrival itself when open)
    office    = next opening of the office window at or after start
    target_at = start + urgency target                      # its place in the one order
    due_at    = min(target_at, end of office's office day)  # its deadline

The first two depend on the calendar only (``same_day``: the door computes them); the
last two on the class (``router.core.model.place_and_deadline``: the engine computes them,
again when a class's target changes live or a contact is re-classified).

``target_at`` orders the queue (ties by arrival): the same-day rule never moves a contact
ahead of a more urgent one, so urgency is never erased near closing time. ``due_at`` is
the deadline the escalation warning, the missed-deadline alarm and the capacity alerts
watch. The office window is the service's opening hours unless it names its own
(``same_day``, e.g. office hours 08-16 for a line open round the clock).

- Arriving on a working day in office hours: due at the urgency target, but no later than
  the end of that day's office hours.
- Arriving outside office hours (evening, night, weekend, holiday, before the day's
  first opening): the urgency clock starts at the next opening, and the contact is due no
  later than the end of the next working day's office hours. Friday evening gives Monday
  at closing; Maundy Thursday evening gives the Tuesday after Easter Monday.
- A break within an office day (a split day) counts as that office day: due at its end.
- A service open round the clock with an office window: the urgency clock runs from the
  arrival; a Monday 10:00 P8 is due Monday at the window's end, a Saturday one on Monday.
- An always-open service without an office window has no office day: due at the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from router.calendar.opening_hours import Schedule, ServiceHours
from router.core.model import Channel, place_and_deadline


@dataclass(frozen=True, slots=True)
class DueTimes:
    """A contact's two times (module docstring): ``target_at`` orders the queue,
    ``due_at`` (never later) is its deadline under the same-day rule."""

    target_at: float
    due_at: float


@dataclass(frozen=True, slots=True)
class SameDay:
    """What the calendar gives a contact arriving at some time, whatever its class: when
    its urgency clock starts (``clock_from``) and the end of its office day
    (``by``, None: no office day, no cap)."""

    clock_from: float
    by: float | None


def same_day(hours: Schedule, t: float, window: Schedule | None = None) -> SameDay:
    """For a contact arriving at ``t`` in a channel open by ``hours``: its clock starts at
    the next opening (``t`` when open, ``t`` too when it never opens); its office day is
    the first of the office window (``window``, None: ``hours`` itself) at or after that."""
    start = hours.next_opening(t)
    if start is None:
        start = t
    office_hours = window or hours
    office = office_hours.next_opening(start)
    return SameDay(start, office_hours.closing_of_day(office) if office is not None else None)


def due_times(
    hours: Schedule, t: float, target_s: float, window: Schedule | None = None
) -> DueTimes:
    """The place and deadline of a contact arriving at ``t`` whose urgency class has the
    target answer time ``target_s`` seconds (``same_day`` then ``place_and_deadline``)."""
    frame = same_day(hours, t, window)
    return DueTimes(*place_and_deadline(frame.clock_from, frame.by, target_s))


def same_day_due(schedule: Schedule, t: float, target_s: float) -> float:
    """The deadline of a contact arriving at ``t`` with urgency target ``target_s``
    seconds, where ``schedule`` is both the opening hours and the office window. Never
    before ``t``. A schedule that never opens again leaves the urgency target."""
    return due_times(schedule, t, target_s).due_at


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
