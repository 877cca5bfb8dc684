"""``yhteys compare``: ready-made what-ifs on the real engine in virtual time, each variant
with the same demand, staff and seeds (router/whatif/compare.py, docs/staffing.md).

- ``yhteys compare pooling``: islands (each site's calls only to its own agents) vs one
  region-wide pool vs own site first for N seconds, then the region (``--own-site-s N``).
- ``yhteys compare cover``: a partner agreement's cover period on a day (e.g. Monday
  16:00-22:00), the region's evening staff alone vs with the partner's agents logged in.

One table on stdout (per variant: SL of all arrivals and of answered contacts, mean and
90th-percentile wait of answered contacts, abandonment, occupancy, each ± its 95 %
confidence interval over the replications), and with ``--out FILE`` a report: CSV when
FILE ends in .csv, else markdown; with ``--report FILE.html`` the HTML report.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TextIO

from router.config import ConfigError, load_region
from router.config.sample import CONFIG_HELP, region_file
from router.staffing import html
from router.whatif.command import add_behaviour_options, add_run_options, check_run_options
from router.whatif.compare import (
    ALONE,
    WITH_COVER,
    Results,
    agreement_of,
    compare,
    cover_variants,
    cover_window,
    evening_staff,
    pooling_variants,
    split_by_site,
)
from router.whatif.demand import parse_handle, parse_rate
from router.whatif.model import ALL, FIGURES, Distribution, Estimate, Scenario, Stream, WhatIfError
from router.whatif.report import compare_report

DEFAULT_DAY = "2027-01-04"  # a Monday (the sample's cover: Mon, Wed, Fri 16-22, weekends)


def parse_site_rate(text: str, languages: frozenset[str]) -> Stream:
    """``SERVICE[/CHANNEL[/LANGUAGE]][@SITE]=PER_HOUR`` (a constant rate: the variants
    are compared over one window)."""
    stream = parse_rate(text, languages)
    if stream.rates:
        raise WhatIfError(f"--rate: expected one rate per hour, got {text!r}")
    return stream


def _scenario(args: argparse.Namespace, languages: frozenset[str], start_at: float) -> Scenario:
    check_run_options(args)
    return Scenario(
        streams=tuple(parse_site_rate(r, languages) for r in args.rate),
        handle=parse_handle(args.handle, args.handle_s),
        patience=Distribution.parse(args.patience) if args.patience else None,
        measure_s=args.hours * 3600.0,
        warmup_s=args.warmup_min * 60.0,
        sl_s=args.sl_s,
        answer_delay_s=args.answer_delay_s,
        not_ready_s=args.not_ready_s,
        start_at=start_at,
    )


def _pct(e: Estimate) -> Estimate:
    return Estimate(e.mean * 100, e.half_width * 100)


def _cell(e: Estimate, fmt: str) -> str:
    if math.isnan(e.mean):
        return "-"
    if math.isnan(e.half_width):
        return format(e.mean, fmt)
    return f"{e.mean:{fmt}}±{e.half_width:{fmt}}"


# (figure, heading, as a percentage, format)
_COLUMNS = (
    ("arrivals", "arrivals", False, ".0f"),
    ("sl_all", "SL{t} of all", True, ".1f"),
    ("sl_answered", "SL{t} answered", True, ".1f"),
    ("asa_s", "mean wait s", False, ".1f"),
    ("p90_wait_s", "p90 wait s", False, ".0f"),
    ("abandoned", "abandoned", True, ".1f"),
    ("occupancy", "occupancy", True, ".1f"),
)


def _cells(figures: dict[str, Estimate]) -> list[str]:
    return [_cell(_pct(figures[f]) if pct else figures[f], fmt) for f, _, pct, fmt in _COLUMNS]


def gain(results: dict[str, Results], base: str, other: str) -> dict[str, float]:
    """``other`` minus ``base`` on the ``all`` row (means), per figure."""
    return {f: results[other][ALL][f].mean - results[base][ALL][f].mean for f in FIGURES}


def render_table(
    results: dict[str, Results], sl_s: float, out: TextIO, gain_of: tuple[str, str] | None
) -> None:
    heads = [h.format(t=f"{sl_s:g}") for _, h, _, _ in _COLUMNS]
    width = max(len("variant"), *(len(v) for v in results)) + 2
    out.write(f"{'variant':<{width}}" + "".join(f"{h:>15}" for h in heads) + "\n")
    for label, per_service in results.items():
        out.write(f"{label:<{width}}" + "".join(f"{c:>15}" for c in _cells(per_service[ALL])))
        out.write("\n")
    if gain_of is not None:
        g = gain(results, *gain_of)
        out.write(
            f"gain of {gain_of[1]!r} over {gain_of[0]!r}: SL{sl_s:g} of all "
            f"{g['sl_all'] * 100:+.1f} points, abandonment {g['abandoned'] * 100:+.1f} points, "
            f"mean wait {g['asa_s']:+.1f} s\n"
        )
    out.write("(percentages; ± is the 95 % confidence interval over the replications)\n")


def gain_text(results: dict[str, Results], sl_s: float, gain_of: tuple[str, str] | None) -> str:
    if gain_of is None:
        return ""
    g = gain(results, *gain_of)
    return (
        f"Gain of {gain_of[1]!r} over {gain_of[0]!r}: SL{sl_s:g} of all "
        f"{g['sl_all'] * 100:+.1f} points, abandonment {g['abandoned'] * 100:+.1f} points, "
        f"mean wait {g['asa_s']:+.1f} s."
    )


def write_report(
    path: str,
    title: str,
    lines: Sequence[str],
    results: dict[str, Results],
    sl_s: float,
    gain_of: tuple[str, str] | None,
) -> None:
    with open(path, "w", encoding="utf-8") as f:
        if path.endswith(".csv"):
            f.write("variant," + ",".join(f"{x},{x}_ci95" for x in FIGURES) + "\n")
            for label, per_service in results.items():
                row = per_service[ALL]
                cells = [f"{row[x].mean:.6g},{row[x].half_width:.6g}" for x in FIGURES]
                f.write(label + "," + ",".join(cells).replace("nan", "") + "\n")
            return
        heads = [h.format(t=f"{sl_s:g}") for _, h, _, _ in _COLUMNS]
        f.write(f"# {title}\n\n")
        for line in lines:
            f.write(f"- {line}\n")
        f.write("\n| variant | " + " | ".join(heads) + " |\n")
        f.write("|---|" + "---:|" * len(heads) + "\n")
        for label, per_service in results.items():
            f.write(f"| {label} | " + " | ".join(_cells(per_service[ALL])) + " |\n")
        f.write(
            "\nPercentages; ± is the 95 % confidence interval over the replications. SL of "
            "all counts abandoned and unanswered contacts as missed; SL answered only "
            "answered ones; waits are those of answered contacts.\n"
        )
        if gain_of is not None:
            g = gain(results, *gain_of)
            f.write(
                f"\nGain of *{gain_of[1]}* over *{gain_of[0]}*: SL{sl_s:g} of all "
                f"{g['sl_all'] * 100:+.1f} points, abandonment {g['abandoned'] * 100:+.1f} "
                f"points, mean wait {g['asa_s']:+.1f} s.\n"
            )


def _progress(args: argparse.Namespace) -> Callable[[str, int, int], None]:
    def progress(label: str, done: int, total: int) -> None:
        if not args.quiet:
            end = "\n" if done == total else ""
            print(f"\rcompare: {label}: replication {done}/{total}", end=end, file=sys.stderr)
            sys.stderr.flush()

    return progress


def main(args: argparse.Namespace) -> int:
    name = f"yhteys compare {args.comparison}"
    try:
        region = load_region(region_file(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        languages = frozenset(region.languages)
        policy = region.policy()
        if args.comparison == "pooling":
            variants = pooling_variants(policy, args.own_site_s)
            base = _scenario(args, languages, 0.0)
            own = variants[0][1]
            scenario = dataclasses.replace(base, streams=split_by_site(base.streams, own))
            title = f"Islands vs one pool: {region.name}"
            gain_of: tuple[str, str] | None = ("islands", "pool")
            lines = [
                "demand: "
                + ", ".join(f"{s.service}@{s.site} {s.per_hour:.4g}/h" for s in scenario.streams),
                f"staff: the region's own {len(own.agents)} agents (partner agents left out)",
            ]
        else:
            agreement = agreement_of(policy, args.agreement)
            try:
                day = date.fromisoformat(args.day)
            except ValueError:
                raise WhatIfError(f"--day: expected a date YYYY-MM-DD, got {args.day!r}") from None
            opening, closing = cover_window(agreement, day)
            staff = evening_staff(policy, agreement, args.own_staff)
            variants = cover_variants(policy, agreement, staff)
            args.hours = (closing - opening) / 3600.0
            scenario = _scenario(args, languages, opening - args.warmup_min * 60.0)
            title = f"Evening cover by {agreement.name}: {region.name}"
            gain_of = (ALONE, WITH_COVER)
            partners = len(variants[1][1].agents) - len(variants[0][1].agents)
            lines = [
                f"window: {day} cover period, {args.hours:g} h measured",
                "demand: " + ", ".join(f"{s.service} {s.per_hour:g}/h" for s in scenario.streams),
                f"staff: {len(staff)} own agents; with cover also {partners} partner agents",
            ]
        if args.report is not None:
            html.check_path(args.report)
        results = compare(variants, scenario, args.replications, args.seed, _progress(args))
        if args.report is not None:
            html.write(
                args.report,
                compare_report(
                    title, lines, results, args.sl_s, gain_text(results, args.sl_s, gain_of)
                ),
            )
    except (WhatIfError, html.ReportPathError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    render_table(results, args.sl_s, sys.stdout, gain_of)
    if args.out:
        try:
            write_report(args.out, title, lines, results, args.sl_s, gain_of)
        except OSError as exc:
            print(f"{name}: --out: expected a file that can be written, got {exc}", file=sys.stderr)
            return 2
    return 0


def _common(p: argparse.ArgumentParser, hours: bool) -> None:
    p.add_argument("--config", default=None, help=CONFIG_HELP)
    p.add_argument(
        "--rate",
        action="append",
        required=True,
        metavar="SERVICE[/CHANNEL[/LANG]][@SITE]=PER_HOUR",
        help="a Poisson arrival stream (repeat for more), e.g. nursing_advice=120 or "
        "nursing_advice/chat/sv@vaasa=10; channel voice and no language by default",
    )
    add_behaviour_options(p)
    if hours:
        p.add_argument(
            "--hours", type=float, default=8.0, help="measured hours per replication (%(default)g)"
        )
    add_run_options(
        p,
        warmup_help="minutes simulated before measuring (%(default)g)",
        replications_help="independent runs per variant, the same seeds for each (%(default)s)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="also write a report: CSV if FILE ends in .csv, else markdown",
    )
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write an HTML report (the variants side by side as bars with confidence "
        "intervals, and the table)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="ready-made what-ifs: islands vs one pool, evening partner cover",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = p.add_subparsers(dest="comparison", required=True, metavar="{pooling,cover}")
    pool = kinds.add_parser(
        "pooling",
        help="islands vs one region-wide pool vs own site first for N s",
        description="The same demand and staff routed as separate sites (islands), as one "
        "region-wide pool, and own site first for N seconds then the region. A --rate "
        "without @SITE is split over the sites in proportion to their agents able to serve "
        "it (the service's requirement, capacity on the channel); partner agents are left "
        "out.",
    )
    _common(pool, hours=True)
    pool.add_argument(
        "--own-site-s",
        type=float,
        action="append",
        default=[],
        metavar="N",
        help="also own site first for N seconds, then the region (repeatable)",
    )
    pool.set_defaults(func=main)
    cover = kinds.add_parser(
        "cover",
        help="evening staff alone vs with a partner region's agents covering",
        description="A partner agreement's cover period on --day (opening to closing, "
        "local time): the region's own --own-staff alone vs with the agreement's partner "
        "agents logged in (offered the agreement's services only while cover is on).",
    )
    _common(cover, hours=False)
    cover.add_argument(
        "--agreement",
        metavar="NAME",
        help="the partner agreement (default: the region's only one)",
    )
    cover.add_argument(
        "--day",
        default=DEFAULT_DAY,
        metavar="YYYY-MM-DD",
        help="a day on which cover opens; its first cover period is measured (%(default)s)",
    )
    cover.add_argument(
        "--own-staff",
        metavar="N|ID,ID,...",
        help="the region's own agents on duty: the first N able to serve the agreement's "
        "services (roster order), or these ids (default: all own agents)",
    )
    cover.set_defaults(func=main)
