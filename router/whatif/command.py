"""``yhteys simulate``: the what-if on the real engine in virtual time. Every agent of the
region file is logged in; contacts arrive as Poisson streams per service (optionally per
channel and language); handle times and patience follow the given distributions;
several replications give each figure with a 95 % confidence interval (±).

Service level is stated twice: over all arrivals (abandoned and unanswered count as
missed) and over answered contacts. Waits (mean and 90th percentile) are those of
answered contacts; occupancy is the share of the agents' time spent holding the
service's contacts. See docs/staffing.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from router.config import ConfigError, load_region
from router.config.sample import CONFIG_HELP, region_file
from router.core.model import Channel
from router.staffing import html
from router.whatif.model import (
    ALL,
    FIGURES,
    Distribution,
    Estimate,
    Scenario,
    Stream,
    WhatIfError,
    run_detailed,
    unservable,
)
from router.whatif.report import simulate_report


def parse_rate(text: str, languages: frozenset[str] | None = None) -> Stream:
    """``SERVICE[/CHANNEL[/LANGUAGE]]=PER_HOUR``."""
    key, sep, value = text.partition("=")
    parts = key.split("/")
    if not sep or not parts[0] or len(parts) > 3:
        raise WhatIfError(
            f"--rate: expected SERVICE[/CHANNEL[/LANGUAGE]]=PER_HOUR such as "
            f"nursing_advice/voice/fi=120, got {text!r}"
        )
    try:
        per_hour = float(value)
    except ValueError:
        per_hour = math.nan
    if not per_hour >= 0 or math.isinf(per_hour):
        raise WhatIfError(f"--rate {key}: expected contacts per hour >= 0, got {value!r}")
    channel = Channel.VOICE
    if len(parts) > 1:
        try:
            channel = Channel(parts[1])
        except ValueError:
            raise WhatIfError(
                f"--rate {key}: expected a channel ({', '.join(c.value for c in Channel)}), "
                f"got {parts[1]!r}"
            ) from None
    language = parts[2] if len(parts) > 2 else None
    if language is not None and languages is not None and language not in languages:
        raise WhatIfError(
            f"--rate {key}: expected a language of the region ({', '.join(sorted(languages))}), "
            f"got {language!r}"
        )
    return Stream(parts[0], per_hour, channel, language)


def parse_handle(texts: list[str], default: str) -> dict[str, Distribution]:
    handle = {"*": Distribution.parse(default)}
    for text in texts:
        service, sep, dist = text.partition("=")
        if not sep or not service:
            raise WhatIfError(f"--handle: expected SERVICE=DISTRIBUTION, got {text!r}")
        handle[service] = Distribution.parse(dist)
    return handle


def _cell(e: Estimate, fmt: str) -> str:
    if math.isnan(e.mean):
        return "-"
    text = format(e.mean, fmt)
    return text if math.isnan(e.half_width) else f"{text}±{format(e.half_width, fmt)}"


def render(results: dict[str, dict[str, Estimate]], fmt: str, sl_s: float, out: TextIO) -> None:
    if fmt == "json":
        doc = {
            name: {
                f: {"mean": _finite(e.mean), "ci95": _finite(e.half_width)}
                for f, e in figures.items()
            }
            for name, figures in results.items()
        }
        out.write(json.dumps({"services": doc}, indent=2) + "\n")
        return
    if fmt == "csv":
        out.write("service," + ",".join(f"{f},{f}_ci95" for f in FIGURES) + "\n")
        for name, figures in results.items():
            cells = [f"{figures[f].mean:.6g},{figures[f].half_width:.6g}" for f in FIGURES]
            out.write(name + "," + ",".join(cells).replace("nan", "") + "\n")
        return
    t = f"{sl_s:g}"
    out.write(
        f"{'service':<20} {'arrivals':>10} {f'SL{t} of all':>14} {f'SL{t} answered':>14} "
        f"{'ASA s':>11} {'p90 wait s':>11} {'abandoned':>13} {'occupancy':>13}\n"
    )
    for name, f in results.items():
        out.write(
            f"{name:<20} {_cell(f['arrivals'], '.0f'):>10} "
            f"{_cell(_pct(f['sl_all']), '.1f'):>14} {_cell(_pct(f['sl_answered']), '.1f'):>14} "
            f"{_cell(f['asa_s'], '.1f'):>11} {_cell(f['p90_wait_s'], '.0f'):>11} "
            f"{_cell(_pct(f['abandoned']), '.1f'):>13} {_cell(_pct(f['occupancy']), '.1f'):>13}\n"
        )
    out.write("(percentages; ± is the 95 % confidence interval over the replications)\n")


def _finite(x: float) -> float | None:
    """JSON has no NaN: a figure with nothing to measure (no arrivals) is null."""
    return None if math.isnan(x) else x


def _pct(e: Estimate) -> Estimate:
    return Estimate(e.mean * 100, e.half_width * 100)


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
        required=True,
        metavar="SERVICE[/CHANNEL[/LANG]]=PER_HOUR",
        help="a Poisson arrival stream (repeat for more), e.g. nursing_advice=120 or "
        "nursing_advice/chat/sv=10; channel voice and no language by default",
    )
    add_behaviour_options(p)
    p.add_argument(
        "--hours", type=float, default=8.0, help="measured hours per replication (%(default)g)"
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
        "service, the summary with confidence intervals)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        region = load_region(region_file(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        if not args.hours > 0:
            raise WhatIfError(f"--hours: expected hours > 0, got {args.hours:g}")
        if not args.warmup_min >= 0:
            raise WhatIfError(f"--warmup-min: expected minutes >= 0, got {args.warmup_min:g}")
        if not args.sl_s >= 0:
            raise WhatIfError(f"--sl-s: expected seconds >= 0, got {args.sl_s:g}")
        if not args.answer_delay_s >= 0 or not args.not_ready_s >= 0:
            raise WhatIfError("--answer-delay-s and --not-ready-s: expected seconds >= 0")
        languages = frozenset(region.languages)
        scenario = Scenario(
            streams=tuple(parse_rate(r, languages) for r in args.rate),
            handle=parse_handle(args.handle, args.handle_s),
            patience=Distribution.parse(args.patience) if args.patience else None,
            measure_s=args.hours * 3600.0,
            warmup_s=args.warmup_min * 60.0,
            sl_s=args.sl_s,
            answer_delay_s=args.answer_delay_s,
            not_ready_s=args.not_ready_s,
        )

        policy = region.policy()
        for text in unservable(policy, scenario):
            print(f"yhteys simulate: warning: {text}", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            if not args.quiet:
                end = "\n" if done == total else ""
                print(f"\rsimulate: replication {done}/{total}", end=end, file=sys.stderr)
                sys.stderr.flush()

        if args.report is not None:
            html.check_path(args.report)
        results, details = run_detailed(policy, scenario, args.replications, args.seed, progress)
        if len(results) == 2:  # one service: its row is the "all" row
            results.pop(ALL)
        if args.report is not None:
            page = simulate_report(
                f"Simulation: {region.name}",
                assumptions(args, scenario),
                results,
                details,
                args.sl_s,
            )
            html.write(args.report, page)
    except (WhatIfError, html.ReportPathError) as exc:
        print(f"yhteys simulate: {exc}", file=sys.stderr)
        return 2
    render(results, args.format, args.sl_s, sys.stdout)
    return 0


def assumptions(args: argparse.Namespace, scenario: Scenario) -> list[tuple[str, str]]:
    """What the run was given, for the report."""
    streams = ", ".join(
        f"{s.service}/{s.channel.value}{'/' + s.language if s.language else ''} {s.per_hour:g}/h"
        for s in scenario.streams
    )
    handle = ", ".join(
        f"{_other(name, len(scenario.handle))}: {_dist(d)}" for name, d in scenario.handle.items()
    )
    return [
        ("region file", str(args.config or region_file(None))),
        ("arrivals (Poisson)", streams),
        ("handle time", handle),
        ("patience", _dist(scenario.patience) if scenario.patience else "none: nobody abandons"),
        ("measured", f"{args.hours:g} h per replication after {args.warmup_min:g} min warm-up"),
        (
            "replications",
            f"{args.replications}, seeds {args.seed} to {args.seed + args.replications - 1}",
        ),
        ("service-level threshold", f"answered within {args.sl_s:g} s"),
        ("agents", "every agent of the region logged in from the start"),
        ("answer delay", f"{args.answer_delay_s:g} s mean; not ready {args.not_ready_s:g} s"),
    ]


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
        metavar="SERVICE=DIST",
        help="handle time of one service (repeatable), e.g. oral_health=lognormal:240:0.6",
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
