"""``yhteys simulate``: the what-if on the real engine in virtual time. Contacts arrive as
Poisson streams per service, channel, language and caller's site, at a constant rate or
one rate per interval (``--rate``, ``--curve FILE.csv``), or replayed from an audit export
(``--replay FILE``); handle times per service and channel and patience follow the given
distributions; agents log in and out by ``--shifts FILE.csv`` (every agent logged in
throughout without it); several replications give each figure with a 95 % confidence
interval (±).

Service level is stated twice: over all arrivals (abandoned and unanswered count as
missed) and over answered contacts. Waits (mean and 90th percentile) are those of
answered contacts; occupancy is the share of the agents' logged-in time spent holding
the contacts. Per service, per caller's site and per language. See docs/staffing.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from router.config import ConfigError, Region, load_region
from router.config.sample import CONFIG_HELP, region_file
from router.staffing import html
from router.whatif.demand import (
    local_day,
    parse_handle,
    parse_local,
    parse_rate,
    read_curve,
    window_hours,
)
from router.whatif.model import ALL, Arrival, Distribution, Scenario, Stream, WhatIfError
from router.whatif.replay import read_replay
from router.whatif.replication import Outcome, run_detailed, unservable
from router.whatif.report import simulate_report
from router.whatif.shifts import read_shifts
from router.whatif.tables import ProgressBar, render

T = TypeVar("T")
DEFAULT_START = "08:00"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="what-if on the real engine in virtual time, with confidence intervals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default=None, help=CONFIG_HELP)
    p.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="SERVICE[/CHANNEL[/LANG]][@SITE]=PER_HOUR[,PER_HOUR...]",
        help="a Poisson arrival stream (repeat for more), e.g. nursing_advice=120 or "
        "nursing_advice/chat/sv@vaasa=10; several rates: one per --interval-min from "
        "--start (e.g. nursing_advice=80,120,150); channel voice, no language or site by "
        "default",
    )
    p.add_argument(
        "--curve",
        metavar="FILE.csv",
        help="arrival rates per interval from a CSV file: a time column (HH:MM, evenly "
        "spaced) and one column per stream (headed as --rate) in contacts per hour",
    )
    p.add_argument(
        "--replay",
        metavar="FILE",
        help="replay the contacts of an audit export (JSON lines or CSV) at their recorded "
        "instants",
    )
    p.add_argument(
        "--interval-min",
        type=float,
        default=60.0,
        help="length of an interval of --rate R1,R2,... (%(default)g)",
    )
    p.add_argument(
        "--start",
        metavar="[YYYY-MM-DDT]HH:MM",
        help="local start of the measured window (default: the curve's first time, the "
        "replayed day's midnight, else 08:00; the day: Monday 2027-01-04 or the replay's)",
    )
    p.add_argument(
        "--shifts",
        metavar="FILE.csv",
        help="who is logged in when: who,start,end rows (agent, team or site; local "
        "times); without it every agent is logged in throughout",
    )
    p.add_argument(
        "--callback-reach",
        type=float,
        default=1.0,
        help="the chance that one callback attempt reaches the person (%(default)g); the "
        "others ring out and are tried again as the service says",
    )
    p.add_argument(
        "--callback-after-s",
        type=float,
        metavar="S",
        help="a caller on the phone still waiting after S seconds asks for a callback "
        "(keeping its place) with the chance --callback-share; default: nobody does",
    )
    p.add_argument(
        "--callback-share",
        type=float,
        default=1.0,
        help="the chance a caller still waiting after --callback-after-s asks for a "
        "callback (%(default)g)",
    )
    add_behaviour_options(p)
    p.add_argument(
        "--hours",
        type=float,
        default=None,
        help="measured hours per replication (default: the curve's length, to the replay's "
        "last arrival, else 8)",
    )
    add_run_options(
        p,
        warmup_help="minutes simulated before measuring, from an empty centre (%(default)g)",
        replications_help="independent runs; figures are their mean ± a 95 %% confidence "
        "interval (%(default)s)",
    )
    p.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (%(default)s)",
    )
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write an HTML report (service level by hour, wait distribution per "
        "service, the summary per service, site and language with confidence intervals)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=main)


def _read(path: str, what: str, read: Callable[..., T], *args: object) -> T:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return read(f, path, *args)
    except OSError as exc:
        raise WhatIfError(f"{what}: expected a file that can be read, got {exc}") from None


def check_run_options(args: argparse.Namespace) -> None:
    """The checks of ``add_run_options``' options (and ``--hours`` when given)."""
    if args.hours is not None and not args.hours > 0:
        raise WhatIfError(f"--hours: expected hours > 0, got {args.hours:g}")
    if not args.warmup_min >= 0:
        raise WhatIfError(f"--warmup-min: expected minutes >= 0, got {args.warmup_min:g}")
    if not args.sl_s >= 0:
        raise WhatIfError(f"--sl-s: expected seconds >= 0, got {args.sl_s:g}")
    if not args.answer_delay_s >= 0 or not args.not_ready_s >= 0:
        raise WhatIfError("--answer-delay-s and --not-ready-s: expected seconds >= 0")


def _check(args: argparse.Namespace) -> None:
    check_run_options(args)
    if not args.interval_min > 0 or math.isinf(args.interval_min):
        raise WhatIfError(f"--interval-min: expected minutes > 0, got {args.interval_min:g}")
    if not 0 < args.callback_reach <= 1:
        raise WhatIfError(
            f"--callback-reach: expected a share above 0 and at most 1, got {args.callback_reach:g}"
        )
    if not 0 <= args.callback_share <= 1:
        raise WhatIfError(
            f"--callback-share: expected a share from 0 to 1, got {args.callback_share:g}"
        )
    if args.callback_after_s is not None and not 0 <= args.callback_after_s < math.inf:
        raise WhatIfError(
            f"--callback-after-s: expected seconds >= 0, got {args.callback_after_s:g}"
        )
    if not (args.rate or args.curve or args.replay):
        raise WhatIfError("expected arrivals: --rate, --curve or --replay")


def scenario_of(args: argparse.Namespace, region: Region) -> Scenario:
    """The scenario the command line describes, its files read and checked."""
    _check(args)
    zone = region.timezone
    languages, sites = frozenset(region.languages), frozenset(region.sites)
    streams: list[Stream] = [parse_rate(r, languages, sites) for r in args.rate]
    interval_s = args.interval_min * 60.0
    first = DEFAULT_START
    if args.curve:
        curve = _read(args.curve, "--curve", read_curve, languages, sites)
        if args.rate and any(s.rates for s in streams) and curve.interval_s != interval_s:
            raise WhatIfError(
                f"--curve: its rows are {curve.interval_s / 60:g} min apart, --interval-min "
                f"{args.interval_min:g}; expected the same interval"
            )
        streams.extend(curve.streams)
        interval_s, first = curve.interval_s, curve.first
    replay: tuple[Arrival, ...] = ()
    day = None
    if args.replay:
        urgencies = {name: tuple(s.urgencies) for name, s in region.policy().services.items()}
        replay = _read(args.replay, "--replay", read_replay, urgencies, languages, sites)
        day = local_day(replay[0].at, zone)
        if not args.curve:
            first = "00:00"
    try:
        start = (
            parse_local(args.start or first, zone, day)
            if day is not None
            else parse_local(args.start or first, zone)
        )
    except WhatIfError as exc:
        raise WhatIfError(f"--start: {exc}") from None
    hours = args.hours
    if hours is None:
        hours = window_hours(streams, interval_s) or 8.0
        if replay:
            hours = max(math.ceil((replay[-1].at - start) / 3600.0 + 1e-9), 1)
    warmup_s = args.warmup_min * 60.0
    shifts = None
    if args.shifts:
        policy = region.policy()
        shift_day = local_day(start, zone)
        shifts = _read(args.shifts, "--shifts", read_shifts, policy, zone, shift_day)
    return Scenario(
        streams=tuple(streams),
        handle=parse_handle(args.handle, args.handle_s),
        patience=Distribution.parse(args.patience) if args.patience else None,
        measure_s=hours * 3600.0,
        warmup_s=warmup_s,
        sl_s=args.sl_s,
        answer_delay_s=args.answer_delay_s,
        not_ready_s=args.not_ready_s,
        start_at=start - warmup_s,
        curve_at=start if not args.curve else _curve_at(start, first, zone),
        interval_s=interval_s,
        shifts=shifts,
        replay=replay,
        callback_reach=args.callback_reach,
        callback_after_s=args.callback_after_s,
        callback_share=args.callback_share,
    )


def _curve_at(start: float, first: str, zone: str) -> float:
    """The curve file's first interval on the day of the measured window's start."""
    return parse_local(first, zone, local_day(start, zone))


def main(args: argparse.Namespace) -> int:
    try:
        region = load_region(region_file(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        scenario = scenario_of(args, region)
        policy = region.policy()
        for text in unservable(policy, scenario):
            print(f"yhteys simulate: warning: {text}", file=sys.stderr)
        if args.report is not None:
            html.check_path(args.report)
        bar = None if args.quiet else ProgressBar(sys.stderr)
        outcome = run_detailed(policy, scenario, args.replications, args.seed, bar)
        if len(outcome.services) == 2:  # one service: its row is the "all" row
            outcome.services.pop(ALL)
        if args.report is not None:
            page = simulate_report(
                f"Simulation: {region.name}",
                assumptions(args, scenario),
                outcome,
                args.sl_s,
                _first_hour(scenario, region.timezone),
            )
            html.write(args.report, page)
    except (WhatIfError, html.ReportPathError) as exc:
        print(f"yhteys simulate: {exc}", file=sys.stderr)
        return 2
    render(outcome, args.format, args.sl_s, _has_callbacks(outcome), sys.stdout)
    return 0


def _first_hour(scenario: Scenario, zone: str) -> int | None:
    start = datetime.fromtimestamp(scenario.start_at + scenario.warmup_s, ZoneInfo(zone))
    return start.hour if start.minute == start.second == 0 else None


def _has_callbacks(outcome: Outcome) -> bool:
    return any(f["callbacks"].mean > 0 for f in outcome.services.values())


def assumptions(args: argparse.Namespace, scenario: Scenario) -> list[tuple[str, str]]:
    """What the run was given, for the report."""
    streams = ", ".join(
        f"{s.key} " + ("/".join(f"{r:g}" for r in s.rates) if s.rates else f"{s.per_hour:g}") + "/h"
        for s in scenario.streams
    )
    if scenario.replay:
        streams = ", ".join(
            x
            for x in (streams, f"{len(scenario.replay)} contacts replayed from {args.replay}")
            if x
        )
    handle = ", ".join(
        f"{_other(name, len(scenario.handle))}: {_dist(d)}" for name, d in scenario.handle.items()
    )
    staff = (
        f"by the shifts in {args.shifts}"
        if args.shifts
        else "every agent of the region logged in from the start"
    )
    return [
        ("region file", str(args.config or region_file(None))),
        ("arrivals (Poisson)", streams),
        ("handle time", handle),
        ("patience", _dist(scenario.patience) if scenario.patience else "none: nobody abandons"),
        (
            "measured",
            f"{scenario.measure_s / 3600:g} h per replication after {args.warmup_min:g} min "
            "warm-up",
        ),
        (
            "replications",
            f"{args.replications}, seeds {args.seed} to {args.seed + args.replications - 1}",
        ),
        ("service-level threshold", f"answered within {args.sl_s:g} s"),
        ("agents", staff),
        ("answer delay", f"{args.answer_delay_s:g} s mean; not ready {args.not_ready_s:g} s"),
        ("callbacks", _callbacks(args)),
    ]


def _callbacks(args: argparse.Namespace) -> str:
    asked = (
        "no caller asks for one while waiting"
        if args.callback_after_s is None
        else f"a caller still waiting after {args.callback_after_s:g} s asks for one with "
        f"chance {args.callback_share:g}"
    )
    return f"{asked}; each attempt reaches the person with chance {args.callback_reach:g}"


def _other(name: str, given: int) -> str:
    if name != "*":
        return name
    return "every service" if given == 1 else "every other service"


def _dist(d: Distribution) -> str:
    names = {"exp": "exponential", "det": "always", "lognormal": "lognormal"}
    extra = f", cv {d.cv:g}" if d.kind == "lognormal" else ""
    return f"{names[d.kind]}, mean {d.mean_s:g} s{extra}"


def add_behaviour_options(p: argparse.ArgumentParser) -> None:
    """How long contacts take and how long customers wait: the same options for every
    run on the real engine."""
    p.add_argument(
        "--handle-s",
        default="exp:300",
        metavar="DIST",
        help="handle time of every service not given by --handle: 300 or exp:300 "
        "(exponential), det:300 (always), lognormal:300:0.8 (mean, coefficient of "
        "variation) (%(default)s)",
    )
    p.add_argument(
        "--handle",
        action="append",
        default=[],
        metavar="SERVICE[/CHANNEL]=DIST",
        help="handle time of one service, or of its contacts on one channel (repeatable), "
        "e.g. oral_health=lognormal:240:0.6 or nursing_advice/chat=exp:600",
    )
    p.add_argument(
        "--patience",
        metavar="DIST",
        help="customers' patience, e.g. exp:180 (mean 180 s); default: nobody abandons",
    )


def add_run_options(
    p: argparse.ArgumentParser, *, warmup_help: str, replications_help: str
) -> None:
    """The options every run on the real engine takes: warm-up, replications, seed,
    service-level threshold and the agents' behaviour."""
    p.add_argument(
        "--warmup-min",
        type=float,
        default=60.0,
        help=warmup_help,
    )
    p.add_argument(
        "--replications",
        type=int,
        default=10,
        help=replications_help,
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the first run (%(default)s)")
    p.add_argument(
        "--sl-s",
        type=float,
        default=20.0,
        help="service-level threshold: answered within this many seconds (%(default)g)",
    )
    p.add_argument(
        "--answer-delay-s",
        type=float,
        default=0.0,
        help="agents' mean time to accept an offer (exponential; 0: at once) (%(default)g)",
    )
    p.add_argument(
        "--not-ready-s",
        type=float,
        default=60.0,
        help="mean time an agent the engine set not ready (missed offer) stays away (%(default)g)",
    )
