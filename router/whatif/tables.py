"""``yhteys simulate``'s output: the tables per service, per caller's site and per
language (text, CSV or JSON), and the progress bar on stderr."""

from __future__ import annotations

import json
import math
import time
from typing import TextIO

from router.whatif.model import FIGURES, Estimate
from router.whatif.replication import DIMENSIONS, Outcome, Results

# The JSON document's key for each breakdown.
PLURAL = {"service": "services", "site": "sites", "language": "languages"}


def _cell(e: Estimate, fmt: str) -> str:
    if math.isnan(e.mean):
        return "-"
    text = format(e.mean, fmt)
    return text if math.isnan(e.half_width) else f"{text}±{format(e.half_width, fmt)}"


def _finite(x: float) -> float | None:
    """JSON has no NaN: a figure with nothing to measure (no arrivals) is null."""
    return None if math.isnan(x) else x


def _pct(e: Estimate) -> Estimate:
    return Estimate(e.mean * 100, e.half_width * 100)


def shown(outcome: Outcome) -> list[str]:
    """The breakdowns worth a table: services always; sites and languages when some
    contact had one (else their only group is ``-``)."""
    return [dim for dim in DIMENSIONS if dim == "service" or set(outcome.by[dim]) - {"-"}]


def render(outcome: Outcome, fmt: str, sl_s: float, callbacks: bool, out: TextIO) -> None:
    """``callbacks``: whether to show the callback columns in the text table (the CSV
    and JSON always have them)."""
    if fmt == "json":
        doc = {
            PLURAL[dim]: {
                name: {
                    f: {"mean": _finite(e.mean), "ci95": _finite(e.half_width)}
                    for f, e in figures.items()
                }
                for name, figures in outcome.by[dim].items()
            }
            for dim in DIMENSIONS
        }
        out.write(json.dumps(doc, indent=2) + "\n")
        return
    if fmt == "csv":
        out.write("by,group," + ",".join(f"{f},{f}_ci95" for f in FIGURES) + "\n")
        for dim in DIMENSIONS:
            for name, figures in outcome.by[dim].items():
                cells = [f"{figures[f].mean:.6g},{figures[f].half_width:.6g}" for f in FIGURES]
                out.write(f"{dim},{name}," + ",".join(cells).replace("nan", "") + "\n")
        return
    for k, dim in enumerate(shown(outcome)):
        if k:
            out.write("\n")
        _table(dim, outcome.by[dim], sl_s, callbacks, out)
    out.write("(percentages; ± is the 95 % confidence interval over the replications)\n")


def _table(dim: str, results: Results, sl_s: float, callbacks: bool, out: TextIO) -> None:
    t = f"{sl_s:g}"
    out.write(
        f"{dim:<20} {'arrivals':>10} {f'SL{t} of all':>14} {f'SL{t} answered':>14} "
        f"{'ASA s':>11} {'p90 wait s':>11} {'abandoned':>13} {'occupancy':>13}"
    )
    out.write(f" {'callbacks':>10} {'attempts':>10}\n" if callbacks else "\n")
    for name, f in results.items():
        out.write(
            f"{name:<20} {_cell(f['arrivals'], '.0f'):>10} "
            f"{_cell(_pct(f['sl_all']), '.1f'):>14} {_cell(_pct(f['sl_answered']), '.1f'):>14} "
            f"{_cell(f['asa_s'], '.1f'):>11} {_cell(f['p90_wait_s'], '.0f'):>11} "
            f"{_cell(_pct(f['abandoned']), '.1f'):>13} {_cell(_pct(f['occupancy']), '.1f'):>13}"
        )
        if callbacks:
            out.write(
                f" {_cell(f['callbacks'], '.0f'):>10} {_cell(f['callback_attempts'], '.0f'):>10}"
            )
        out.write("\n")


class ProgressBar:
    """``simulate: replication 3/10 [#########.....................] 12 s left`` on one
    line of stderr,
    redrawn in place; a final newline when done."""

    def __init__(self, out: TextIO, label: str = "simulate", width: int = 30) -> None:
        self.out = out
        self.label = label
        self.width = width
        self.began = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        filled = round(self.width * done / total) if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.began
        left = elapsed / done * (total - done) if done else math.nan
        eta = f" {left:.0f} s left" if done < total and math.isfinite(left) else ""
        end = "\n" if done >= total else ""
        self.out.write(f"\r{self.label}: replication {done}/{total} [{bar}]{eta}{end}")
        self.out.flush()
