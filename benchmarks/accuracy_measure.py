"""The measuring of ``benchmarks.estimate_accuracy``: the day run on the engine in virtual
time, each queued contact's estimates (every variant, ``VARIANTS``) recorded when it
queued and compared with its actual wait once answered (``run`` → ``Result``)."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

from benchmarks.accuracy_workload import HOUR, Workload, contact_factory, day_profile
from router.config import load_region
from router.config.region import Region
from router.core import decisions as d
from router.core.engine import Engine
from router.core.estimate import Estimate, minutes_range, wait_range
from router.core.model import AgentStatus, Channel, ContactSpec
from router.sim import Behaviour, Simulation

# ------------------------------------------------------------------------ measuring


@dataclass(slots=True)
class Record:
    """One contact that queued on arrival: what it was told and what happened."""

    service: str
    channel: Channel
    published: Estimate  # Engine.estimate, with the measured abandonment
    service_wide: Estimate  # Engine.service_estimate, as for a contact arriving now
    naive_s: float | None  # the naive expected wait (None: nobody to serve it)
    waited_s: float | None = None  # answered after this long
    abandoned: bool = False


Range = tuple[float | None, float | None]
PER_CONTACT = "per contact"
PER_CONTACT_PLAIN = "per contact, without abandonment"
PREVIOUS = "per contact, previous formula"
SERVICE_WIDE = "service-wide (public status)"
SERVICE_WIDE_PLAIN = "service-wide, without abandonment"
NAIVE = "naive baseline"
VARIANTS = (PER_CONTACT, PER_CONTACT_PLAIN, PREVIOUS, SERVICE_WIDE, SERVICE_WIDE_PLAIN, NAIVE)


def _range(e: Estimate) -> Range:
    return e.low_s, e.high_s


def ranges(r: Record) -> dict[str, Range]:
    """Every variant's announced range for one contact."""
    e, s = r.published, r.service_wide
    previous: Range = (None, None)
    if e.servers > 0:
        previous = minutes_range(math.ceil(round(e.position / e.servers, 9)) * e.handle_s)
    return {
        PER_CONTACT: _range(e),
        PER_CONTACT_PLAIN: _range(wait_range(e.position, e.servers, e.handle_s)),
        PREVIOUS: previous,
        SERVICE_WIDE: _range(s),
        SERVICE_WIDE_PLAIN: _range(wait_range(s.position, s.servers, s.handle_s)),
        NAIVE: minutes_range(r.naive_s) if r.naive_s is not None else (None, None),
    }


@dataclass(slots=True)
class Figures:
    """Accuracy of one way of estimating, over some answered contacts."""

    n: int = 0  # with a known estimate
    unknown: int = 0  # told "unknown"
    abs_error_s: float = 0.0
    signed_error_s: float = 0.0
    inside: int = 0

    def add(self, announced: Range, actual: float) -> None:
        low, high = announced
        if low is None or high is None:
            self.unknown += 1
            return
        mid = (low + high) / 2
        self.n += 1
        self.abs_error_s += abs(mid - actual)
        self.signed_error_s += mid - actual
        self.inside += low <= actual <= high

    @property
    def mae_s(self) -> float:
        return self.abs_error_s / self.n if self.n else math.nan

    @property
    def bias_s(self) -> float:
        return self.signed_error_s / self.n if self.n else math.nan

    @property
    def inside_share(self) -> float:
        return self.inside / self.n if self.n else math.nan


def mean_of(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


@dataclass(slots=True)
class Group:
    """Counts and figures for one service (or all)."""

    arrived: int = 0
    queued: int = 0  # of the arrived: waited on arrival (and so were told an estimate)
    answered: int = 0  # of the queued
    abandoned: int = 0  # of the queued
    figures: dict[str, Figures] = field(default_factory=lambda: {v: Figures() for v in VARIANTS})
    waits: list[float] = field(default_factory=list)
    handle_used_s: list[float] = field(default_factory=list)  # in the queued's estimates
    abandon_used: list[float] = field(default_factory=list)

    @property
    def mean_wait_s(self) -> float:
        return mean_of(self.waits)


@dataclass(slots=True)
class Result:
    workload: Workload
    region: Region
    records: dict[str, Record]
    by_service: dict[str, Group]
    by_channel: dict[str, Group]
    overall: Group
    abandoned_all: int  # every contact that gave up (also those offered at once)
    still_waiting: int
    wall_s: float


def run(workload: Workload) -> Result:
    """Simulates the day and compares every queued contact's estimates with its wait."""
    started = time.perf_counter()
    region = load_region(workload.config)
    engine = Engine(region.policy())
    patience: dict[Channel, float] = {}
    if workload.patience_voice_s is not None:
        patience[Channel.VOICE] = workload.patience_voice_s
    if workload.patience_chat_s is not None:
        patience[Channel.CHAT] = workload.patience_chat_s
    sim = Simulation(engine, seed=workload.seed, behaviour=Behaviour(patience_s=patience))
    sim.log_in_everyone()
    make = contact_factory(region)
    arrived: dict[str, str] = {}

    def counting(rnd: random.Random, n: int, t: float) -> ContactSpec:
        spec = make(rnd, n, t)
        arrived[spec.id] = spec.service
        return spec

    until = workload.hours * HOUR
    sim.arrivals(counting, workload.peak_per_hour, until=until, profile=day_profile())

    cat = engine.catalogue
    compiled = {s: engine.service(s).requirement.compile(cat) for s in engine.services()}
    masks = {a.id: cat.agent_mask(a.spec.abilities) for a in engine.agents()}
    times = sim.handle_times
    for name in engine.services():
        engine.service_estimate(name, 0.0)  # interns each service's requirement up front

    def service_wide(service_id: str, channel: Channel) -> Estimate:
        # The public status a moment before this contact arrived (it is already counted),
        # asked for the contact's channel: who could take it.
        e = engine.service_estimate(
            service_id, times.of(service_id), times.abandon_share(service_id), channel=channel
        )
        return wait_range(e.position - 1, e.servers, e.handle_s, e.abandon_share, e.free, e.reach_s)

    def naive_s(service_id: str) -> float | None:
        staff = sum(
            1
            for a in engine.agents()
            if a.status is not AgentStatus.OFFLINE and compiled[service_id].matches(masks[a.id])
        )
        waiting, _ = engine.waiting_in("service", service_id)
        return waiting * times.of(service_id) / staff if staff else None

    records: dict[str, Record] = {}
    for _, decision in sim.run(until=until + workload.drain_hours * HOUR):
        if isinstance(decision, d.Queued):
            cid, service = decision.contact_id, decision.service
            channel = engine.contact(cid).channel
            records[cid] = Record(
                service,
                channel,
                sim.estimates[cid],
                service_wide(service, channel),
                naive_s(service),
            )
    by_service = {s: Group() for s in region.services}
    by_channel: dict[str, Group] = {}
    overall = Group()
    for service in arrived.values():
        by_service[service].arrived += 1
        overall.arrived += 1
    for cid, rec in records.items():
        rec.waited_s = sim.answered_wait_s.get(cid)
        rec.abandoned = cid in sim.abandoned_wait_s
        by_ch = by_channel.setdefault(rec.channel.value, Group())
        for g in (by_service[rec.service], by_ch, overall):
            g.queued += 1
            g.abandoned += rec.abandoned
            g.handle_used_s.append(rec.published.handle_s)
            g.abandon_used.append(rec.published.abandon_share)
            if rec.waited_s is None:
                continue
            g.answered += 1
            g.waits.append(rec.waited_s)
            for variant, announced in ranges(rec).items():
                g.figures[variant].add(announced, rec.waited_s)
    return Result(
        workload,
        region,
        records,
        by_service,
        dict(sorted(by_channel.items())),
        overall,
        len(sim.abandoned_wait_s),
        engine.waiting_count,
        time.perf_counter() - started,
    )
