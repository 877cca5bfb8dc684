"""The engine against the floor (``benchmarks.floor_matcher``, a minimal indexed matcher
that makes the engine's choices and nothing else), in interleaved rounds over the same
events: the engine/floor ratios per decision and per event, and whether every offer was
the same.

``FloorDriver`` is the dispatch driver's twin for it (same random draws, same order of
events, same virtual clock), so an engine round and a floor round given the same
streams see the same events as long as they make the same choices; the benchmark checks
that they do, offer by offer.
"""

from __future__ import annotations

import gc
import random
import resource
import statistics
import time
from dataclasses import dataclass, field

from benchmarks.dispatch_driver import ACCEPT, ARRIVE, COMPLETE, DT, Driver, Floor, Recorder
from benchmarks.dispatch_measure import percentile
from benchmarks.dispatch_setup import Floorplan
from benchmarks.floor_matcher import FloorMatcher, Offer
from benchmarks.workload import ContactStream
from router.core.model import ContactSpec
from router.service.collector import GC_THRESHOLDS


class FloorDriver:
    """The dispatch ``Driver``'s twin for the floor: the same random draws, the same
    events in the same order and the same virtual clock, with the floor's methods
    called directly (each call timed like ``engine.apply``)."""

    def __init__(
        self, matcher: FloorMatcher, floor: Floor, stream: ContactStream, pick: random.Random
    ) -> None:
        self.m = matcher
        self.floor = floor
        self.stream = stream
        self.pick = pick
        self.rec: Recorder | None = None
        self._pending: list[Offer] = []

    def _offers(self, offers: list[Offer], kind: int, now: float) -> None:
        floor = self.floor
        rec = self.rec
        for cid, aid in offers:
            self._pending.append((cid, aid))
            floor.load[aid] += 1
            floor.since[aid] = now
            if rec is not None:
                rec.offered(cid, aid)

    def _record(self, kind: int, ns: int, decisions: int) -> None:
        rec = self.rec
        if rec is not None:
            rec.lat[kind].append(ns)
            rec.decisions += decisions
            rec.total_ns += ns

    def accept_pending(self) -> None:
        floor = self.floor
        accept = self.m.accept
        while self._pending:
            cid, aid = self._pending.pop(0)
            floor.now += DT
            t0 = time.perf_counter_ns()
            accept(cid, aid)
            t1 = time.perf_counter_ns()
            self._record(ACCEPT, t1 - t0, 1)  # Assigned
            floor.held.append((aid, cid))

    def arrive(self, spec: ContactSpec) -> None:
        floor = self.floor
        floor.arrivals += 1
        floor.now += DT
        now = floor.now
        arrive = self.m.arrive
        t0 = time.perf_counter_ns()
        offers = arrive(now, spec)
        t1 = time.perf_counter_ns()
        self._record(ARRIVE, t1 - t0, 1)  # Offered or Queued
        self._offers(offers, ARRIVE, now)
        self.accept_pending()

    def complete_one(self) -> None:
        floor = self.floor
        held = floor.held
        i = self.pick.randrange(len(held))
        agent_id, contact_id = held[i]
        held[i] = held[-1]
        held.pop()
        floor.now += DT
        now = floor.now
        complete = self.m.complete
        t0 = time.perf_counter_ns()
        offers = complete(now, contact_id, agent_id)
        t1 = time.perf_counter_ns()
        self._record(COMPLETE, t1 - t0, 1 + len(offers))  # Closed, then Offered each
        floor.load[agent_id] -= 1
        floor.since[agent_id] = now
        self._offers(offers, COMPLETE, now)
        self.accept_pending()

    def top_up(self, waiting: int) -> None:
        m = self.m
        stream = self.stream
        while m.waiting_count < waiting:
            self.arrive(stream.random())


# ------------------------------------------------------------------ engine vs floor

ENGINE, FLOOR = 0, 1
METRICS = ("mean", "p50", "p99", "steady")
# Fewest round pairs free of preemption for the ratios to be taken over those alone.
MIN_CLEAN = 5
# The share of each round's slowest events the steady cost leaves out: on a shared host
# the scheduler's time slices (4-16 ms) land there and hold 60-83 % of either side's time
# under load (RESULTS.md, "why the engine's timed mean ratio exceeds ...").
SLOWEST_LEFT_OUT = 0.01


@dataclass(frozen=True, slots=True)
class RoundCost:
    """One side's cost in one round."""

    events: int
    decisions: int
    total_ns: int
    p50_ns: int
    p99_ns: int
    gc_pauses: int
    gc_ns: int
    preempted: int = 0  # involuntary context switches during the round
    # The events' cost without the round's slowest ``SLOWEST_LEFT_OUT``, the collector's
    # pauses then added back whole: preemption left out, the engine's own periodic costs
    # kept (a pause falling in a kept event is counted twice, against the engine).
    steady_ns: int = 0

    @property
    def ns_per_decision(self) -> float:
        return self.total_ns / max(1, self.decisions)

    def metric(self, name: str) -> float:
        if name == "mean":
            return self.ns_per_decision
        if name == "steady":
            return self.steady_ns / max(1, self.decisions)
        return float(self.p50_ns if name == "p50" else self.p99_ns)


@dataclass(slots=True)
class FloorRun:
    """Engine and floor rounds, interleaved (engine, floor, engine, ...), over the same
    events, and whether they made the same offers."""

    agents: int
    waiting: int
    cycles: int
    engine: list[RoundCost] = field(default_factory=list)
    floor: list[RoundCost] = field(default_factory=list)
    compared: int = 0
    first_difference: int | None = None

    def pairs(self) -> list[tuple[RoundCost, RoundCost]]:
        """The round pairs the ratios are taken over: those in which neither side was
        preempted (the OS gave the core to other work, which costs a few ms of some
        event), when there are at least ``MIN_CLEAN`` of them; else every pair."""
        pairs = list(zip(self.engine, self.floor, strict=False))
        clean = [(e, f) for e, f in pairs if e.preempted == 0 and f.preempted == 0]
        return clean if len(clean) >= MIN_CLEAN else pairs

    @property
    def clean(self) -> int:
        """Round pairs in which neither side was preempted."""
        return sum(
            1
            for e, f in zip(self.engine, self.floor, strict=False)
            if not (e.preempted or f.preempted)
        )

    def ratios(self, metric: str) -> list[float]:
        """Engine / floor, per round pair: mean = cost per decision, p50 and p99 = the
        percentiles of the cost per event."""
        return [
            e.metric(metric) / f.metric(metric) for e, f in self.pairs() if f.metric(metric) > 0
        ]

    def ratio(self, metric: str) -> tuple[float, float, float]:
        """The median, lowest and highest ratio over the rounds."""
        rs = self.ratios(metric)
        if not rs:
            return (float("nan"),) * 3
        return (statistics.median(rs), min(rs), max(rs))

    def side(self, side: int, metric: str) -> float:
        """The median over the rounds of one side's metric (ns)."""
        rounds = [pair[side] for pair in self.pairs()]
        return statistics.median(r.metric(metric) for r in rounds) if rounds else float("nan")


def _cost(rec: Recorder, pauses: list[int], preempted: int) -> RoundCost:
    lat = sorted(ns for kind in rec.lat for ns in kind)
    kept = len(lat) - int(len(lat) * SLOWEST_LEFT_OUT)
    return RoundCost(
        events=len(lat),
        decisions=rec.decisions,
        total_ns=rec.total_ns,
        p50_ns=percentile(lat, 0.5),
        p99_ns=percentile(lat, 0.99),
        gc_pauses=len(pauses),
        gc_ns=sum(pauses),
        preempted=preempted,
        steady_ns=sum(lat[:kept]) + sum(pauses),
    )


def run_round(drv: Driver | FloorDriver, cycles: int, waiting: int) -> Recorder:
    rec = drv.rec = Recorder()
    try:
        for _ in range(cycles):
            drv.complete_one()
            drv.top_up(waiting)
    finally:
        drv.rec = None
    return rec


def compare(plan: Floorplan, waiting: int, rounds: int, cycles: int, freeze: bool) -> FloorRun:
    """From the engine's current state: builds the floor from a snapshot of it, then runs
    ``rounds`` pairs of rounds of ``cycles`` cycles (complete, accept, arrivals to
    ``waiting``), engine first, each side with its own copy of the same random streams."""
    snapshot = plan.floor.copy()
    fm = FloorMatcher.from_engine(plan.engine, plan.region, snapshot)
    mseed = f"floor:{plan.s.seed}:{plan.n_agents}:{waiting}"

    def streams() -> tuple[ContactStream, random.Random]:
        return (
            ContactStream(plan.region, random.Random(f"m:{mseed}"), prefix=f"f{waiting}-"),
            random.Random(f"pick:{mseed}"),
        )

    edriver = plan.driver
    edriver.stream, edriver.pick = streams()
    fdriver = FloorDriver(fm, snapshot, *streams())
    run = FloorRun(plan.n_agents, waiting, cycles)
    pauses: list[int] = []
    started = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            pauses.append(time.perf_counter_ns() - started[0])

    gc.collect()
    if freeze:
        gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.callbacks.append(on_gc)
    try:
        for _ in range(rounds):
            pair: list[Recorder] = []
            for side, drv in ((ENGINE, edriver), (FLOOR, fdriver)):
                pauses.clear()
                # The collector runs in the engine's rounds only: the floor leaves nothing
                # to collect (its tracked allocations per round net to about zero), and a
                # pass that fell in its round would scan the engine's young objects.
                if side == ENGINE:
                    gc.enable()
                else:
                    gc.disable()
                switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
                rec = run_round(drv, cycles, waiting)
                switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - switches
                (run.engine if side == ENGINE else run.floor).append(_cost(rec, pauses, switches))
                pair.append(rec)
            e_offers, f_offers = pair[0].offers, pair[1].offers
            if e_offers != f_offers:
                n = min(len(e_offers), len(f_offers))
                at = next((i for i in range(n) if e_offers[i] != f_offers[i]), n)
                run.first_difference = run.compared + at
                run.compared += at
                break  # the streams have diverged: later rounds would not be comparable
            run.compared += len(e_offers)
    finally:
        gc.disable()
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(on_gc)
    return run
