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

The day is ``benchmarks.accuracy_workload``, the measuring ``benchmarks.accuracy_measure``;
this module reports (Markdown, and ``--write-docs`` for docs/waiting-times.md through
``benchmarks.accuracy_docs``).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks import accuracy_docs
from benchmarks.accuracy_measure import (
    NAIVE,
    PER_CONTACT,
    PER_CONTACT_PLAIN,
    SERVICE_WIDE,
    VARIANTS,
    Result,
    mean_of,
    run,
)
from benchmarks.accuracy_workload import Workload
from benchmarks.report import code_version

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
        handle, share = mean_of(grp.handle_used_s), mean_of(grp.abandon_used)
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
