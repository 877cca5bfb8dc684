"""The figures of ``benchmarks.sim_vs_ciw`` as a Markdown section, and its place in
``benchmarks/RESULTS.md`` (the last section, replaced by each run that writes it)."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.report import code_version
from benchmarks.sim_vs_ciw_sides import SIDES, Outcome, Workload
from router.staffing.erlang import erlang_a_result

if TYPE_CHECKING:
    from benchmarks.sim_vs_ciw import Rounds

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Simulator against ciw (#14, #15)"
# Where the hand-written notes of the section begin: kept when the figures are rewritten.
NOTES = "Notes (by hand"
# Two sides agree on a figure when their means over the rounds differ by less than this
# many standard errors of the difference (standard errors from a handful of rounds: a
# wider bound than a normal test's, so that chance alone fails a run rarely).
AGREE_Z = 4.0
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
LABELS = {
    "ciw": "ciw 3 (reference)",
    "sim": "simulator, as the what-if replications run it (`measure=False`)",
    "sim-measuring": "simulator, measuring as the estimate-accuracy benchmark does",
    "engine": "engine alone, under a bare driver",
}


def _mean_half(xs: list[float]) -> tuple[float, float]:
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, math.nan
    t = _T975[len(xs) - 2] if len(xs) - 2 < len(_T975) else 1.96
    return m, t * statistics.stdev(xs) / math.sqrt(len(xs))


def _z(a: list[float], b: list[float]) -> float:
    """The difference of the means in standard errors of the difference."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    diff = statistics.fmean(a) - statistics.fmean(b)
    return abs(diff) / se if se > 0 else (0.0 if diff == 0 else math.inf)


def _figure(outs: list[Outcome], name: str) -> list[float]:
    return [getattr(o, name) for o in outs]


def compatible(r: Rounds) -> bool:
    """Every side agrees with ciw on the mean wait and the share that gave up."""
    ciw = r.outcomes["ciw"]
    return all(
        not _z(_figure(outs, f), _figure(ciw, f)) >= AGREE_Z
        for side, outs in r.outcomes.items()
        if side != "ciw"
        for f in ("mean_wait_s", "p_abandon")
    )


def _ratios(r: Rounds, side: str) -> list[float]:
    """This side's contacts per CPU second over ciw's, round by round."""
    return [
        o.per_cpu_s / c.per_cpu_s for o, c in zip(r.outcomes[side], r.outcomes["ciw"], strict=True)
    ]


def _spread(xs: list[float], fmt: str) -> str:
    return f"{format(statistics.median(xs), fmt)} ({format(min(xs), fmt)}–{format(max(xs), fmt)})"


def _host() -> list[str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((x.split(":", 1)[1].strip() for x in f if x.startswith("model name")), cpu)
    except OSError:
        pass
    import ciw  # noqa: PLC0415 -- only the benchmark's environment has it

    code = code_version(("router", "skills", "benchmarks"))
    return [
        f"host: {len(os.sched_getaffinity(0))} cores, CPU {cpu}, {platform.system()} "
        f"{platform.release()}; load average {os.getloadavg()[0]:.2f} at the end (the "
        "machine is shared: CPU time, not wall time, and ratios within a round)",
        f"python {platform.python_version()}, ciw {ciw.__version__}; "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; {code}",
    ]


def _agreement(r: Rounds) -> list[str]:
    w = r.workload
    theory = erlang_a_result(w.agents, w.arrivals_per_s, w.handle_s, 20.0, w.patience_s)
    ciw = r.outcomes["ciw"]
    lines = [
        f"Erlang A for the same workload: mean wait of answered contacts {theory.asa_s:.2f} s, "
        f"P(abandon) {theory.p_abandon:.4f}. Over the rounds (mean ± 95 % half-width; z = "
        f"difference from ciw in standard errors, agreement below {AGREE_Z:g}):",
        "",
    ]
    for side, outs in r.outcomes.items():
        wait, wait_h = _mean_half(_figure(outs, "mean_wait_s"))
        ab, ab_h = _mean_half(_figure(outs, "p_abandon"))
        z = ""
        if side != "ciw":
            zw = _z(_figure(outs, "mean_wait_s"), _figure(ciw, "mean_wait_s"))
            za = _z(_figure(outs, "p_abandon"), _figure(ciw, "p_abandon"))
            z = f"; z = {zw:.1f} and {za:.1f}"
        lines.append(
            f"- {side}: mean wait {wait:.2f} ± {wait_h:.2f} s, P(abandon) {ab:.4f} ± {ab_h:.4f}{z}"
        )
    verdict = "agree" if compatible(r) else "DO NOT AGREE: the comparison is not of the same work"
    lines += ["", f"The sides {verdict}."]
    return lines


def _instructions(r: Rounds, small: Workload) -> list[str]:
    if r.instructions is None or isinstance(r.instructions, str):
        return [f"Instructions: {r.instructions or 'not counted'}."]
    per = {side: n / max(1, c) for side, (n, c) in r.instructions.items()}
    lines = [
        f"Instructions (valgrind callgrind, inside each side's call only, {small.contacts:,} "
        "contacts, PYTHONHASHSEED=0; `perf` cannot count them on this VM):",
        "",
        "| side | instructions | contacts | per contact | ciw's per contact / this side's |",
        "|---|---:|---:|---:|---:|",
    ]
    for side, (n, c) in r.instructions.items():
        against = per["ciw"] / per[side]
        lines.append(f"| {side} | {n / 1e6:,.0f}M | {c:,} | {per[side]:,.0f} | {against:.2f} |")
    if "sim" in per and "engine" in per:
        own = (per["sim"] - per["engine"]) / per["sim"]
        lines += [
            "",
            f"The simulator's own loop is {own:.0%} of its instructions (simulator − engine "
            "alone, per contact).",
        ]
    return lines


def verdict(r: Rounds) -> list[str]:
    """The target of issues 14 and 15: the simulator, as the what-if runs it, at least at
    ciw's contacts per CPU second (the median of the within-round ratios), on the same
    work (the sides agree)."""
    if "sim" not in r.outcomes:
        return []
    ratios = _ratios(r, "sim")
    met = statistics.median(ratios) >= 1.0 and compatible(r)
    return [
        f"{'PASS' if met else 'MISS'}  simulator (`measure=False`) >= ciw's contacts per CPU "
        f"second: {_spread(ratios, '.2f')}x over {len(ratios)} rounds"
        + ("" if compatible(r) else " (the sides disagree: not the same work)"),
        "",
    ]


def section(r: Rounds, small: Workload, argv: list[str]) -> list[str]:
    w = r.workload
    n = len(r.outcomes["ciw"])
    lines = [
        HEADING,
        "",
        "Written by `python -m benchmarks.sim_vs_ciw "
        + " ".join(argv)
        + "` (`make bench`); ciw installed for the benchmark only (`requirements/bench.lock`).",
        "",
        *[f"- {x}" for x in _host()],
        f"- workload: {w.describe()}; {n} rounds, seeds {r.seed}–{r.seed + n - 1}, every side "
        "once per round on the round's seed, the order rotated each round. Ours: the real "
        "engine, one service, offers answered at once, never declined; arrivals over "
        f"{w.horizon_s / 86400:.1f} simulated days, run until every contact is closed.",
        "",
        "Contacts per CPU second (median over the rounds, lowest–highest), and against ciw "
        "(the ratio within each round):",
        "",
        "| side | contacts / CPU-s | against ciw |",
        "|---|---:|---:|",
    ]
    for side in SIDES:
        if side not in r.outcomes:
            continue
        rates = [o.per_cpu_s for o in r.outcomes[side]]
        lines.append(
            f"| {LABELS[side]} | {_spread(rates, ',.0f')} | {_spread(_ratios(r, side), '.2f')}× |"
        )
    lines += ["", *_agreement(r), "", *verdict(r), *_instructions(r, small), ""]
    if "sim" in r.outcomes and "engine" in r.outcomes:
        own = [
            1 - (e.cpu_s / e.contacts) / (s.cpu_s / s.contacts)
            for s, e in zip(r.outcomes["sim"], r.outcomes["engine"], strict=True)
        ]
        lines += [
            "Where the time goes: the simulator's own loop (its CPU per contact less the "
            f"engine alone's) is {_spread(own, '.0%')} of its time per contact, round by round. "
            f"cProfile of one simulator run ({small.contacts:,} contacts; own time by part, "
            "CPU time; the profiler's cost per call inflates small functions):",
            "",
            *[f"- {part}: {share:.0%}" for part, share in r.profile],
            "",
            "Largest own times: " + "; ".join(f"`{f}` {s:.0%}" for f, s in r.top) + ".",
        ]
    return lines


def write(lines: list[str]) -> Path:
    """Replaces the section (from its heading to the next ``## `` or the end), keeping its
    notes written by hand, or appends it."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    body = "\n".join(lines).rstrip() + "\n"
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip() + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(HEADING))
        old = text[start : end + 1] if end >= 0 else text[start:]
        rest = text[end + 1 :] if end >= 0 else ""
        notes = old.find("\n" + NOTES)
        if notes >= 0:
            body += old[notes:].rstrip() + "\n"
        text = text[:start] + body + ("\n" + rest if rest else "")
    RESULTS.write_text(text, encoding="utf-8")
    return RESULTS
