"""Wait estimates: a published formula, recomputed at each query.

For a waiting contact::

    estimate = (1 + (position - 1) × (1 - abandonment)) × handle_time / servers

- ``position``: 1 + the waiting contacts ahead of it in the one priority order that
  compete for exactly the same agents (same reach, channel and requirement).
- ``abandonment``: the share of the service's contacts that leave unanswered (hang up or
  leave the chat) rather than being answered, exponentially weighted (weight 0.05 for the
  newest outcome, starting from 0, so about the last forty contacts count). Each contact
  ahead is taken to be still there with probability ``1 - abandonment``, so the contacts
  ahead count ``(position - 1) × (1 - abandonment)``; the contact itself counts whole.
- ``servers``: the agents serving now in the whole region who could serve it in its
  channel: logged in and not set not ready (available, busy or in wrap-up; an agent on a
  break finishes nobody's contact, and counting those promised too short a wait), each
  counted as 1/n when it can serve n services (an agent shared by three
  services is a third of an agent for each). The whole region rather than the current
  reach: most waits end after the contact has widened, and counting only its own
  station's agents overstated them in the accuracy benchmark.
- ``handle_time``: an exponentially weighted mean (weight 0.2 for the newest) of the
  service's recent handle times, from offer accepted to completed; from 300 s.

Why: every contact waits for those still ahead of it and then for its own turn, and
``servers`` agents finish a contact every ``handle_time / servers`` seconds between them
on average. (The formula used to round ``position / servers`` up to whole rounds of handle
time, as if all agents finished at once; measured in virtual time that announced about
twice the actual wait, so it no longer does.)

For a service as a whole (public status) ``position`` is the number waiting plus one and
``servers`` counts every agent serving now who meets the service's requirement, shared
among the services open now; the agents available now who meet it (``free``) take the
first ``free`` contacts in line, so a newcomer waits as if ``position - free``; when
that is not above zero it waits at most until its reach is the whole region (the
service's narrower steps, ``reach_s``): "0–1 min" for a service that reaches the region
at once, "0–2 min" behind a 90-second own-site step. A service that never reaches the
region (an overflow instead) counts no agent free.

The answer is a range, ``[0.75, 1.25] × estimate`` rounded out to whole minutes, because
false precision is a promise nobody can keep. With no server at all (nobody logged in,
or everyone who could serve not ready) the estimate is ``None`` ("unknown"), never a
made-up number.

How well this predicts real waits is measured in virtual time by
``python -m benchmarks.estimate_accuracy``; the formula and the figures are published in
``docs/waiting-times.md``.
"""

from __future__ import annotations

import math

from router.core import decisions as d
from router.core.values import value

DEFAULT_HANDLE_S = 300.0
EWMA_WEIGHT = 0.2
ABANDON_WEIGHT = 0.05
LOW, HIGH = 0.75, 1.25

# Outcomes that mean "left before being answered". Cancellations are excluded: they are a
# supervisor's or a channel's act (a callback withdrawn), not a waiting customer giving up.
ABANDONED = "abandoned"


@value
class Estimate:
    position: int
    servers: float
    handle_s: float
    low_s: float | None
    high_s: float | None
    abandon_share: float = 0.0
    expected_s: float | None = None  # before rounding to a range
    free: int = 0  # agents available now who take the first in line (public status)
    reach_s: float = 0.0  # how long a new contact waits before it reaches the region
    # The logged-in agents who meet it whatever their presence, weighted as ``servers``
    # (``Engine.service_estimate`` only; None elsewhere): someone who can answer, the
    # not ready too (public status's ``staffed``), where ``servers`` counts only those
    # serving now.
    staff: float | None = None

    @property
    def known(self) -> bool:
        return self.low_s is not None

    @property
    def mid_s(self) -> float | None:
        """The middle of the announced range (None when unknown)."""
        if self.low_s is None or self.high_s is None:
            return None
        return (self.low_s + self.high_s) / 2


def _clamped(share: float) -> float:
    """``min(max(share, 0.0), 1.0)``, the same value (NaN and -0.0 too) without two
    built-in calls: the estimate is in every queued webhook's answer."""
    return 0.0 if share < 0.0 else 1.0 if share > 1.0 else share


def expected_ahead(position: int, abandon_share: float) -> float:
    """The contacts expected to be served until this one is, itself included:
    ``1 + (position - 1) × (1 - abandonment)``."""
    return 1 + (position - 1 if position > 1 else 0) * (1.0 - _clamped(abandon_share))


def wait_range(
    position: int,
    servers: float,
    handle_s: float,
    abandon_share: float = 0.0,
    free: int = 0,
    reach_s: float = 0.0,
    staff: float | None = None,
) -> Estimate:
    """The published estimate as a whole-minute range (``low_s``/``high_s`` None when
    nobody could serve the contact). ``free``: agents available now who could take it,
    anywhere in the region; they take the first ``free`` in line, so those behind wait
    only for the rest. A newcomer they take waits at most until its reach is the whole
    region (``reach_s``: the service's narrower steps), and for nobody when one is within
    its first step: ``0`` to ``reach_s`` rounded up to a minute ("0–1 min" at once).
    ``staff``: carried into the answer (``Estimate.staff``)."""
    share = _clamped(abandon_share)
    if servers <= 0:
        return Estimate(position, servers, handle_s, None, None, share, None, free, reach_s, staff)
    if free >= position:
        high = float(max(math.ceil(reach_s / 60) * 60, 60))
        return Estimate(
            position, servers, handle_s, 0.0, high, share, reach_s / 2, free, reach_s, staff
        )
    expected = expected_ahead(position - free, share) * handle_s / servers
    low, high = minutes_range(expected)
    return Estimate(position, servers, handle_s, low, high, share, expected, free, reach_s, staff)


def minutes_range(expected_s: float) -> tuple[float, float]:
    """``[0.75, 1.25] × expected_s`` rounded out to whole minutes, at least a minute wide
    at the top."""
    # ``float(floor(x) * 60)``: the floor of a float is exact as a float, so multiplying
    # it by 60.0 rounds the same product once, as ``float`` of the integer product does.
    low = math.floor(expected_s * LOW / 60) * 60.0
    high = math.ceil(expected_s * HIGH / 60) * 60.0
    return low, high if high > 60.0 else 60.0


HandleState = tuple[dict[str, float], dict[str, tuple[str, float]]]
OutcomeState = tuple[dict[str, float], dict[str, tuple[str, float]], dict[str, float]]


# The decisions ``HandleTimes.observe`` learns from; it passes over every other kind, so a
# listener told only these (as the live service's dispatch loop tells it) misses nothing.
OBSERVED: tuple[type[d.Decision], ...] = (d.Assigned, d.Closed)


class HandleTimes:
    """Per-service exponentially weighted handle times and abandonment shares, fed with
    every decision (the live service's listener, the simulator's loop)."""

    def __init__(self) -> None:
        self.mean_s: dict[str, float] = {}
        self.abandon: dict[str, float] = {}
        self._started: dict[str, tuple[str, float]] = {}

    def observe(self, decision: d.Decision, now: float) -> None:
        """Feed every decision."""
        if isinstance(decision, d.Assigned):
            self._started[decision.contact_id] = (decision.service, now)
            self._outcome(decision.service, 0.0)
        elif isinstance(decision, d.Closed):
            if decision.outcome == ABANDONED:
                self._outcome(decision.service, 1.0)
            started = self._started.pop(decision.contact_id, None)
            if started is not None and decision.outcome != "redirected":
                service, at = started
                took = max(0.0, now - at)
                # Starts from the default, as abandonment starts from 0: one early
                # misdial completed in a second is not read as "every call takes a
                # second" (it made every estimate of the service "0–1 min").
                old = self.mean_s.get(service, DEFAULT_HANDLE_S)
                self.mean_s[service] = old + EWMA_WEIGHT * (took - old)

    def _outcome(self, service: str, left: float) -> None:
        # Starts from 0, so that one early hang-up is not read as "everybody leaves".
        old = self.abandon.get(service, 0.0)
        self.abandon[service] = old + ABANDON_WEIGHT * (left - old)

    def capture(self) -> OutcomeState:
        return dict(self.mean_s), dict(self._started), dict(self.abandon)

    def restore(self, data: OutcomeState | HandleState) -> None:
        # Snapshots written before abandonment was measured hold two parts.
        self.mean_s, self._started = dict(data[0]), dict(data[1])
        self.abandon = dict(data[2]) if len(data) > 2 else {}

    def of(self, service: str) -> float:
        return self.mean_s.get(service, DEFAULT_HANDLE_S)

    def abandon_share(self, service: str) -> float:
        """The service's measured share of contacts that leave unanswered (0 until
        measured)."""
        return self.abandon.get(service, 0.0)
