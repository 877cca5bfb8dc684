"""Agents needed per interval for a target: the search over N on top of ``erlang``.

Pure: the forecast comes in as rows, the plan goes out as rows; no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from router.staffing.erlang import Result, StaffingError, erlang_a_result

# Beyond this many agents for one interval the input is surely a mistake.
MAX_AGENTS = 100_000
# Erlang A's sums grow with the load: ten times the most agents (a million Erlangs, 0.7 s
# an evaluation) is as far as a sizing goes before the input is called a mistake.
MAX_LOAD = 10 * MAX_AGENTS


@dataclass(frozen=True, slots=True)
class Target:
    """What an interval must reach: ``service_level`` answered within ``answer_s`` (over
    all arrivals, or with ``over_answered`` over answered contacts only), and at most
    ``max_abandon`` of the arrivals abandoning (Erlang A only; None: no limit)."""

    service_level: float | None = 0.8
    answer_s: float = 20.0
    max_abandon: float | None = None
    over_answered: bool = False

    def __post_init__(self) -> None:
        if self.service_level is not None and not 0.0 < self.service_level < 1.0:
            raise StaffingError(
                f"expected a service level between 0 and 1 (exclusive), got {self.service_level}"
            )
        if self.answer_s < 0:
            raise StaffingError(f"expected an answer time >= 0 seconds, got {self.answer_s}")
        if self.max_abandon is not None and not 0.0 < self.max_abandon < 1.0:
            raise StaffingError(
                f"expected a maximum abandonment between 0 and 1 (exclusive), "
                f"got {self.max_abandon}"
            )
        if self.service_level is None and self.max_abandon is None:
            raise StaffingError("expected a service-level target, a maximum abandonment or both")

    def least_answered(self) -> float:
        """The smallest share of all arrivals that must be answered to meet the target."""
        share = 0.0
        if self.service_level is not None and not self.over_answered:
            share = self.service_level
        if self.max_abandon is not None:
            share = max(share, 1.0 - self.max_abandon)
        return share

    def met(self, r: Result) -> bool:
        if not r.stable:
            return False
        if self.service_level is not None:
            sl = r.sl_answered if self.over_answered else r.sl_all
            if sl < self.service_level:
                return False
        return self.max_abandon is None or r.p_abandon <= self.max_abandon


@dataclass(frozen=True, slots=True)
class Interval:
    """One interval of the forecast: a label, the arrivals in it and their handle time."""

    label: str
    arrivals: float
    length_s: float
    aht_s: float
    patience_s: float = math.inf  # mean patience; inf: nobody abandons (Erlang C)


@dataclass(frozen=True, slots=True)
class Row:
    interval: Interval
    result: Result  # at the agents needed
    scheduled: int  # agents needed / (1 - shrinkage), rounded up


def evaluate(interval: Interval, agents: int, answer_s: float) -> Result:
    rate = interval.arrivals / interval.length_s
    return erlang_a_result(agents, rate, interval.aht_s, answer_s, interval.patience_s)


def agents_needed(interval: Interval, target: Target) -> Result:
    """The smallest N that meets ``target`` (at least 1), with what it gives."""
    if interval.arrivals == 0:
        return evaluate(interval, 1, target.answer_s)
    # The service level and abandonment improve with every agent added: double, then
    # bisect. Erlang C needs N > A before anything is stable.
    load = interval.arrivals / interval.length_s * interval.aht_s
    too_many = StaffingError(
        f"interval {interval.label}: more than {MAX_AGENTS} agents would be needed "
        f"(load {load:.0f} Erlangs); check the arrivals and handle time"
    )
    # Every evaluation costs time in N and in the load, so none goes past MAX_AGENTS or
    # MAX_LOAD: a load of a billion Erlangs is refused at once, not after minutes.
    if load > MAX_LOAD:
        raise StaffingError(
            f"interval {interval.label}: a load of {load:.0f} Erlangs is more than this "
            f"sizes ({MAX_LOAD} at most); check the arrivals and handle time"
        )
    # Agents answer at most N / AHT contacts a second, so a share s of all arrivals
    # answered (in time) needs N >= s * A whatever the patience.
    if target.least_answered() * load > MAX_AGENTS:
        raise too_many
    if math.isinf(interval.patience_s):
        if load >= MAX_AGENTS:
            raise too_many
        lo, hi = int(load), int(load) + 1  # N <= A is unstable: known not to meet it
    else:
        lo, hi = 0, min(MAX_AGENTS, max(1, int(load)))  # 0 agents meet nothing
    while True:
        best = evaluate(interval, hi, target.answer_s)
        if target.met(best):
            break
        if hi >= MAX_AGENTS:
            raise too_many
        lo, hi = hi, min(MAX_AGENTS, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = evaluate(interval, mid, target.answer_s)
        if target.met(r):
            hi, best = mid, r
        else:
            lo = mid
    return best


def scheduled(agents: int, shrinkage: float) -> int:
    """Staff to schedule so that ``agents`` are on the phones after ``shrinkage`` (the
    share of paid time away: breaks, training, absence)."""
    if not 0.0 <= shrinkage < 1.0:
        raise StaffingError(f"expected a shrinkage from 0 up to (not including) 1, got {shrinkage}")
    return math.ceil(agents / (1.0 - shrinkage) - 1e-9)


def plan(intervals: list[Interval], target: Target, shrinkage: float = 0.0) -> list[Row]:
    rows = []
    for interval in intervals:
        r = agents_needed(interval, target)
        rows.append(Row(interval, r, scheduled(r.agents, shrinkage)))
    return rows
