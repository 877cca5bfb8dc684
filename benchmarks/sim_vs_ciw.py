"""``python -m benchmarks.sim_vs_ciw``: our simulator against ciw on the same M/M/c+M.

ciw (a discrete-event library for queueing networks, pure Python) is the reference for
what a simulator of this workload costs. The workload and the four sides are
``benchmarks.sim_vs_ciw_sides``: ciw, our simulator with the real engine as the what-if
replications run it, the same measuring as the estimate-accuracy benchmark does, and the
engine alone under a bare driver (what the engine costs without the simulator's loop).

Rounds are interleaved, every side once per round on the same seed, the order rotated
round by round so that none always runs first; the figure is contacts simulated per CPU
second (``time.process_time``), and each side's ratio to ciw is taken within a round
(both measured minutes apart at most, under the same load) and given as the median with
the lowest and highest over the rounds. The sides must agree on what they computed: each
side's mean wait of answered contacts and share that gave up, over the rounds, against
ciw's and against Erlang A (``router.staffing.erlang``): the comparison is of the same
work only if they agree.

Instruction counts, when valgrind is installed (``perf`` cannot count instructions on a
VM without hardware counters): ciw, the simulator and the engine alone once more, each in
a child process under callgrind, counting only inside the side's call (entered through
``operator.call``, a C function, ``--toggle-collect=_operator_call``, as
``benchmarks.instructions`` does); the counts
repeat run to run (``PYTHONHASHSEED=0``) where CPU time does not. Then a cProfile of one
simulator run says where its time goes, by part (engine, simulator, random draws, ...).

ciw is not a dependency of the project: ``make bench`` installs it from
``requirements/bench.lock`` into ``.venv/bench-lib`` and runs this module with that on
``PYTHONPATH``; ``--write-results`` writes the section ``## Simulator against ciw (#14,
#15)`` at the end of ``benchmarks/RESULTS.md`` (replacing the previous one, but for the
notes written by hand at its end, from a paragraph that begins ``Notes (by hand``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import operator
import os
import pstats
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import sim_vs_ciw_report as report
from benchmarks.instructions import counted_child, valgrind
from benchmarks.sim_vs_ciw_sides import RUNNERS, SIDES, Outcome, Workload, run_sim

INSTALL = "make bench (ciw from requirements/bench.lock into .venv/bench-lib, then on PYTHONPATH)"
ROOT = str(Path(__file__).resolve().parent.parent)
# Counted under valgrind (the measuring simulator's extra shows in the CPU times).
COUNTED = ("ciw", "sim", "engine")


@dataclass(slots=True)
class Rounds:
    workload: Workload
    seed: int
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    instructions: dict[str, tuple[int, int]] | str | None = None  # side: (count, contacts)
    profile: list[tuple[str, float]] = field(default_factory=list)  # part: share of time
    top: list[tuple[str, float]] = field(default_factory=list)  # function: share of time


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure(w: Workload, rounds: int, seed: int, sides: tuple[str, ...] = SIDES) -> Rounds:
    result = Rounds(w, seed, {side: [] for side in sides})
    for r in range(rounds):
        order = sides[r % len(sides) :] + sides[: r % len(sides)]
        for side in order:
            gc.collect()
            out = RUNNERS[side](w, seed + r)
            result.outcomes[side].append(out)
            log(
                f"round {r + 1}/{rounds} {side:>13}: {out.contacts:,} contacts in "
                f"{out.cpu_s:.2f} CPU-s = {out.per_cpu_s:,.0f}/CPU-s"
            )
    return result


def count_instructions(
    w: Workload, seed: int, sides: tuple[str, ...]
) -> dict[str, tuple[int, int]]:
    tool = valgrind()
    if tool is None:
        raise FileNotFoundError("valgrind")
    counts = {}
    for side in sides:
        log(f"counting instructions: {side} ({w.contacts:,} contacts under callgrind)")
        args = [side, "--contacts", str(w.contacts), "--seed", str(seed)]
        refs, out = counted_child(tool, "benchmarks.sim_vs_ciw", args, repr(side))
        counts[side] = (refs, int(out["contacts"]))
    return counts


def child(side: str, w: Workload, seed: int) -> None:
    """One side, entered through ``operator.call`` so that callgrind counts only it (ciw
    imported before: its import, numpy's and networkx's, is not the simulation)."""
    if side == "ciw":
        import ciw  # noqa: F401, PLC0415
    out = operator.call(RUNNERS[side], w, seed)
    sys.stdout.write(json.dumps({"contacts": out.contacts}))
    sys.stdout.flush()
    os._exit(0)


_PARTS = (
    ("engine (router/core, skills)", ("router/core/", "skills/")),
    ("simulator (router/sim.py)", ("router/sim.py",)),
    ("random draws (random.py, _random)", ("random.py", "_random")),
    ("heap, dict and list operations", ("_heapq", "of 'dict'", "of 'list'")),
    ("built-ins (len, isinstance, ...)", ("built-in method builtins",)),
    ("the workload's people (benchmarks/sim_vs_ciw_sides.py)", ("sim_vs_ciw_sides",)),
)


def profile_sim(w: Workload, seed: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Where one run of the simulator spends its time (cProfile's own CPU time per
    function, summed by part; the profiler's cost per call inflates the small functions).
    CPU time, not wall time: on a shared machine the wall clock charges other processes'
    turns to whichever function was running."""
    prof = cProfile.Profile(time.process_time)
    prof.runcall(run_sim, w, seed)
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    parts: dict[str, float] = {}
    funcs: list[tuple[str, float]] = []
    for (filename, line, name), row in stats.items():
        where = f"{filename}:{name}"
        part = next((p for p, keys in _PARTS if any(k in where for k in keys)), "the rest")
        parts[part] = parts.get(part, 0.0) + row[2] / total
        # Our files from the repository's root, the standard library's by name.
        short = filename.removeprefix(ROOT).lstrip("/") if ROOT in filename else Path(filename).name
        funcs.append((f"{short}:{line} {name}" if line else name, row[2] / total))
    funcs.sort(key=lambda x: -x[1])
    return sorted(parts.items(), key=lambda x: -x[1]), funcs[:12]


def _parser() -> argparse.ArgumentParser:
    w = Workload()
    p = argparse.ArgumentParser(prog="python -m benchmarks.sim_vs_ciw", description=__doc__)
    p.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument(
        "--contacts", type=int, default=w.contacts, help=f"per run (default {w.contacts:,})"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the first round (default 1)")
    p.add_argument(
        "--instructions",
        choices=("auto", "no"),
        default="auto",
        help="count instructions under valgrind when it is installed (default auto)",
    )
    p.add_argument(
        "--count-contacts",
        type=int,
        default=2_000,
        help="contacts per side under valgrind and the profiler (default 2,000)",
    )
    p.add_argument(
        "--write-results", action="store_true", help="also write the section in RESULTS.md"
    )
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    w = Workload(contacts=args.contacts)
    if args.child:
        child(args.child, w, args.seed)
        return 0
    try:
        import ciw  # noqa: F401, PLC0415
    except ImportError:
        log(f"ciw is not installed; install it for this benchmark only: {INSTALL}")
        return 2
    log(f"{w.describe()}; {args.rounds} rounds")
    result = measure(w, args.rounds, args.seed)
    small = Workload(contacts=args.count_contacts)
    if args.instructions == "no":
        result.instructions = "not counted (--instructions no)"
    elif valgrind() is None:
        result.instructions = (
            "not counted: valgrind is not installed (as root: apt-get install -y valgrind)"
        )
    else:
        result.instructions = count_instructions(small, args.seed, COUNTED)
    log(f"profiling one simulator run ({small.contacts:,} contacts)")
    result.profile, result.top = profile_sim(small, args.seed)
    lines = report.section(result, small, argv)
    print("\n".join(lines))
    if args.write_results:
        path = report.write(lines)
        log(f"wrote {path}")
    return 0 if report.compatible(result) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
