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
5. the floor (``benchmarks/floor.py``, a minimal indexed matcher) is built from the
   engine's state after its measured phase, and the two run interleaved rounds over the
   same events (``floor.compare``): the engine/floor ratios, and whether every offer was
   the same.

Virtual time moves ``DT`` seconds per event. Before each measured phase the collector
runs and the long-lived state is frozen (``gc.freeze()``, as the service does after
loading); the collector stays enabled while measuring, with the service's thresholds
(``router.service.collector.GC_THRESHOLDS``), so its pauses are in the figures.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from benchmarks.naive import NaiveAgent, NaiveContact, NaiveMatcher
from benchmarks.workload import ContactStream, Region, Shape, build_region
from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    Event,
    OfferAccepted,
)
from router.core.model import AgentStatus, ContactSpec
from router.service.collector import GC_THRESHOLDS
from skills import Requirement

if TYPE_CHECKING:
    from benchmarks.floor import FloorRun

DT = 0.001
# The measured phase is split into rounds; throughput is the median round's, so a burst
# of other work on the machine moves the figure less (the spread is reported).
ROUNDS = 5
COMPLETE, ACCEPT, ARRIVE = 0, 1, 2
KINDS = ("complete", "accept", "arrive")


class Matcher(Protocol):
    """What the driver needs: the engine and the naive matcher both have it."""

    def apply(self, now: float, event: Event) -> list[d.Decision]: ...

    @property
    def waiting_count(self) -> int: ...


@dataclass(slots=True)
class Floor:
    """The driver's view of the floor: who holds what, and the clock."""

    held: list[tuple[str, str]] = field(default_factory=list)  # (agent, contact) assigned
    load: dict[str, int] = field(default_factory=dict)
    since: dict[str, float] = field(default_factory=dict)
    now: float = 0.0
    arrivals: int = 0

    def copy(self) -> Floor:
        return Floor(list(self.held), dict(self.load), dict(self.since), self.now, self.arrivals)


@dataclass(slots=True)
class Recorder:
    """Latencies (ns) per event kind, decisions and offers made while recording."""

    lat: tuple[list[int], list[int], list[int]] = field(default_factory=lambda: ([], [], []))
    decisions: int = 0
    total_ns: int = 0
    # (events, decisions, ns) at the end of each round of the measured phase
    rounds: list[tuple[int, int, int]] = field(default_factory=list)
    offers: list[tuple[str, str]] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    gc_pauses: list[tuple[int, int]] = field(default_factory=list)  # (generation, ns)
    preempted: int = 0  # involuntary context switches while measuring

    @property
    def events(self) -> int:
        return sum(len(x) for x in self.lat)


class Driver:
    """Feeds events to a matcher the way a contact centre would, and keeps ``Floor``."""

    def __init__(
        self,
        matcher: Matcher,
        floor: Floor,
        stream: ContactStream,
        pick: random.Random,
        caps: dict[str, int],
    ) -> None:
        self.m = matcher
        self.floor = floor
        self.stream = stream
        self.pick = pick
        self.caps = caps
        self.rec: Recorder | None = None
        self._pending: list[d.Offered] = []

    def feed(self, event: Event, kind: int) -> list[d.Decision]:
        floor = self.floor
        floor.now += DT
        now = floor.now
        apply = self.m.apply
        t0 = time.perf_counter_ns()
        out = apply(now, event)
        t1 = time.perf_counter_ns()
        rec = self.rec
        if rec is not None:
            rec.lat[kind].append(t1 - t0)
            rec.decisions += len(out)
            rec.total_ns += t1 - t0
        for dec in out:
            if type(dec) is d.Offered:
                self._pending.append(dec)
                floor.load[dec.agent_id] += 1
                floor.since[dec.agent_id] = now
                if rec is not None:
                    rec.offers.append((dec.contact_id, dec.agent_id))
                    if kind == COMPLETE:
                        rec.heads.append(dec.trace.candidates)
            elif type(dec) is d.Closed and dec.agent_id is not None:
                floor.load[dec.agent_id] -= 1
                floor.since[dec.agent_id] = now
        return out

    def accept_pending(self) -> None:
        while self._pending:
            offer = self._pending.pop(0)
            self.feed(OfferAccepted(offer.contact_id, offer.agent_id), ACCEPT)
            self.floor.held.append((offer.agent_id, offer.contact_id))

    def arrive(self, spec: ContactSpec) -> None:
        self.floor.arrivals += 1
        self.feed(ContactArrived(spec), ARRIVE)
        self.accept_pending()

    def log_in(self, agent_id: str) -> None:
        self.floor.load[agent_id] = 0
        self.floor.since[agent_id] = self.floor.now + DT
        self.feed(AgentLoggedIn(agent_id), ARRIVE)
        self.accept_pending()

    def complete_one(self) -> None:
        held = self.floor.held
        i = self.pick.randrange(len(held))
        agent_id, contact_id = held[i]
        held[i] = held[-1]
        held.pop()
        self.feed(ContactCompleted(contact_id, agent_id), COMPLETE)
        self.accept_pending()

    def complete_each(self, waiting: int) -> None:
        """Completes every contact held now once, in order, keeping ``waiting`` waiting."""
        held = list(self.floor.held)
        self.floor.held.clear()
        for agent_id, contact_id in held:
            self.feed(ContactCompleted(contact_id, agent_id), COMPLETE)
            self.accept_pending()
            self.top_up(waiting)

    def idle(self) -> int:
        """Agents with nothing in hand."""
        return sum(1 for n in self.floor.load.values() if n == 0)

    def top_up(self, waiting: int, progress: Callable[[int], None] | None = None) -> None:
        m = self.m
        stream = self.stream
        n = 0
        while m.waiting_count < waiting:
            self.arrive(stream.random())
            n += 1
            if progress is not None and n % 20_000 == 0:
                progress(m.waiting_count)

    def has_free(self, agent_id: str) -> bool:
        return self.floor.load[agent_id] < self.caps[agent_id]


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


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _sample(rec: Recorder, wall_s: float) -> Sample:
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
    return _sample(rec, wall)


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
        self.fill = _sample(rec, time.perf_counter() - fill_start)
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
        return _sample(rec, time.perf_counter() - start)

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
            from benchmarks.floor import compare  # noqa: PLC0415 - floor imports this module

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
