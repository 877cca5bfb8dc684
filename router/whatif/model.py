"""Replicated what-if runs of the real engine in virtual time, and their statistics.

Pure apart from the engine it drives: no I/O, no clock (progress goes to a callback).
Each replication builds a fresh engine from the region, logs every agent in at time 0,
lets Poisson arrivals run for ``warmup_s + measure_s`` and keeps on until the contacts
that arrived in the measured window are closed (or ``drain_s`` more has passed). Only
contacts arriving in ``[warmup_s, warmup_s + measure_s)`` are counted, so the start from
an empty centre does not flatter the figures; occupancy is measured over the same window.

Per service (the one the contact arrived for, even if it overflowed) and replication:

- ``sl_all``: answered within ``sl_s`` / all arrivals (abandoned and never answered count
  as missed); ``sl_answered``: answered within ``sl_s`` / answered;
- ``asa_s`` and ``p90_wait_s``: mean and 90th percentile of the waits of answered
  contacts (arrival to assignment: queueing plus the agent's answer delay);
- ``abandoned``: abandoned / all arrivals;
- ``occupancy``: time agents held this service's contacts / (agents × window): the
  service's share of the pool's time; the ``all`` row sums them.

Across replications each figure is given as a mean with a 95 % confidence interval
(Student t over the replications' values). :func:`run_detailed` also gives, summed over
the replications, per service and hour of the measured window the arrivals, the answered
and the answered within ``sl_s``, and the answered contacts by wait in the daily
report's bands (``WAIT_BANDS_S``, as ``router/service/charts.py``): what the HTML report
draws.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from router.core import decisions as d
from router.core.engine import Engine
from router.core.model import Channel, ContactSpec
from router.core.policy import RoutingPolicy
from router.sim import Behaviour, Simulation, servable

# Draws a duration in seconds.
Draw = Callable[[random.Random], float]

ALL = "all"
# Waiting-time bands' lower bounds in seconds, the supervisor console's (0, 1, 2, 5, 10,
# 20, 30, 60, 120 and 240+ minutes); the last band is open-ended.
WAIT_BANDS_S: tuple[int, ...] = (0, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


class WhatIfError(ValueError):
    """A what-if that cannot be run: the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """A duration's distribution: ``exp`` (exponential), ``det`` (always the mean) or
    ``lognormal`` with coefficient of variation ``cv``. A mean of 0 is always 0."""

    kind: str
    mean_s: float
    cv: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in {"exp", "det", "lognormal"}:
            raise WhatIfError(f"expected exp, det or lognormal, got {self.kind!r}")
        if not self.mean_s >= 0 or math.isinf(self.mean_s):
            raise WhatIfError(f"expected a mean >= 0 seconds, got {self.mean_s}")
        if self.kind == "lognormal" and not self.cv > 0:
            raise WhatIfError(f"expected a lognormal cv > 0, got {self.cv}")

    @classmethod
    def parse(cls, text: str) -> Distribution:
        """``300`` or ``exp:300``, ``det:300``, ``lognormal:300:0.8``."""
        parts = text.split(":")
        numbers: list[float] = []
        with contextlib.suppress(ValueError):
            numbers = [float(x) for x in parts[1:]] if len(parts) > 1 else [float(parts[0])]
        if len(parts) == 1 and numbers:
            return cls("exp", numbers[0])
        if len(parts) == 2 and parts[0] in {"exp", "det"} and numbers:
            return cls(parts[0], numbers[0])
        if len(parts) == 3 and parts[0] == "lognormal" and numbers:
            return cls("lognormal", numbers[0], numbers[1])
        raise WhatIfError(
            f"expected a distribution such as 300, exp:300, det:300 or lognormal:300:0.8, "
            f"got {text!r}"
        )

    def draw(self, rnd: random.Random) -> float:
        if self.mean_s == 0 or self.kind == "det":
            return self.mean_s
        if self.kind == "exp":
            return rnd.expovariate(1.0 / self.mean_s)
        sigma2 = math.log1p(self.cv * self.cv)
        return rnd.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Stream:
    """Poisson arrivals of one kind of contact."""

    service: str
    per_hour: float
    channel: Channel = Channel.VOICE
    language: str | None = None
    site: str | None = None  # the caller's own site (``preferred_site``); None: none


@dataclass(frozen=True, slots=True)
class Scenario:
    streams: tuple[Stream, ...]
    handle: Mapping[str, Distribution]  # per service; "*" for the rest
    patience: Distribution | None = None  # None: nobody abandons
    measure_s: float = 8 * 3600.0
    warmup_s: float = 3600.0
    drain_s: float = 4 * 3600.0
    sl_s: float = 20.0
    answer_delay_s: float = 0.0
    not_ready_s: float | None = 60.0
    # Virtual time (epoch seconds) the replication starts at: everything above counts
    # from here. 0 unless the time of day matters (partner cover by schedule).
    start_at: float = 0.0

    def handle_of(self, service: str) -> Distribution:
        found = self.handle.get(service) or self.handle.get("*")
        if found is None:
            raise WhatIfError(f"no handle-time distribution for service {service!r}")
        return found


@dataclass(slots=True)
class Tally:
    """One replication's counts for one service."""

    arrivals: int = 0
    answered: int = 0
    within: int = 0
    abandoned: int = 0
    waits: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    # Per hour of the measured window: arrivals, answered, answered within sl_s.
    hours: list[list[int]] = field(default_factory=list)

    def count_hour(self, hour: int, answered: bool, within: bool) -> None:
        while len(self.hours) <= hour:
            self.hours.append([0, 0, 0])
        row = self.hours[hour]
        row[0] += 1
        row[1] += answered
        row[2] += within

    def bands(self) -> list[int]:
        """The answered contacts by wait, in ``WAIT_BANDS_S``."""
        counts = [0] * len(WAIT_BANDS_S)
        for w in self.waits:
            counts[_band(w)] += 1
        return counts

    def figures(self, agents: int, window_s: float) -> dict[str, float]:
        waits = sorted(self.waits)
        n = self.arrivals
        return {
            "arrivals": float(n),
            "sl_all": self.within / n if n else math.nan,
            "sl_answered": self.within / self.answered if self.answered else math.nan,
            "asa_s": sum(waits) / len(waits) if waits else math.nan,
            "p90_wait_s": _quantile(waits, 0.9),
            "abandoned": self.abandoned / n if n else math.nan,
            "occupancy": self.busy_s / (agents * window_s) if agents else math.nan,
        }


def _band(wait_s: float) -> int:
    index = 0
    for k, bound in enumerate(WAIT_BANDS_S):
        if wait_s >= bound:
            index = k
    return index


def _quantile(xs: list[float], q: float) -> float:
    if not xs:
        return math.nan
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    half_width: float  # of the 95 % confidence interval; nan with one replication


def confidence(values: list[float]) -> Estimate:
    xs = [x for x in values if not math.isnan(x)]
    if not xs:
        return Estimate(math.nan, math.nan)
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return Estimate(m, math.nan)
    var = sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
    t = _T975[len(xs) - 2] if len(xs) - 2 < len(_T975) else 1.96 + 2.5 / len(xs)
    return Estimate(m, t * math.sqrt(var / len(xs)))


def replicate(
    policy: RoutingPolicy, scenario: Scenario, seed: int
) -> tuple[dict[str, dict[str, float]], int]:
    """One replication: figures per service (and ``all``), and how many decisions."""
    figures, decisions, _ = _replicate(policy, scenario, seed)
    return figures, decisions


def _replicate(
    policy: RoutingPolicy, scenario: Scenario, seed: int
) -> tuple[dict[str, dict[str, float]], int, dict[str, Tally]]:
    services = sorted({s.service for s in scenario.streams})
    for name in services:
        if name not in policy.services:
            raise WhatIfError(
                f"no service {name!r} in the region; expected one of "
                f"{', '.join(sorted(policy.services))}"
            )
    handle = {name: scenario.handle_of(name) for name in policy.services}

    def draw_handle(rnd: random.Random, spec: ContactSpec) -> float:
        return handle[spec.service].draw(rnd)

    patience = scenario.patience

    def draw_patience(rnd: random.Random, spec: ContactSpec) -> float | None:
        return None if patience is None else patience.draw(rnd)

    behaviour = Behaviour(
        answer_delay_s=scenario.answer_delay_s,
        decline_share=0.0,
        handle=draw_handle,
        patience=draw_patience if patience is not None else None,
        not_ready_s=scenario.not_ready_s,
    )
    engine = Engine(policy)
    sim = Simulation(engine, seed=seed, behaviour=behaviour, measure=False)
    origin = scenario.start_at
    sim.now = origin
    sim.log_in_everyone(at=origin)
    start = origin + scenario.warmup_s
    end = start + scenario.measure_s
    service_of: dict[str, str] = {}
    for i, stream in enumerate(scenario.streams):

        def make(
            rnd: random.Random, n: int, t: float, i: int = i, stream: Stream = stream
        ) -> ContactSpec:
            cid = f"s{i}-{n}"
            service_of[cid] = stream.service
            return ContactSpec(
                id=cid,
                channel=stream.channel,
                service=stream.service,
                urgency=policy.services[stream.service].default_urgency,
                language=stream.language,
                preferred_site=stream.site,
            )

        if stream.per_hour > 0:
            sim.arrivals(make, per_hour=stream.per_hour, until=end, start=origin)
    tallies = {name: Tally() for name in services}
    assigned_at: dict[str, float] = {}
    decisions = 0
    for now, decision in sim.run(until=end + scenario.drain_s):
        decisions += 1
        if isinstance(decision, d.Assigned):
            assigned_at[decision.contact_id] = now
        elif isinstance(decision, d.Closed) and decision.contact_id in assigned_at:
            began = assigned_at.pop(decision.contact_id)
            busy = min(now, end) - max(began, start)
            service = service_of.get(decision.contact_id)
            if busy > 0 and service is not None:
                tallies[service].busy_s += busy
    # Contacts still held at the end of the drain count as busy to the window's end.
    for cid, began in assigned_at.items():
        service = service_of.get(cid)
        busy = end - max(began, start)
        if busy > 0 and service is not None:
            tallies[service].busy_s += busy
    for cid, arrived in sim.arrived_at.items():
        if not start <= arrived < end:
            continue
        tally = tallies[service_of[cid]]
        tally.arrivals += 1
        wait = sim.answered_wait_s.get(cid)
        if wait is not None:
            tally.answered += 1
            tally.waits.append(wait)
            if wait <= scenario.sl_s:
                tally.within += 1
        elif cid in sim.abandoned_wait_s:
            tally.abandoned += 1
        hour = int((arrived - start) // 3600.0)
        tally.count_hour(hour, wait is not None, wait is not None and wait <= scenario.sl_s)
    agents = sum(1 for _ in engine.agents())
    total = Tally()
    for t in tallies.values():
        total.arrivals += t.arrivals
        total.answered += t.answered
        total.within += t.within
        total.abandoned += t.abandoned
        total.waits.extend(t.waits)
        total.busy_s += t.busy_s
        total.hours.extend([0, 0, 0] for _ in range(len(t.hours) - len(total.hours)))
        for hour, row in enumerate(t.hours):
            for k in range(3):
                total.hours[hour][k] += row[k]
    figures = {name: t.figures(agents, scenario.measure_s) for name, t in tallies.items()}
    figures[ALL] = total.figures(agents, scenario.measure_s)
    return figures, decisions, {**tallies, ALL: total}


FIGURES = ("arrivals", "sl_all", "sl_answered", "asa_s", "p90_wait_s", "abandoned", "occupancy")


@dataclass(slots=True)
class Detail:
    """Counts summed over the replications for one service (or ``all``): per hour of the
    measured window ``[arrivals, answered, answered within sl_s]``, and the answered
    contacts by wait in ``WAIT_BANDS_S``."""

    hours: list[list[int]] = field(default_factory=list)
    bands: list[int] = field(default_factory=lambda: [0] * len(WAIT_BANDS_S))

    def add(self, tally: Tally, hours: int) -> None:
        while len(self.hours) < hours:
            self.hours.append([0, 0, 0])
        for hour, row in enumerate(tally.hours[:hours]):
            for k in range(3):
                self.hours[hour][k] += row[k]
        for k, n in enumerate(tally.bands()):
            self.bands[k] += n


def run(
    policy: RoutingPolicy,
    scenario: Scenario,
    replications: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict[str, Estimate]]:
    """``replications`` independent runs (seeds ``seed``, ``seed + 1``, ...): each figure
    per service (and ``all``) as a mean with its 95 % confidence interval."""
    return run_detailed(policy, scenario, replications, seed, progress)[0]


def run_detailed(
    policy: RoutingPolicy,
    scenario: Scenario,
    replications: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, dict[str, Estimate]], dict[str, Detail]]:
    """As :func:`run`, and the per-hour and wait-band counts per service (and ``all``)."""
    if replications < 1:
        raise WhatIfError(f"expected at least 1 replication, got {replications}")
    runs = []
    details: dict[str, Detail] = {}
    hours = max(1, math.ceil(scenario.measure_s / 3600.0 - 1e-9))
    for r in range(replications):
        figures, _, tallies = _replicate(policy, scenario, seed + r)
        runs.append(figures)
        for name, tally in tallies.items():
            details.setdefault(name, Detail()).add(tally, hours)
        if progress is not None:
            progress(r + 1, replications)
    results = {
        name: {f: confidence([run[name][f] for run in runs]) for f in FIGURES} for name in runs[0]
    }
    return results, details


def unservable(policy: RoutingPolicy, scenario: Scenario) -> list[str]:
    """The streams nobody on the roster can ever serve (asked of the real engine, with
    every agent available and reach widened as far as the service allows): their
    contacts wait until they give up and count as not answered."""
    found = []
    for stream in scenario.streams:
        svc = policy.services.get(stream.service)
        if svc is None:
            continue
        spec = ContactSpec(
            id="probe",
            channel=stream.channel,
            service=stream.service,
            urgency=svc.default_urgency,
            language=stream.language,
        )
        if not servable(lambda: Engine(policy), spec, 2 * 86400.0):
            found.append(
                f"nobody on the roster can serve {stream.service} by {stream.channel.value} "
                f"in {stream.language or 'any language'}: those contacts count as not answered"
            )
    return found
