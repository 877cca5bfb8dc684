"""The M/M/c+M workload of ``benchmarks.sim_vs_ciw``, played by ciw and by our simulator.

One queue, ``agents`` identical agents, Poisson arrivals at a load of ``load_erlangs``,
exponential handle times and exponential patience (M/M/c+M, Erlang A). Each side
simulates about ``contacts`` contacts from an empty centre and returns how many it
simulated, the CPU time it took (``time.process_time``, building the model and reading
the results included) and the two figures both give: the mean wait of answered contacts
and the share that gave up. The sides:

- ``ciw``: ciw's own M/M/c with reneging, run until ``contacts`` have left;
- ``sim``: ``router.sim.Simulation`` with the real engine, as the what-if replications
  run it (``measure=False``): arrivals over ``contacts / λ`` seconds, then until every
  contact is closed; agents answer offers at once and never decline;
- ``sim-measuring``: the same with ``measure=True``, as ``benchmarks.estimate_accuracy``
  runs it (the published estimate for every contact that queues, handle times measured);
- ``engine``: the real engine under a bare driver written for this workload alone (a
  heap of events, a dict of who waits): what the engine costs without the simulator.

The engine's policy: one service whose offers never time out and whose urgency target is
far beyond the run, so no timer of the engine fires: ciw has no deadlines either.

Measured the same way on every side: CPU time from before the model is built to after
the figures are read, from an empty centre with no warm-up, each side after a
``gc.collect()``. ciw and the bare driver run with CPython's collector as their users
would; the simulator sets its own thresholds while a run goes
(``router.sim.BATCH_THRESHOLDS``, restored after), as it does for every user of
``yhteys simulate``: that is the product's behaviour, not the benchmark's.
"""

from __future__ import annotations

import heapq
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    Event,
    OfferAccepted,
    TimerDue,
)
from router.core.model import AgentSpec, Channel, ContactSpec, ServiceSpec, UrgencyClass
from router.core.policy import RoutingPolicy
from router.sim import Behaviour, Simulation
from skills import AgentAbilities, SkillCatalogue, parse_requirement

SERVICE = "advice"
URGENCY = "P5"
# Beyond any run: no escalation warning or deadline timer fires (ciw has none).
TARGET_S = 1.0e7
SIDES = ("ciw", "sim", "sim-measuring", "engine")


@dataclass(frozen=True, slots=True)
class Workload:
    agents: int = 14
    load_erlangs: float = 10.0
    handle_s: float = 300.0
    patience_s: float = 180.0
    contacts: int = 20_000

    @property
    def arrivals_per_s(self) -> float:
        return self.load_erlangs / self.handle_s

    @property
    def horizon_s(self) -> float:
        """How long arrivals run on our side: ``contacts`` are expected in that time."""
        return self.contacts / self.arrivals_per_s

    def describe(self) -> str:
        return (
            f"M/M/c+M: c = {self.agents} agents, A = {self.load_erlangs:g} Erlangs "
            f"(λ = {self.arrivals_per_s * 3600:g}/h, exponential handle time of mean "
            f"{self.handle_s:g} s), exponential patience of mean {self.patience_s:g} s, "
            f"about {self.contacts:,} contacts per run from an empty centre"
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    side: str
    seed: int
    contacts: int
    cpu_s: float
    mean_wait_s: float  # of answered contacts
    p_abandon: float

    @property
    def per_cpu_s(self) -> float:
        return self.contacts / self.cpu_s if self.cpu_s > 0 else float("nan")


def policy(w: Workload) -> RoutingPolicy:
    catalogue = SkillCatalogue([SERVICE], ["fi"])
    service = ServiceSpec(
        name=SERVICE,
        requirement=parse_requirement(f"{SERVICE}>=1", catalogue),
        urgencies={URGENCY: UrgencyClass(URGENCY, TARGET_S)},
        default_urgency=URGENCY,
        offer_timeout_s=1.0e9,
    )
    abilities = AgentAbilities({SERVICE: 1}, frozenset({"fi"}), frozenset())
    agents = {
        f"a{i:03d}": AgentSpec(
            id=f"a{i:03d}",
            name=f"A{i:03d}",
            site="site",
            team="team",
            abilities=abilities,
            capacity={Channel.VOICE: 1},
        )
        for i in range(w.agents)
    }
    return RoutingPolicy(catalogue, {SERVICE: service}, agents)


def _call(n: int) -> ContactSpec:
    return ContactSpec(id=f"c{n}", channel=Channel.VOICE, service=SERVICE, urgency=URGENCY)


def run_ciw(w: Workload, seed: int) -> Outcome:
    import ciw  # noqa: PLC0415 -- only the benchmark's environment has it

    start = time.process_time()
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=w.arrivals_per_s)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / w.handle_s)],
        number_of_servers=[w.agents],
        reneging_time_distributions=[ciw.dists.Exponential(rate=1.0 / w.patience_s)],
    )
    q = ciw.Simulation(network)
    q.simulate_until_max_customers(w.contacts, method="Finish")
    records = q.get_all_records()
    waits = [r.waiting_time for r in records if r.record_type == "service"]
    gave_up = sum(1 for r in records if r.record_type == "renege")
    cpu = time.process_time() - start
    return Outcome("ciw", seed, len(records), cpu, statistics.fmean(waits), gave_up / len(records))


def _simulate(w: Workload, seed: int, measure: bool) -> Simulation:
    def handle(rnd: random.Random, _spec: ContactSpec) -> float:
        return rnd.expovariate(1.0 / w.handle_s)

    def patience(rnd: random.Random, _spec: ContactSpec) -> float:
        return rnd.expovariate(1.0 / w.patience_s)

    behaviour = Behaviour(answer_delay_s=0.0, decline_share=0.0, handle=handle, patience=patience)
    sim = Simulation(Engine(policy(w)), seed=seed, behaviour=behaviour, measure=measure)
    sim.log_in_everyone()
    sim.arrivals(lambda _rnd, n, _t: _call(n), w.arrivals_per_s * 3600.0, until=w.horizon_s)
    for _ in sim.run(until=w.horizon_s + 100 * (w.handle_s + w.patience_s)):
        pass
    if sim.engine.waiting_count:
        raise RuntimeError("contacts still waiting at the end of the run: make it longer")
    return sim


def run_sim(w: Workload, seed: int, measure: bool = False) -> Outcome:
    start = time.process_time()
    sim = _simulate(w, seed, measure)
    n = len(sim.arrived_at)
    wait = statistics.fmean(sim.answered_wait_s.values())
    p_abandon = len(sim.abandoned_wait_s) / n
    cpu = time.process_time() - start
    return Outcome("sim-measuring" if measure else "sim", seed, n, cpu, wait, p_abandon)


def run_engine(w: Workload, seed: int) -> Outcome:
    """The engine under the barest driver for this workload: the next arrival drawn when
    the last one is taken, answers at once, a patience drawn for each contact that queues."""
    start = time.process_time()
    rnd = random.Random(seed)
    engine = Engine(policy(w))
    apply = engine.apply
    for agent in policy(w).agents:
        apply(0.0, AgentLoggedIn(agent))
    rate, mean_handle, mean_patience = w.arrivals_per_s, w.handle_s, w.patience_s
    heap: list[tuple[float, int, Event]] = [(rnd.expovariate(rate), 0, ContactArrived(_call(1)))]
    seq, n = 1, 1
    waiting: dict[str, float] = {}  # arrived and not yet answered: when it arrived
    waits: list[float] = []
    gave_up = 0
    event: Event
    while heap:
        timer = engine.next_timer_at()
        if timer is not None and timer < heap[0][0]:
            at, event = timer, TimerDue()
        else:
            at, _, event = heapq.heappop(heap)
        if isinstance(event, ContactArrived):
            waiting[event.contact.id] = at
            t = at + rnd.expovariate(rate)
            if t < w.horizon_s:
                n += 1
                heapq.heappush(heap, (t, seq, ContactArrived(_call(n))))
                seq += 1
        elif isinstance(event, ContactAbandoned) and event.contact_id not in waiting:
            continue
        for x in apply(at, event):
            if isinstance(x, d.Offered):
                heapq.heappush(heap, (at, seq, OfferAccepted(x.contact_id, x.agent_id)))
            elif isinstance(x, d.Assigned):
                waits.append(at - waiting.pop(x.contact_id))
                done = at + rnd.expovariate(1.0 / mean_handle)
                heapq.heappush(heap, (done, seq, ContactCompleted(x.contact_id, x.agent_id)))
            elif isinstance(x, d.Queued):
                left = at + rnd.expovariate(1.0 / mean_patience)
                heapq.heappush(heap, (left, seq, ContactAbandoned(x.contact_id)))
            elif isinstance(x, d.Closed) and x.outcome == "abandoned":
                del waiting[x.contact_id]
                gave_up += 1
            seq += 1
    cpu = time.process_time() - start
    return Outcome("engine", seed, n, cpu, statistics.fmean(waits), gave_up / n)


RUNNERS: dict[str, Callable[[Workload, int], Outcome]] = {
    "ciw": run_ciw,
    "sim": run_sim,
    "sim-measuring": lambda w, seed: run_sim(w, seed, measure=True),
    "engine": run_engine,
}
