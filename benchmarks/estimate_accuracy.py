"""``python -m benchmarks.estimate_accuracy``: how well the published wait estimate
predicts real waits, over a simulated day in virtual time.

A day on the sample region (``config/region.yaml``, every agent logged in): contacts arrive
from 08:00 to 16:00 on a curve with a morning peak, in a realistic mix of services,
channels, sites and languages; callers on the phone and customers in chat give up after
an exponentially distributed patience. The simulator measures handle times and
abandonment exactly as the live service does (``router.core.estimate.HandleTimes`` fed the
decisions) and records, for each contact that had to queue, the estimate it would have
been told at that moment (the phone announcement, the chat's queued message). Once
answered, its actual wait (arrival to offer accepted) is compared with:

- **per contact**: ``Engine.estimate``, the published formula of ``router.core.estimate``
  with the measured abandonment, as the phone announcement, the chat's queued message and
  every channel's status give it; and the same without the abandonment term, and with the
  formula used before (``ceil(position / servers) × handle_time``, no abandonment);
- **service-wide**: ``Engine.service_estimate``, what the public status said for a contact
  arriving at that moment (everyone waiting for the service, every logged-in agent who
  meets its requirement), with and without the abandonment term;
- **naive baseline**: contacts waiting for the service × its measured handle time /
  logged-in agents who meet the service's requirement, each counted whole.

Every estimate is made into a range the same way (``[0.75, 1.25] ×``, whole minutes).
Reported by service and overall: the mean absolute error between the range's midpoint and
the actual wait, the mean signed error (positive: the wait was shorter than announced) and
the share of actual waits inside the announced range. Contacts that gave up have no actual
wait to compare and are counted apart. Prints a Markdown section for
``benchmarks/RESULTS.md``; progress goes to stderr. Deterministic for a seed (virtual
time): the figures do not depend on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks import accuracy_docs
from benchmarks.report import code_version
from router.config import load_region
from router.config.region import Region
from router.core import decisions as d
from router.core.engine import Engine
from router.core.estimate import Estimate, minutes_range, wait_range
from router.core.model import AgentStatus, Channel, ContactSpec
from router.sim import Behaviour, Simulation

HOUR = 3600.0
OPENS_AT_H = 8  # virtual time 0 is 08:00

# Share of contacts per service, and the channels each arrives on.
SERVICE_MIX: dict[str, float] = {
    "nursing_advice": 0.38,
    "symptom_assessment": 0.12,
    "oral_health": 0.09,
    "child_family": 0.09,
    "mental_health": 0.08,
    "social_services": 0.06,
    "prescriptions": 0.09,
    "appointments": 0.09,
}
CHANNEL_MIX: dict[str, tuple[tuple[Channel, float], ...]] = {
    "nursing_advice": ((Channel.VOICE, 0.8), (Channel.CHAT, 0.2)),
    "symptom_assessment": ((Channel.WORKITEM, 1.0),),
    "mental_health": ((Channel.VOICE, 0.8), (Channel.CHAT, 0.2)),
    "appointments": ((Channel.VOICE, 0.8), (Channel.CHAT, 0.2)),
}
# The caller's own health station (by population), and how many there speak Swedish.
SITE_MIX: dict[str, float] = {
    "vaasa": 0.42,
    "korsholm": 0.13,
    "laihia": 0.06,
    "jakobstad": 0.20,
    "narpes": 0.10,
    "kristinestad": 0.09,
}
SWEDISH_SHARE: dict[str, float] = {
    "vaasa": 0.25,
    "korsholm": 0.6,
    "laihia": 0.02,
    "jakobstad": 0.55,
    "narpes": 0.9,
    "kristinestad": 0.55,
}
ENGLISH_SHARE = 0.02
DEFAULT_URGENCY_SHARE = 0.8  # the rest draw uniformly among the non-redirected classes

# Arrivals relative to the peak, by hour since opening (linear in between): the morning
# rush when the lines open, a lunch dip, a quieter afternoon.
DAY_CURVE: tuple[tuple[float, float], ...] = (
    (0.0, 0.85),
    (0.5, 1.0),
    (1.5, 0.8),
    (3.0, 0.6),
    (4.0, 0.45),
    (5.0, 0.55),
    (6.5, 0.45),
    (8.0, 0.35),
)


@dataclass(frozen=True, slots=True)
class Workload:
    config: str = "config/region.yaml"
    seed: int = 1
    hours: float = 8.0  # arrivals from 08:00 for this long
    drain_hours: float = 4.0  # agents stay on until the queue has emptied
    peak_per_hour: float = 800.0
    patience_voice_s: float | None = 300.0
    patience_chat_s: float | None = 600.0

    def describe(self, region: Region) -> str:
        patience = ", ".join(
            f"{ch} mean {p:.0f} s"
            for ch, p in (("voice", self.patience_voice_s), ("chat", self.patience_chat_s))
            if p is not None
        )
        mix = ", ".join(f"{s} {w:.0%}" for s, w in SERVICE_MIX.items())
        curve = ", ".join(f"{OPENS_AT_H + h:g}h {f:.0%}" for h, f in DAY_CURVE)
        return (
            f"`{self.config}` ({len(region.agents)} agents, all logged in all day); "
            f"arrivals {_clock(0)}-{_clock(self.hours * HOUR)}, Poisson with a peak of "
            f"{self.peak_per_hour:g}/h following the day curve ({curve}; linear in "
            f"between); services {mix}; nursing advice, mental health and appointments "
            "20% chat, symptom assessments as work items, the rest by phone; own station "
            "by population, Swedish by station (25% Vaasa to 90% Närpes), 2% English; "
            f"{DEFAULT_URGENCY_SHARE:.0%} the service's default urgency. Agents answer "
            "offers after 4 s on average and decline 5%; handle times exponential "
            "(voice 240 s, chat 420 s, work items 360 s), then the service's wrap-up. "
            f"Patience exponential ({patience or 'none'}); work items never give up. "
            f"Run until the queue is empty or {self.drain_hours:g} h after the last "
            f"arrival; seed {self.seed}."
        )


def _clock(t: float) -> str:
    t = int(t)
    return f"{OPENS_AT_H + t // 3600:02d}:{t // 60 % 60:02d}"


def day_profile(curve: Sequence[tuple[float, float]] = DAY_CURVE) -> Callable[[float], float]:
    """The share of the peak rate at virtual time ``t`` (piecewise linear in hours)."""

    def at(t: float) -> float:
        h = t / HOUR
        if h <= curve[0][0]:
            return curve[0][1]
        for (h0, f0), (h1, f1) in itertools.pairwise(curve):
            if h <= h1:
                return f0 + (f1 - f0) * (h - h0) / (h1 - h0)
        return curve[-1][1]

    return at


def _servable(region: Region) -> Callable[[str, Channel, str], bool]:
    """Whether some agent meets the service's requirement, speaks the language and takes
    the channel (so a generated contact can be answered at all)."""
    engine = Engine(region.policy())
    cat = engine.catalogue
    masks = {a.id: cat.agent_mask(a.spec.abilities) for a in engine.agents()}
    compiled = {s: engine.service(s).requirement.compile(cat) for s in engine.services()}
    known: dict[tuple[str, Channel, str], bool] = {}

    def servable(service: str, channel: Channel, language: str) -> bool:
        key = (service, channel, language)
        if key not in known:
            known[key] = any(
                compiled[service].matches(masks[a.id])
                and language in a.spec.abilities.languages
                and a.spec.capacity.get(channel, 0) > 0
                for a in engine.agents()
            )
        return known[key]

    return servable


def contact_factory(region: Region) -> Callable[[random.Random, int, float], ContactSpec]:
    services = [s for s in SERVICE_MIX if s in region.services]
    service_w = [SERVICE_MIX[s] for s in services]
    sites = [s for s in SITE_MIX if s in region.sites]
    site_w = [SITE_MIX[s] for s in sites]
    servable = _servable(region)

    def make(rnd: random.Random, n: int, t: float) -> ContactSpec:
        name = rnd.choices(services, service_w)[0]
        svc = region.services[name]
        mix = CHANNEL_MIX.get(name, ((Channel.VOICE, 1.0),))
        channel = rnd.choices([c for c, _ in mix], [w for _, w in mix])[0]
        site = rnd.choices(sites, site_w)[0]
        u = rnd.random()
        language = (
            "en"
            if u < ENGLISH_SHARE
            else "sv"
            if u < ENGLISH_SHARE + SWEDISH_SHARE.get(site, 0.0) * (1 - ENGLISH_SHARE)
            else "fi"
        )
        if not servable(name, channel, language):
            language = "fi"  # nobody could answer in that language: the caller uses Finnish
        if not servable(name, channel, language):
            channel = Channel.VOICE
        classes = [u for u, cls in svc.urgencies.items() if cls.redirect is None]
        urgency = (
            svc.default_urgency
            if rnd.random() < DEFAULT_URGENCY_SHARE and svc.default_urgency in classes
            else rnd.choice(classes)
        )
        return ContactSpec(
            id=f"c{n}",
            channel=channel,
            service=name,
            urgency=urgency,
            language=language,
            preferred_site=site,
        )

    return make


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


def _mean(xs: list[float]) -> float:
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
        return _mean(self.waits)


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

    def service_wide(service: str) -> Estimate:
        # The public status a moment before this contact arrived: it is already counted.
        e = engine.service_estimate(service, times.of(service), times.abandon_share(service))
        return wait_range(e.position - 1, e.servers, e.handle_s, e.abandon_share)

    def naive_s(service: str) -> float | None:
        staff = sum(
            1
            for a in engine.agents()
            if a.status is not AgentStatus.OFFLINE and compiled[service].matches(masks[a.id])
        )
        waiting, _ = engine.waiting_in("service", service)
        return waiting * times.of(service) / staff if staff else None

    records: dict[str, Record] = {}
    for _, decision in sim.run(until=until + workload.drain_hours * HOUR):
        if isinstance(decision, d.Queued):
            cid, service = decision.contact_id, decision.service
            records[cid] = Record(
                service,
                engine.contact(cid).channel,
                sim.estimates[cid],
                service_wide(service),
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


# ------------------------------------------------------------------------ reporting


def _s(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:,.0f}"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.0%}"


def _signed(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:+,.0f}"


def markdown(result: Result, argv: Sequence[str] = ()) -> str:
    w, g = result.workload, result.overall
    command = " ".join(["python -m benchmarks.estimate_accuracy", *argv])
    lines = [
        "## Wait-estimate accuracy (virtual time)",
        "",
        f"Written by `{command}`: a simulated day; deterministic for the seed, so the "
        "figures do not depend on the machine. The formula and what each term means: "
        "`docs/waiting-times.md`.",
        "",
        f"- {code_version()}",
        f"- workload: {w.describe(result.region)}",
        f"- contacts: {g.arrived:,} arrived; {g.queued:,} had to queue and were told an "
        f"estimate; of those {g.answered:,} were answered (mean wait "
        f"{_s(g.mean_wait_s)} s) and {g.abandoned:,} gave up "
        f"({result.abandoned_all:,} gave up in all, "
        f"{result.abandoned_all / g.arrived if g.arrived else math.nan:.0%} of arrivals); "
        f"{result.still_waiting} still waiting at the end.",
        "- measured: for every contact that queued on arrival, the estimate at that moment "
        "against its actual wait (arrival to offer accepted); contacts that gave up have "
        "no actual wait and are left out. MAE = mean absolute error of the range's "
        "midpoint; bias = mean of midpoint - actual (positive: announced too long); "
        "in range = actual wait within the announced whole-minute range.",
        "",
        "Overall (answered contacts that had queued):",
        "",
        "| estimate | MAE s | bias s | in range | unknown |",
        "|---|---:|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        f = g.figures[variant]
        lines.append(
            f"| {variant} | {_s(f.mae_s)} | {_signed(f.bias_s)} | {_pct(f.inside_share)} "
            f"| {f.unknown} |"
        )
    shown = (PER_CONTACT, PER_CONTACT_PLAIN, SERVICE_WIDE, NAIVE)
    lines += [
        "",
        "By service (MAE s / in range):",
        "",
        "| service | arrived | queued | answered | gave up | mean wait s | handle s used "
        "| abandonment used | " + " | ".join(shown) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(shown),
    ]
    for name, grp in [*result.by_service.items(), ("**all**", g)]:
        handle, share = _mean(grp.handle_used_s), _mean(grp.abandon_used)
        cells = [f"{_s(grp.figures[v].mae_s)} / {_pct(grp.figures[v].inside_share)}" for v in shown]
        lines.append(
            f"| {name} | {grp.arrived:,} | {grp.queued:,} | {grp.answered:,} "
            f"| {grp.abandoned:,} | {_s(grp.mean_wait_s)} | {_s(handle)} | {_pct(share)} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "By channel of the queued contacts (MAE s / in range):",
        "",
        "| channel | queued | answered | gave up | mean wait s | " + " | ".join(shown) + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(shown),
    ]
    for name, grp in result.by_channel.items():
        cells = [f"{_s(grp.figures[v].mae_s)} / {_pct(grp.figures[v].inside_share)}" for v in shown]
        lines.append(
            f"| {name} | {grp.queued:,} | {grp.answered:,} | {grp.abandoned:,} "
            f"| {_s(grp.mean_wait_s)} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "Handle s used and abandonment used: the mean of the service's exponentially "
        "weighted measurements that went into the queued contacts' estimates (gave up / "
        "queued is the abandonment among those who had to wait; the measured share counts "
        "every contact, also those answered at once).",
    ]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    w = Workload()
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.estimate_accuracy",
        description="How well the published wait estimate predicts waits, over a "
        "simulated day in virtual time; prints a Markdown section for RESULTS.md.",
    )
    p.add_argument("--config", default=w.config, help=f"region file (default {w.config})")
    p.add_argument("--seed", type=int, default=w.seed, help=f"seed (default {w.seed})")
    p.add_argument(
        "--hours", type=float, default=w.hours, help=f"hours of arrivals (default {w.hours:g})"
    )
    p.add_argument(
        "--peak-per-hour",
        type=float,
        default=w.peak_per_hour,
        help=f"arrival rate at the morning peak (default {w.peak_per_hour:g})",
    )
    p.add_argument(
        "--patience-voice",
        type=float,
        default=w.patience_voice_s,
        help=f"callers' mean patience, s (default {w.patience_voice_s:g}; 0: never give up)",
    )
    p.add_argument(
        "--patience-chat",
        type=float,
        default=w.patience_chat_s,
        help=f"chat customers' mean patience, s (default {w.patience_chat_s:g}; 0: never)",
    )
    p.add_argument(
        "--write-docs",
        nargs="?",
        const=accuracy_docs.DOCS,
        metavar="PATH",
        help="also rewrite the generated block of figures in PATH (default "
        f"{accuracy_docs.DOCS}) from this run and the next {DOCS_EXTRA_SEEDS} seeds",
    )
    return p


DOCS_EXTRA_SEEDS = 2  # the docs summarise two more seeds after the one shown in full


def workload_of(argv: Sequence[str]) -> tuple[Workload, argparse.Namespace]:
    """The workload the command line ``argv`` asks for, and the parsed options."""
    args = _parser().parse_args(argv)
    workload = Workload(
        config=args.config,
        seed=args.seed,
        hours=args.hours,
        peak_per_hour=args.peak_per_hour,
        patience_voice_s=args.patience_voice or None,
        patience_chat_s=args.patience_chat or None,
    )
    return workload, args


def more_seeds(workload: Workload) -> list[Result]:
    """The runs the docs summarise after ``workload``'s own: the next seeds."""
    results = []
    for extra in range(1, DOCS_EXTRA_SEEDS + 1):
        more = replace(workload, seed=workload.seed + extra)
        print(f"simulating seed {more.seed} for the docs ...", file=sys.stderr)
        results.append(run(more))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    given = list(argv) if argv is not None else sys.argv[1:]
    workload, args = workload_of(given)
    print(f"simulating {workload.hours:g} h on {workload.config} ...", file=sys.stderr)
    result = run(workload)
    print(f"done in {result.wall_s:.1f} s (wall)", file=sys.stderr)
    if args.write_docs:
        results = [result, *more_seeds(workload)]
        command = " ".join(["python -m benchmarks.estimate_accuracy", *given])
        path = Path(args.write_docs)
        text = path.read_text(encoding="utf-8")
        path.write_text(
            accuracy_docs.replace(text, accuracy_docs.block(results, command)), encoding="utf-8"
        )
        print(f"rewrote the figures in {path}", file=sys.stderr)
    print(markdown(result, given), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
