"""``python -m benchmarks`` (``make bench``): the dispatch-loop benchmark of the pure engine.

The full matrix (200, 2,000 and 20,000 agents x 1,000, 10,000 and 100,000 waiting, with
the naive matcher and the floor in every cell, then instruction counts under valgrind when
it is installed) takes a few minutes; ``--quick`` is a small smoke run (seconds).
Figures go to stdout, progress to stderr; ``--write-results`` also writes
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks.dispatch import log, run
from benchmarks.dispatch_setup import Settings
from benchmarks.instructions import measure as count_instructions
from benchmarks.report import print_report, write_results
from benchmarks.workload import Shape

FULL_AGENTS = [200, 2_000, 20_000]
FULL_WAITING = [1_000, 10_000, 100_000]
QUICK_AGENTS = [200, 2_000]
QUICK_WAITING = [1_000, 10_000]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small smoke run (< 10 s)")
    p.add_argument("--agents", type=int, nargs="+", metavar="N", help="agent counts")
    p.add_argument("--waiting", type=int, nargs="+", metavar="N", help="queue lengths")
    p.add_argument("--events", type=int, metavar="N", help="measured events per cell")
    p.add_argument(
        "--warmup",
        type=int,
        metavar="N",
        help="warm-up events after every agent completed once (default 20000, quick 3000)",
    )
    p.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    p.add_argument(
        "--naive-seconds",
        type=float,
        metavar="S",
        help="time bound of the naive matcher per cell (default 3, quick 0.5)",
    )
    p.add_argument(
        "--chat-share",
        type=float,
        default=0.0,
        metavar="F",
        help="share of agents taking 2-3 chats instead of 1 call (and of contacts that "
        "are chats); default 0",
    )
    p.add_argument(
        "--floor-rounds",
        type=int,
        metavar="N",
        help="pairs of interleaved engine/floor rounds per cell (default 15, quick 7; 0: skip)",
    )
    p.add_argument(
        "--floor-cycles",
        type=int,
        metavar="N",
        help="cycles (complete, accept, arrive) per floor round (default 1000, quick 200)",
    )
    p.add_argument("--no-freeze", action="store_true", help="do not gc.freeze() the built state")
    p.add_argument(
        "--profile",
        action="store_true",
        help="run cProfile over the engine's measured phase and print the top functions",
    )
    p.add_argument(
        "--instructions",
        choices=("auto", "yes", "no"),
        default="auto",
        help="count instructions per decision under valgrind (benchmarks/instructions.py): "
        "auto = in full runs when valgrind is installed (about 2 minutes), yes = also with "
        "--quick, no = never",
    )
    p.add_argument("--write-results", action="store_true", help="also write benchmarks/RESULTS.md")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    quick = bool(args.quick)
    settings = Settings(
        agents=args.agents or (QUICK_AGENTS if quick else FULL_AGENTS),
        waiting=args.waiting or (QUICK_WAITING if quick else FULL_WAITING),
        events=args.events or (3_000 if quick else 20_000),
        warmup=args.warmup if args.warmup is not None else (3_000 if quick else 20_000),
        seed=args.seed,
        naive_events=args.events or (3_000 if quick else 20_000),
        naive_seconds=args.naive_seconds
        if args.naive_seconds is not None
        else (0.5 if quick else 3.0),
        freeze=not args.no_freeze,
        profile=bool(args.profile),
        shape=Shape(chat_share=args.chat_share),
        load_before=os.getloadavg()[0],
        floor_rounds=args.floor_rounds if args.floor_rounds is not None else (7 if quick else 15),
        floor_cycles=args.floor_cycles or (200 if quick else 1_000),
    )
    start = time.perf_counter()
    runs = run(settings)
    instructions: list[str] | None = None
    if args.instructions == "yes" or (args.instructions == "auto" and not quick):
        log("counting instructions under valgrind (benchmarks/instructions.py)")
        counted = count_instructions(seed=args.seed)
        instructions = [counted] if isinstance(counted, str) else counted.lines()
    print_report(settings, runs, instructions)
    log(f"done in {time.perf_counter() - start:.1f} s")
    if args.write_results:
        path = write_results(settings, runs, argv, instructions)
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
