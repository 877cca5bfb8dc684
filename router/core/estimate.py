"""Wait estimates: a published formula, recomputed at each query.

For a waiting contact::

    estimate = ceil(position / servers) × handle_time

- ``position``: 1 + the waiting contacts ahead of it in the one priority order that
  compete for exactly the same agents (same reach, channel and requirement).
- ``servers``: the logged-in agents who could serve it within its current reach, each
  counted as 1/n when it can serve n services (an agent shared by three services is a
  third of an agent for each).
- ``handle_time``: an exponentially weighted mean (weight 0.2 for the newest) of the
  service's recent handle times, from offer accepted to completed; 300 s until measured.

For a service as a whole (public status) ``position`` is the number waiting plus one and
``servers`` counts every logged-in agent who meets the service's requirement.

The answer is a range, ``[0.75, 1.25] × estimate`` rounded out to whole minutes, because
false precision is a promise nobody can keep. With no server at all the estimate is
``None`` ("unknown"), never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from router.core import decisions as d

DEFAULT_HANDLE_S = 300.0
EWMA_WEIGHT = 0.2
LOW, HIGH = 0.75, 1.25


@dataclass(frozen=True, slots=True)
class Estimate:
    position: int
    servers: float
    handle_s: float
    low_s: float | None
    high_s: float | None

    @property
    def known(self) -> bool:
        return self.low_s is not None


def wait_range(position: int, servers: float, handle_s: float) -> Estimate:
    if servers <= 0:
        return Estimate(position, servers, handle_s, None, None)
    expected = math.ceil(position / servers) * handle_s
    low = math.floor(expected * LOW / 60) * 60
    high = math.ceil(expected * HIGH / 60) * 60
    return Estimate(position, servers, handle_s, float(low), float(max(high, 60)))


class HandleTimes:
    """Per-service exponentially weighted handle times, fed with decisions."""

    def __init__(self) -> None:
        self.mean_s: dict[str, float] = {}
        self._started: dict[str, tuple[str, float]] = {}

    def observe(self, decision: d.Decision, now: float) -> None:
        """Feed every decision."""
        if isinstance(decision, d.Assigned):
            self._started[decision.contact_id] = (decision.service, now)
        elif isinstance(decision, d.Closed):
            started = self._started.pop(decision.contact_id, None)
            if started is not None and decision.outcome != "redirected":
                service, at = started
                took = max(0.0, now - at)
                old = self.mean_s.get(service)
                self.mean_s[service] = took if old is None else old + EWMA_WEIGHT * (took - old)

    def of(self, service: str) -> float:
        return self.mean_s.get(service, DEFAULT_HANDLE_S)
