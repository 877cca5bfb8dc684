"""The dispatch-loop benchmark: builds a saturated region, then times ``apply`` per event.

Per agent count ``A`` (one engine, reused for every queue length, shortest first):

1. build the region and the engine, log every agent in;
2. fill: feed contacts built for agents who still have free capacity until every agent
   is busy (each offer is accepted); these arrivals find free agents, and their cost is
   reported separately;
3. for each queue length ``W``: feed random contacts until ``W`` wait (tracemalloc
   measures the memory this adds, per contact). The first time, a warm-up completes
   every busy agent's contact once and then runs ``warmup`` more events, so the
   engine's lazy caches (which requirements a group meets, which groups meet a
   requirement) are built before measuring; its cost is reported as the cold figure.
   Then the measured phase: repeatedly complete a busy agent's contact (picked at
   random) — the engine offers that agent the earliest-due waiting contact it is
   eligible for — accept every offer, and feed fresh contacts until ``W`` wait again.
   Every ``apply`` call is timed with ``perf_counter_ns``; the decisions it returns are
   counted;
4. the naive matcher starts from a snapshot of the same state and runs the same driver
   with the same random streams (bounded in events and seconds); its offers must be the
   engine's offers, and the run says whether they were.
5. the floor (``benchmarks/floor_matcher.py``, a minimal indexed matcher) is built from
   the engine's state after its measured phase, and the two run interleaved rounds over
   the same events (``floor.compare``): the engine/floor ratios, and whether every offer
   was the same.

Virtual time moves ``DT`` seconds per event. Before each measured phase the collector
runs and the long-lived state is frozen (``gc.freeze()``, as the service does after
loading); the collector stays enabled while measuring, with the service's thresholds
(``router.service.collector.GC_THRESHOLDS``), so its pauses are in the figures.

This module runs the cells (``run``); the parts are the driver (``dispatch_driver``), the
measured phase and its figures (``dispatch_measure``) and the settings and the region
built for one agent count (``dispatch_setup``).
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import sys
import time
from dataclasses import dataclass

from benchmarks.dispatch_driver import Driver, Floor
from benchmarks.dispatch_measure import Sample, measure
from benchmarks.dispatch_setup import Floorplan, Settings
from benchmarks.floor import FloorRun, compare
from benchmarks.naive import NaiveAgent, NaiveContact, NaiveMatcher
from benchmarks.workload import Region
from router.core.engine import Engine
from router.core.model import AgentStatus, ContactSpec
from skills import Requirement


@dataclass(slots=True)
class Cell:
    agents: int
    waiting: int
    real: Sample
    naive: Sample | None
    mem_bytes_per_contact: float
    mem_contacts: int
    idle_start: int
    idle_end: int
    compared: int
    first_difference: int | None  # index of the first differing offer, None when the same
    profile: str = ""
    floor: FloorRun | None = None  # the engine against the floor, interleaved rounds


@dataclass(slots=True)
class AgentsRun:
    """Everything measured for one agent count."""

    agents: int
    groups: int
    skill_sets: int
    build_s: float
    fill: Sample
    warm: Sample | None
    cells: list[Cell]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def naive_from(engine: Engine, region: Region, floor: Floor) -> NaiveMatcher:
    """A naive matcher in the engine's current state (read through its public views)."""
    naive = NaiveMatcher(region.catalogue, region.service, engine.policy.blocks)
    catalogue = region.catalogue
    agents: list[NaiveAgent] = []
    held: list[NaiveContact] = []
    for seq, view in enumerate(engine.agents(), start=1):
        a = NaiveAgent(
            view.id,
            seq,
            catalogue.agent_mask(view.spec.abilities),
            dict(view.spec.capacity),
            logged_in=view.status is not AgentStatus.OFFLINE,
            since=floor.since.get(view.id, 0.0),
        )
        for cid in view.contacts:
            c = engine.contact(cid)
            a.in_hand[cid] = c.channel
            held.append(_naive_contact(naive, c.due_at, c.seq, c.spec))
        agents.append(a)
    # Built in arrival order, as a naive matcher appending arrivals would have them in
    # memory (building them in due order makes its scans cache-unfriendly and slower).
    views = sorted(engine.waiting(), key=lambda v: v.seq)
    waiting = [_naive_contact(naive, v.due_at, v.seq, v.spec) for v in views]
    naive.load(agents, held, waiting, floor.arrivals)
    return naive


def _naive_contact(naive: NaiveMatcher, due: float, seq: int, spec: ContactSpec) -> NaiveContact:
    req = spec.requirement if spec.requirement is not None else Requirement.anyone()
    return NaiveContact(due, seq, spec.id, spec.channel, naive.compiled(req, spec.language))


def _profile_text(profiler: cProfile.Profile, limit: int = 30) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.strip_dirs().sort_stats("tottime").print_stats(limit)
    return buf.getvalue()


def run_agents(n_agents: int, s: Settings) -> AgentsRun:
    t_start = time.perf_counter()

    def progress(msg: str) -> None:
        log(f"  [{time.perf_counter() - t_start:6.1f}s] {n_agents} agents: {msg}")

    plan = Floorplan(n_agents, s, progress)
    engine, driver, region = plan.engine, plan.driver, plan.region
    cells: list[Cell] = []
    warm: Sample | None = None
    for w in sorted(set(s.waiting)):
        mem, added = plan.grow(w)
        if warm is None:
            warm = plan.warm_up(w)

        progress("snapshot for the naive matcher")
        snapshot = plan.floor.copy()
        idle_start = driver.idle()
        naive = naive_from(engine, region, snapshot)

        progress(f"measuring the engine ({s.events:,} events)")
        plan.start_cell(w)
        profiler = cProfile.Profile() if s.profile else None
        real = measure(driver, w, s.events, s.cell_seconds, s.freeze, profiler)
        idle_end = driver.idle()

        progress(f"measuring the naive matcher (<= {s.naive_seconds:g}s)")
        stream, pick = plan.streams(w)
        ndriver = Driver(naive, snapshot, stream, pick, plan.caps)
        naive_sample = measure(ndriver, w, s.naive_events, s.naive_seconds, s.freeze)
        compared = min(len(real.offers), len(naive_sample.offers))
        first_diff = next(
            (i for i in range(compared) if real.offers[i] != naive_sample.offers[i]), None
        )
        if first_diff is not None:
            log(
                f"  !! the naive matcher and the engine differ at offer {first_diff}: "
                f"engine {real.offers[first_diff]} naive {naive_sample.offers[first_diff]}"
            )
        del naive, ndriver
        gc.unfreeze()
        floor_run = None
        if s.floor_rounds > 0:
            progress(
                f"engine vs floor: {s.floor_rounds} pairs of interleaved rounds of "
                f"{s.floor_cycles:,} cycles"
            )
            floor_run = compare(plan, w, s.floor_rounds, s.floor_cycles, s.freeze)
            gc.unfreeze()
            if floor_run.first_difference is not None:
                log(f"  !! the floor and the engine differ at offer {floor_run.first_difference}")
            mean = floor_run.ratio("mean")
            progress(
                f"engine/floor per decision {mean[0]:.2f}x ({mean[1]:.2f}-{mean[2]:.2f}), "
                f"p99 {floor_run.ratio('p99')[0]:.2f}x"
            )
        cells.append(
            Cell(
                agents=n_agents,
                waiting=w,
                real=real,
                naive=naive_sample,
                mem_bytes_per_contact=mem,
                mem_contacts=added,
                idle_start=idle_start,
                idle_end=idle_end,
                compared=compared,
                first_difference=first_diff,
                profile=_profile_text(profiler) if profiler is not None else "",
                floor=floor_run,
            )
        )
        progress(
            f"{w:,} waiting: {real.decisions_per_s:,.0f} decisions/s, "
            f"p99 {real.pct(0.99) / 1000:.1f} us; "
            f"naive x{naive_sample.ns_per_event / real.ns_per_event:,.0f}"
        )
    result = AgentsRun(
        agents=n_agents,
        groups=region.agent_groups(),
        skill_sets=region.skill_sets(),
        build_s=plan.build_s,
        fill=plan.fill,
        warm=warm,
        cells=cells,
    )
    del plan, driver, engine
    gc.unfreeze()
    gc.collect()
    gc.enable()
    return result


def run(s: Settings) -> list[AgentsRun]:
    return [run_agents(a, s) for a in sorted(set(s.agents))]
