"""One replication of a what-if on the real engine in virtual time, and many of them with
their statistics.

Pure apart from the engine it drives: no I/O, no clock (progress goes to a callback).
Each replication builds a fresh engine from the region and starts ``warmup_s`` before the
measured window. Agents log in and out as the scenario's shifts say (everyone from the
start without shifts); contacts arrive from the streams (Poisson, constant or by interval)
and the replay, and the run keeps on until the contacts that arrived in the measured
window are closed (or ``drain_s`` more has passed). Only contacts arriving in the window
are counted, so the start from an empty centre does not flatter the figures; occupancy is
measured over the same window, against the agents' logged-in time in it.

A shift's end logs its agents out: one without a contact in hand leaves at once; one with
a contact is made not ready (no new offers) and leaves when it has finished. A callback
assigned to an agent is an attempt: it reaches the person with the scenario's
``callback_reach``; otherwise the line rings out (``RING_S``) and the engine tries again
as the service says (``callback_attempts``, ``callback_retry_s``) or closes it
unreachable. Callers of callbacks never abandon.

The figures are counted per service (the one the contact arrived for, even if it
overflowed), per caller's site and per language (``router.whatif.model``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    CallbackAttempted,
    ChannelSwitched,
    ContactArrived,
)
from router.core.model import Channel, ContactSpec, ContactState, Presence
from router.core.policy import RoutingPolicy
from router.sim import Behaviour, Simulation, servable
from router.whatif.model import (
    ALL,
    FIGURES,
    Detail,
    Estimate,
    Scenario,
    Tally,
    WhatIfError,
    confidence,
)

# How long an agent lets an unanswered callback ring before reporting no answer.
RING_S = 30.0
# The breakdowns, in output order: by the service the contact arrived for, the caller's
# own site and the contact's language. A contact without a site or language is NONE.
DIMENSIONS = ("service", "site", "language")
NONE = "-"

Results = dict[str, dict[str, Estimate]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything :func:`run_detailed` measured: per dimension (``DIMENSIONS``) and
    group each figure with its 95 % interval (``service`` also has ``all``), and the
    per-hour and wait-band counts per service and ``all`` for the report."""

    by: dict[str, Results]
    details: dict[str, Detail] = field(default_factory=dict)

    @property
    def services(self) -> Results:
        return self.by["service"]


class _Replication(Simulation):
    """The simulation with callback attempts: an assigned callback either reaches the
    person (and is handled as any contact) or rings out and is reported unanswered."""

    def __init__(self, engine: Engine, seed: int, behaviour: Behaviour, reach: float) -> None:
        # measure=False: the figures come from the waits; no estimates or handle times.
        super().__init__(engine, seed=seed, behaviour=behaviour, measure=False)
        # Its own stream: a region without callbacks draws exactly what it drew before.
        self.callback_random = random.Random(f"callback-{seed}")
        self.reach = reach
        self.seed = seed
        # The contacts that are callbacks: arrived as such, or callers who asked for one.
        self.callbacks: set[str] = set()

    def _on_switched(self, decision: d.Switched) -> None:
        if decision.new is Channel.CALLBACK:
            self.callbacks.add(decision.contact_id)
        super()._on_switched(decision)

    def _on_assigned(self, decision: d.Assigned) -> None:
        if decision.contact_id in self.callbacks:
            cid, agent = decision.contact_id, decision.agent_id
            if self.callback_random.random() >= self.reach:
                self.schedule(self.now + RING_S, CallbackAttempted(cid, agent, "no_answer"))
                return
            self.schedule(self.now, CallbackAttempted(cid, agent, "reached"))
        super()._on_assigned(decision)


def _behaviour(policy: RoutingPolicy, scenario: Scenario) -> Behaviour:
    handle = {
        (name, channel): scenario.handle_of(name, channel)
        for name in policy.services
        for channel in Channel
    }

    def draw_handle(rnd: random.Random, spec: ContactSpec) -> float:
        return handle[spec.service, spec.channel].draw(rnd)

    patience = scenario.patience

    def draw_patience(rnd: random.Random, spec: ContactSpec) -> float | None:
        if patience is None or spec.channel is Channel.CALLBACK:
            return None
        return patience.draw(rnd)

    return Behaviour(
        answer_delay_s=scenario.answer_delay_s,
        decline_share=0.0,
        handle=draw_handle,
        patience=draw_patience if patience is not None else None,
        not_ready_s=scenario.not_ready_s,
    )


def _named(scenario: Scenario) -> set[str]:
    return {s.service for s in scenario.streams} | {a.service for a in scenario.replay}


def _check_services(policy: RoutingPolicy, scenario: Scenario) -> None:
    handled = {key.partition("/")[0] for key in scenario.handle if key != "*"}
    for where, names in (("", _named(scenario)), ("--handle: ", handled)):
        for name in sorted(names):
            if name not in policy.services:
                raise WhatIfError(
                    f"{where}no service {name!r} in the region; expected one of "
                    f"{', '.join(sorted(policy.services))}"
                )


def _overlap(lo: float, hi: float, start: float, end: float) -> float:
    return max(0.0, min(hi, end) - max(lo, start))


class _Shifts:
    """Logs agents in and out by the scenario's shifts, and counts their logged-in time
    in the measured window."""

    def __init__(self, sim: Simulation, scenario: Scenario, start: float, end: float) -> None:
        self.sim = sim
        self.start, self.end = start, end
        origin = scenario.start_at
        agents = [a.id for a in sim.engine.agents()]
        shifts = scenario.shifts
        if shifts is None:
            self.of: Mapping[str, tuple[tuple[float, float], ...]] = {
                aid: ((origin, math.inf),) for aid in agents
            }
        else:
            self.of = shifts
        self.staffed_s = 0.0
        self._overtime_counted: set[tuple[str, float]] = set()
        for aid, periods in self.of.items():
            for login, logout in periods:
                if logout <= origin:
                    continue
                sim.schedule(max(login, origin), AgentLoggedIn(aid))
                self.staffed_s += _overlap(login, logout, start, end)
                if logout < math.inf:
                    # No new offers from the shift's end; out at once if nothing is in hand.
                    sim.schedule(logout, AgentLoggedIn(aid, Presence.NOT_READY))
                    sim.schedule(logout, AgentLoggedOut(aid))

    def on_shift(self, agent_id: str, t: float) -> bool:
        return any(lo <= t < hi for lo, hi in self.of.get(agent_id, ()))

    def finished(self, agent_id: str, now: float) -> None:
        """An agent closed a contact: past its shift's end, it leaves once nothing is in hand."""
        if self.on_shift(agent_id, now):
            return
        engine = self.sim.engine
        view = engine.agent(agent_id)
        if view.presence is Presence.OFFLINE:
            return
        if any(engine.contact(c).state is ContactState.ASSIGNED for c in view.contacts):
            return
        ended = max((hi for _, hi in self.of.get(agent_id, ()) if hi <= now), default=now)
        # A callback's last failed attempt closes it in the same step: two decisions name
        # the agent, but its overtime after this shift counts once.
        if (agent_id, ended) in self._overtime_counted:
            return
        self._overtime_counted.add((agent_id, ended))
        self.sim.schedule(now, AgentLoggedOut(agent_id))
        self.staffed_s += _overlap(ended, now, self.start, self.end)


def _callbacks_taken(policy: RoutingPolicy, service: str) -> bool:
    spec = ContactSpec(
        id="probe",
        channel=Channel.CALLBACK,
        service=service,
        urgency=policy.services[service].default_urgency,
    )
    return servable(lambda: Engine(policy), spec, 2 * 86400.0)


def _arrivals(
    sim: _Replication, policy: RoutingPolicy, scenario: Scenario, start: float, end: float
) -> dict[str, tuple[str, str, str]]:
    """Schedules every arrival; per contact id, its service, site and language."""
    keys: dict[str, tuple[str, str, str]] = {}
    origin = scenario.start_at
    curve_at = start if scenario.curve_at is None else scenario.curve_at
    after = scenario.callback_after_s
    asking = random.Random(f"callback-choice-{sim.seed}")
    # Services whose callbacks someone can take: only their callers are offered one.
    offered = (
        set()
        if after is None
        else {name for name in _named(scenario) if _callbacks_taken(policy, name)}
    )

    def arrive(cid: str, at: float, spec: ContactSpec) -> None:
        keys[cid] = (spec.service, spec.preferred_site or NONE, spec.language or NONE)
        if spec.channel is Channel.CALLBACK:
            sim.callbacks.add(cid)
        sim.schedule(at, ContactArrived(spec))
        if (
            after is not None
            and spec.channel is Channel.VOICE
            and spec.service in offered
            and asking.random() < scenario.callback_share
        ):
            # Refused by the engine (and so nothing) if answered or gone by then.
            sim.schedule(at + after, ChannelSwitched(cid, Channel.CALLBACK))

    for i, stream in enumerate(scenario.streams):
        urgency = policy.services[stream.service].default_urgency
        n = 0
        for lo, hi, per_hour in stream.pieces(origin, end, curve_at, scenario.interval_s):
            if per_hour <= 0:
                continue
            t = lo
            while True:
                t += sim.random.expovariate(per_hour / 3600.0)
                if t >= hi:
                    break
                n += 1
                cid = f"s{i}-{n}"
                spec = ContactSpec(
                    id=cid,
                    channel=stream.channel,
                    service=stream.service,
                    urgency=urgency,
                    language=stream.language,
                    preferred_site=stream.site,
                )
                arrive(cid, t, spec)
    for n, a in enumerate(scenario.replay, 1):
        if not origin <= a.at < end:
            continue
        cid = f"r-{n}"
        urgency = a.urgency or policy.services[a.service].default_urgency
        spec = ContactSpec(
            id=cid,
            channel=a.channel,
            service=a.service,
            urgency=urgency,
            language=a.language,
            preferred_site=a.site,
        )
        arrive(cid, a.at, spec)
    return keys


def _replicate(
    policy: RoutingPolicy, scenario: Scenario, seed: int
) -> tuple[dict[str, dict[str, Tally]], int, float]:
    """One replication: tallies per dimension and group (``service`` also ``all``), how
    many decisions, and the agents' logged-in seconds in the measured window."""
    _check_services(policy, scenario)
    engine = Engine(policy)
    sim = _Replication(engine, seed, _behaviour(policy, scenario), scenario.callback_reach)
    origin = scenario.start_at
    sim.now = origin
    start = origin + scenario.warmup_s
    end = start + scenario.measure_s
    shifts = _Shifts(sim, scenario, start, end)
    keys = _arrivals(sim, policy, scenario, start, end)
    assigned_at: dict[str, float] = {}
    busy: dict[str, float] = {}
    attempts: dict[str, int] = {}
    decisions = 0
    for now, decision in sim.run(until=end + scenario.drain_s):
        decisions += 1
        if isinstance(decision, d.Assigned):
            assigned_at[decision.contact_id] = now
        elif isinstance(decision, d.CallbackAttempt):
            attempts[decision.contact_id] = attempts.get(decision.contact_id, 0) + 1
            if decision.result != "reached":
                _held(busy, assigned_at, decision.contact_id, now, start, end)
                shifts.finished(decision.agent_id, now)
        elif isinstance(decision, d.Closed):
            _held(busy, assigned_at, decision.contact_id, now, start, end)
            if decision.agent_id is not None:
                shifts.finished(decision.agent_id, now)
    # Contacts still held at the end of the drain count as busy to the window's end.
    for cid in list(assigned_at):
        _held(busy, assigned_at, cid, end, start, end)
    tallies: dict[str, dict[str, Tally]] = {dim: {} for dim in DIMENSIONS}
    total = Tally()
    for cid, key in keys.items():
        arrived = sim.arrived_at.get(cid)
        if arrived is None or not start <= arrived < end:
            continue
        service, site, language = key
        hour = int((arrived - start) // 3600.0)
        wait = sim.answered_wait_s.get(cid)
        abandoned = cid in sim.abandoned_wait_s
        tried = attempts.get(cid, 0) if cid in sim.callbacks else None
        for dim, group in zip(DIMENSIONS, (service, site, language), strict=True):
            tally = tallies[dim].get(group)
            if tally is None:
                tally = tallies[dim][group] = Tally()
            tally.count(hour, wait, scenario.sl_s, abandoned, tried)
        total.count(hour, wait, scenario.sl_s, abandoned, tried)
    # Agents' time in the window, whenever the contact arrived (one of the warm-up too).
    for cid, seconds in busy.items():
        for dim, group in zip(DIMENSIONS, keys[cid], strict=True):
            tallies[dim].setdefault(group, Tally()).busy_s += seconds
        total.busy_s += seconds
    for name in sorted({s.service for s in scenario.streams}):
        tallies["service"].setdefault(name, Tally())
    tallies["service"] = dict(sorted(tallies["service"].items()))
    tallies["service"][ALL] = total
    for dim in ("site", "language"):
        tallies[dim] = dict(sorted(tallies[dim].items()))
    return tallies, decisions, shifts.staffed_s


def _held(
    busy: dict[str, float],
    assigned_at: dict[str, float],
    cid: str,
    now: float,
    start: float,
    end: float,
) -> None:
    began = assigned_at.pop(cid, None)
    if began is not None:
        seconds = _overlap(began, now, start, end)
        if seconds > 0:
            busy[cid] = busy.get(cid, 0.0) + seconds


def replicate(
    policy: RoutingPolicy, scenario: Scenario, seed: int
) -> tuple[dict[str, dict[str, float]], int]:
    """One replication: figures per service (and ``all``), and how many decisions."""
    tallies, decisions, staffed = _replicate(policy, scenario, seed)
    return {name: t.figures(staffed) for name, t in tallies["service"].items()}, decisions


def run(
    policy: RoutingPolicy,
    scenario: Scenario,
    replications: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """``replications`` independent runs (seeds ``seed``, ``seed + 1``, ...): each figure
    per service (and ``all``) as a mean with its 95 % confidence interval."""
    return run_detailed(policy, scenario, replications, seed, progress).services


def run_detailed(
    policy: RoutingPolicy,
    scenario: Scenario,
    replications: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """As :func:`run`, per service, site and language, with the per-hour and wait-band
    counts per service (and ``all``)."""
    if replications < 1:
        raise WhatIfError(f"expected at least 1 replication, got {replications}")
    runs: list[dict[str, dict[str, dict[str, float]]]] = []
    details: dict[str, Detail] = {}
    hours = max(1, math.ceil(scenario.measure_s / 3600.0 - 1e-9))
    for r in range(replications):
        tallies, _, staffed = _replicate(policy, scenario, seed + r)
        runs.append(
            {
                dim: {group: t.figures(staffed) for group, t in groups.items()}
                for dim, groups in tallies.items()
            }
        )
        for name, tally in tallies["service"].items():
            details.setdefault(name, Detail()).add(tally, hours)
        if progress is not None:
            progress(r + 1, replications)
    by: dict[str, Results] = {}
    for dim in DIMENSIONS:
        groups = sorted({g for one in runs for g in one[dim]}, key=lambda g: (g == ALL, g))
        by[dim] = {
            group: {f: confidence([_value(one[dim], group, f) for one in runs]) for f in FIGURES}
            for group in groups
        }
    return Outcome(by, details)


def _value(groups: Mapping[str, Mapping[str, float]], group: str, figure: str) -> float:
    """A group no contact of one replication fell in counted zero arrivals there."""
    figures = groups.get(group)
    if figures is None:
        return (
            0.0
            if figure in {"arrivals", "occupancy", "callbacks", "callback_attempts"}
            else math.nan
        )
    return figures[figure]


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
