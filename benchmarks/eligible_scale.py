"""The supervisor's eligible agents at scale: one ``?eligible=true`` page of waiting
contacts answered the old way (``benchmarks.eligible_naive``: every agent matched and
its room checked once per distinct requirement) and the service's way
(``router.service.desk.eligible_agents`` over ``router.service.eligible_index``).

Workload (``benchmarks.eligible_region``): ``--agents`` logged-in agents of 40 skill
profiles, a page of ``--rows`` waiting contacts with ``--distinct`` distinct
requirements, in the ``busy`` mode (every agent holds a call: nobody has room) and the
``mixed`` one (half busy, half not ready with room; voice and chat rows). Each cell first
checks that both sides give the same answers, then times one request per side in
interleaved rounds (old, new, old, new, ...), the collector frozen after the setup and
running with the service's thresholds, and prints the median and the lowest time per
request of each side.

The host is shared and its speed swings: ``--instructions`` also counts, with valgrind's
callgrind, the instructions of ``--requests`` requests per side in a child process
(``benchmarks.instructions.counted_child``: only inside the ``operator.call`` that makes
the request), which do not move with the host.

    python -m benchmarks.eligible_scale [--agents 20000] [--rows 100]
        [--distinct 2 50 100] [--modes busy mixed] [--rounds 9] [--instructions]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import operator
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import eligible_naive
from benchmarks.eligible_region import MODES, build
from benchmarks.instructions import counted_child, valgrind
from router.core.state import ContactView
from router.service import desk
from router.service.collector import GC_THRESHOLDS
from router.service.service import Service
from router.service.supervisor_contacts import ELIGIBLE_SHOWN

Answers = dict[str, tuple[list[dict[str, Any]], int]]
Eligible = Callable[[Service, list[ContactView], int | None], Answers]
SIDES: dict[str, Eligible] = {"old": eligible_naive.eligible_agents, "new": desk.eligible_agents}


def digest(answers: Answers) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:16]


def timed_cell(service: Service, waiting: list[ContactView], rounds: int) -> dict[str, list[float]]:
    """Seconds per request of each side, in interleaved rounds."""
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    for _ in range(rounds):
        for side, eligible in SIDES.items():
            started = time.perf_counter()
            eligible(service, waiting, ELIGIBLE_SHOWN)
            times[side].append(time.perf_counter() - started)
    return times


def child(side: str, agents: int, rows: int, distinct: int, mode: str, requests: int) -> None:
    """The measured process: the setup, then ``requests`` requests of one side, each
    through ``operator.call`` (what callgrind counts); prints a digest of the answers."""
    service, waiting = build(agents, rows, distinct, mode)
    eligible = SIDES[side]
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    answers: Answers = {}
    for _ in range(requests):
        answers = operator.call(eligible, service, waiting, ELIGIBLE_SHOWN)
    sys.stdout.write(json.dumps({"answers": digest(answers)}))
    sys.stdout.flush()
    os._exit(0)


def counted(
    tool: str, side: str, agents: int, rows: int, distinct: int, mode: str, requests: int
) -> tuple[float, str]:
    """Instructions per request of one side, and its answers' digest."""
    args = [side, "--agents", str(agents), "--rows", str(rows), "--distinct", str(distinct)]
    args += ["--modes", mode, "--requests", str(requests)]
    refs, out = counted_child(tool, "benchmarks.eligible_scale", args, f"the {side!r} side")
    return refs / requests, str(out["answers"])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.eligible_scale", description=__doc__)
    p.add_argument("--child", choices=tuple(SIDES), help=argparse.SUPPRESS)
    p.add_argument("--agents", type=int, default=20_000)
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--distinct", type=int, nargs="+", default=[2, 50, 100])
    p.add_argument("--modes", choices=MODES, nargs="+", default=list(MODES))
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--instructions", action="store_true")
    p.add_argument("--requests", type=int, default=2, help="per side, with --instructions")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        child(args.child, args.agents, args.rows, args.distinct[0], args.modes[0], args.requests)
        return 0
    tool = valgrind() if args.instructions else None
    if args.instructions and tool is None:
        print("instructions: not counted, valgrind is not installed")
    print(
        f"eligible agents per ?eligible=true request: {args.agents:,} logged-in agents, "
        f"{args.rows} waiting rows, at most {ELIGIBLE_SHOWN} named per row; "
        f"{args.rounds} interleaved rounds; ms per request, median (lowest)"
    )
    same = True
    for mode in args.modes:
        for distinct in args.distinct:
            service, waiting = build(args.agents, args.rows, distinct, mode)
            answers = {side: SIDES[side](service, waiting, ELIGIBLE_SHOWN) for side in SIDES}
            equal = answers["old"] == answers["new"]
            same = same and equal
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            times = timed_cell(service, waiting, args.rounds)
            gc.unfreeze()
            old, new = (statistics.median(times[side]) * 1e3 for side in SIDES)
            line = (
                f"  {mode:5} {distinct:3} distinct: old {old:7.1f} ({min(times['old']) * 1e3:.1f})"
                f"  new {new:6.1f} ({min(times['new']) * 1e3:.1f})  old/new {old / new:5.1f}x"
                f"  same answers: {'yes' if equal else 'NO'}"
            )
            if tool is not None:
                counts = {
                    side: counted(tool, side, args.agents, args.rows, distinct, mode, args.requests)
                    for side in SIDES
                }
                (old_i, old_d), (new_i, new_d) = counts["old"], counts["new"]
                same = same and old_d == new_d
                line += (
                    f"\n        instructions per request: old {old_i / 1e6:,.1f} M"
                    f"  new {new_i / 1e6:,.1f} M  old/new {old_i / new_i:.1f}x"
                    f"  same answers: {'yes' if old_d == new_d else 'NO'}"
                )
            print(line, flush=True)
            del service, waiting, answers
            gc.collect()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
