"""The measured phase of the dispatch benchmark and its figures: complete, accept and
arrive cycles timed event by event, with the collector enabled at the live service's
thresholds (its pauses are in the figures) and the long-lived state frozen first.
"""

from __future__ import annotations

import cProfile
import gc
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.dispatch_driver import KINDS, Driver, Recorder
from router.service.collector import GC_THRESHOLDS

# The measured phase is split into rounds; throughput is the median round's, so a burst
# of other work on the machine moves the figure less (the spread is reported).
ROUNDS = 5


@dataclass(slots=True)
class Sample:
    """One matcher's measured phase in one cell."""

    events: int
    decisions: int
    total_ns: int
    sorted_ns: list[int]
    by_kind: dict[str, tuple[int, int, int]]  # kind -> (count, total ns, p99 ns)
    offers: list[tuple[str, str]]
    heads_mean: float
    # per generation 0, 1, 2: (collections, total pause ns, longest pause ns)
    gc_pauses: tuple[tuple[int, int, int], ...]
    wall_s: float
    # per round: (events, decisions, ns)
    rounds: list[tuple[int, int, int]]
    # involuntary context switches while measuring: the OS gave the core to other work
    preempted: int

    def _median_round(self) -> tuple[int, int, int]:
        """The round with the median cost per event (all events if there are no rounds)."""
        if len(self.rounds) < 3:
            return (self.events, self.decisions, self.total_ns)
        ranked = sorted(self.rounds, key=lambda r: r[2] / max(1, r[0]))
        return ranked[len(ranked) // 2]

    @property
    def ns_per_event(self) -> float:
        events, _, ns = self._median_round()
        return ns / max(1, events)

    @property
    def ns_per_decision(self) -> float:
        _, decisions, ns = self._median_round()
        return ns / max(1, decisions)

    @property
    def decisions_per_s(self) -> float:
        _, decisions, ns = self._median_round()
        return decisions / (ns / 1e9) if ns else 0.0

    def round_spread(self) -> tuple[float, float]:
        """The lowest and highest decisions/s of the rounds."""
        rates = [d / (ns / 1e9) for _, d, ns in self.rounds if ns]
        return (min(rates), max(rates)) if rates else (0.0, 0.0)

    def pct(self, q: float) -> int:
        return percentile(self.sorted_ns, q)


def percentile(sorted_ns: Sequence[int], q: float) -> int:
    if not sorted_ns:
        return 0
    k = max(0, min(len(sorted_ns) - 1, int(-(-q * len(sorted_ns) // 1)) - 1))
    return sorted_ns[k]


def sample_of(rec: Recorder, wall_s: float) -> Sample:
    all_ns: list[int] = []
    by_kind: dict[str, tuple[int, int, int]] = {}
    for name, lat in zip(KINDS, rec.lat, strict=True):
        all_ns.extend(lat)
        srt = sorted(lat)
        by_kind[name] = (len(lat), sum(lat), percentile(srt, 0.99))
    all_ns.sort()
    pauses = tuple(
        (len(ns), sum(ns), max(ns, default=0))
        for ns in ([p for g, p in rec.gc_pauses if g == gen] for gen in range(3))
    )
    return Sample(
        events=len(all_ns),
        decisions=rec.decisions,
        total_ns=sum(all_ns),
        sorted_ns=all_ns,
        by_kind=by_kind,
        offers=rec.offers,
        heads_mean=sum(rec.heads) / len(rec.heads) if rec.heads else 0.0,
        gc_pauses=pauses,
        wall_s=wall_s,
        rounds=[
            (e1 - e0, d1 - d0, n1 - n0)
            for (e0, d0, n0), (e1, d1, n1) in zip(
                [(0, 0, 0), *rec.rounds], rec.rounds, strict=False
            )
        ],
        preempted=rec.preempted,
    )


def measure(
    driver: Driver,
    waiting: int,
    events: int,
    seconds: float,
    freeze: bool,
    profiler: cProfile.Profile | None = None,
) -> Sample:
    """Runs complete/accept/arrive cycles until ``events`` events or ``seconds``."""
    rec = driver.rec = Recorder()
    pauses = rec.gc_pauses
    started = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            pauses.append((info["generation"], time.perf_counter_ns() - started[0]))

    gc.collect()
    if freeze:
        gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)  # the live service's
    gc.callbacks.append(on_gc)
    gc.enable()
    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
    start = time.perf_counter()
    deadline = start + seconds
    per_round = max(1, events // ROUNDS)
    boundary = per_round
    if profiler is not None:
        profiler.enable()
    try:
        while rec.events < events and time.perf_counter() < deadline:
            driver.complete_one()
            driver.top_up(waiting)
            if rec.events >= boundary:
                rec.rounds.append((rec.events, rec.decisions, rec.total_ns))
                boundary += per_round
    finally:
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - start
        rec.preempted = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - switches
        gc.disable()
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(on_gc)
        driver.rec = None
    return sample_of(rec, wall)
