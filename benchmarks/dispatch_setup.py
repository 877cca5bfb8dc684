"""The dispatch benchmark's settings and its region for one agent count: the engine
built, every agent logged in and busy (``Floorplan``), ready for the queue to grow, the
warm-up and the measured cells.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.dispatch_driver import Driver, Floor, Recorder
from benchmarks.dispatch_measure import Sample, sample_of
from benchmarks.workload import ContactStream, Shape, build_region
from router.core.engine import Engine


@dataclass(slots=True)
class Settings:
    agents: list[int]
    waiting: list[int]
    events: int = 20_000
    warmup: int = 20_000
    seed: int = 1
    naive_events: int = 20_000
    naive_seconds: float = 3.0
    cell_seconds: float = 20.0
    freeze: bool = True
    profile: bool = False
    shape: Shape = field(default_factory=Shape)
    load_before: float = 0.0  # 1-minute load average when the run started
    # the engine against the floor (benchmarks/floor.py): pairs of interleaved rounds of
    # this many cycles each (0 rounds: not run)
    floor_rounds: int = 15
    floor_cycles: int = 1_000


class Floorplan:
    """One agent count's engine, built and filled (every agent busy), and its driver.

    ``grow`` lengthens the queue, ``warm_up`` builds the engine's lazy caches and
    ``start_cell`` seeds the measured streams of a cell; ``measure`` then times it."""

    def __init__(self, n_agents: int, s: Settings, progress: Callable[[str], None]) -> None:
        self.n_agents = n_agents
        self.s = s
        self.progress = progress
        t_start = time.perf_counter()
        gc.disable()
        self.region = region = build_region(n_agents, s.seed, s.shape)
        self.engine = engine = Engine(region.policy)
        self.caps = {a.id: sum(a.capacity.values()) for a in region.agents}
        self.floor = Floor()
        stream = ContactStream(region, random.Random(f"build:{s.seed}:{n_agents}"))
        self.driver = driver = Driver(engine, self.floor, stream, random.Random(0), self.caps)
        progress(f"engine built ({region.agent_groups()} agent groups); logging in")
        for a in region.agents:
            driver.log_in(a.id)

        # Fill every agent's capacity with contacts built for it (each finds a free agent).
        progress("filling agents' capacity")
        driver.rec = rec = Recorder()
        order = list(range(n_agents))
        random.Random(f"fill:{s.seed}").shuffle(order)
        fill_start = time.perf_counter()
        for i in order:
            agent_id = region.agents[i].id
            while driver.has_free(agent_id):
                driver.arrive(stream.for_agent(i))
        driver.rec = None
        self.fill = sample_of(rec, time.perf_counter() - fill_start)
        if engine.waiting_count:
            raise RuntimeError("fill left contacts waiting; the workload is not servable")
        progress(f"all {n_agents} agents busy after {self.fill.events} fill events")
        self.build_s = time.perf_counter() - t_start

    def grow(self, waiting: int) -> tuple[float, int]:
        """Feeds random contacts until ``waiting`` wait; returns the bytes traced per
        contact added and how many were added."""
        engine = self.engine
        before_n = engine.waiting_count
        gc.collect()
        tracemalloc.start()
        mem0 = tracemalloc.get_traced_memory()[0]
        self.driver.top_up(waiting, lambda n: self.progress(f"queue {n:,}/{waiting:,}"))
        mem1 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        added = engine.waiting_count - before_n
        mem = (mem1 - mem0) / added if added > 0 else float("nan")
        self.progress(f"{waiting:,} waiting ({mem:.0f} B/contact)")
        return mem, added

    def warm_up(self, waiting: int) -> Sample:
        """Completes every busy agent's contact once, then ``warmup`` more events."""
        s = self.s
        driver = self.driver
        self.progress(
            f"warm-up: every busy agent completes once, then {s.warmup:,} more events "
            "(fills the engine's lazy caches)"
        )
        driver.rec = rec = Recorder()
        start = time.perf_counter()
        driver.complete_each(waiting)
        first = rec.events
        while rec.events < first + s.warmup:
            driver.complete_one()
            driver.top_up(waiting)
        driver.rec = None
        return sample_of(rec, time.perf_counter() - start)

    def streams(self, waiting: int) -> tuple[ContactStream, random.Random]:
        """The measured phase's contact stream and agent picker for a cell (the same for
        the engine and the naive matcher)."""
        mseed = f"{self.s.seed}:{self.n_agents}:{waiting}"
        return (
            ContactStream(self.region, random.Random(f"m:{mseed}"), prefix=f"m{waiting}-"),
            random.Random(f"pick:{mseed}"),
        )

    def start_cell(self, waiting: int) -> None:
        self.driver.stream, self.driver.pick = self.streams(waiting)
