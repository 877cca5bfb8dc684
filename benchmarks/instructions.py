"""Instructions per decision for the engine and the floor, counted by valgrind.

Wall-clock figures move with the host and with whatever else runs on it; instruction
counts do not: the same code on the same input executes the same instructions on any
host, so a 5 % change shows. ``python -m benchmarks.instructions`` runs two child
processes under ``valgrind --tool=callgrind``, each building the same region and engine,
filling it, growing the queue, warming up and building the floor from the engine's state
(the setup, not counted), then running ``cycles`` cycles (complete a random busy agent's
contact, accept the offer, arrivals until the queue is back at its length) on one side:
the engine or the floor.

Only the matcher's own calls are counted: the child calls ``engine.apply`` (and the
floor's ``arrive``/``accept``/``complete``) through ``operator.call``, a C function, and
callgrind collects only inside it (``--toggle-collect=_operator_call``), so the driver's
work (drawing contacts, building events, timing, bookkeeping) is left out, and collector
passes that fall inside a call are counted with it. Instructions per decision = the
count / the decisions returned. Both children print a digest of their offers, which must
be equal. They run with ``PYTHONHASHSEED=0``, so the counts repeat run to run. When
valgrind is absent the module says so and how to install it (as root: ``apt-get install
-y valgrind``); ``python -m benchmarks`` runs it only when valgrind is on the PATH.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import operator
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.dispatch_setup import Floorplan, Settings
from benchmarks.floor import FloorDriver, run_round
from benchmarks.floor_matcher import FloorMatcher
from router.core.engine import Engine
from router.service.collector import GC_THRESHOLDS

AGENTS = 2_000
WAITING = 1_000
WARMUP = 2_000
CYCLES = 2_000
SIDES = ("engine", "floor")
INSTALL = "apt-get install -y valgrind"
# A C function between the driver and the matcher: callgrind counts only inside it.
_CALL: Callable[..., Any] = operator.call
_COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")


@dataclass(frozen=True, slots=True)
class Count:
    side: str
    instructions: int
    events: int
    decisions: int
    offers: str  # digest of the offers made, in order


@dataclass(frozen=True, slots=True)
class Counts:
    agents: int
    waiting: int
    cycles: int
    engine: Count
    floor: Count

    def per_decision(self, c: Count) -> float:
        return c.instructions / max(1, c.decisions)

    def per_event(self, c: Count) -> float:
        return c.instructions / max(1, c.events)

    @property
    def same_offers(self) -> bool:
        return self.engine.offers == self.floor.offers and self.engine.decisions > 0

    def lines(self) -> list[str]:
        e, f = self.per_decision(self.engine), self.per_decision(self.floor)
        return [
            f"instructions (valgrind callgrind, inside the matcher's calls only) at "
            f"{self.agents:,} agents / {self.waiting:,} waiting, {self.cycles:,} cycles after "
            "the same setup:",
            f"  engine: {e:,.0f} instructions per decision ({self.per_event(self.engine):,.0f} "
            f"per event; {self.engine.decisions:,} decisions, {self.engine.events:,} events)",
            f"  floor:  {f:,.0f} instructions per decision ({self.per_event(self.floor):,.0f} "
            f"per event; {self.floor.decisions:,} decisions, {self.floor.events:,} events)",
            f"  engine / floor: {e / f:.2f}x; same offers: "
            + ("yes" if self.same_offers else "NO"),
        ]


class _CountedEngine:
    """The driver's view of the engine, with ``apply`` called through ``operator.call``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.apply = partial(_CALL, engine.apply)

    @property
    def waiting_count(self) -> int:
        return self.engine.waiting_count


class _CountedFloor:
    """The floor driver's view of the floor, each method called through ``operator.call``."""

    def __init__(self, floor: FloorMatcher) -> None:
        self.floor = floor
        self.arrive = partial(_CALL, floor.arrive)
        self.accept = partial(_CALL, floor.accept)
        self.complete = partial(_CALL, floor.complete)

    @property
    def waiting_count(self) -> int:
        return self.floor.waiting_count


def child(side: str, agents: int, waiting: int, warmup: int, cycles: int, seed: int) -> None:
    """The measured process: the setup, then ``cycles`` cycles on one side; prints the
    events, decisions and a digest of the offers as JSON, then leaves at once."""
    s = Settings(agents=[agents], waiting=[waiting], warmup=warmup, seed=seed, floor_rounds=0)
    plan = Floorplan(agents, s, lambda _msg: None)
    plan.grow(waiting)
    plan.warm_up(waiting)
    snapshot = plan.floor.copy()
    fm = FloorMatcher.from_engine(plan.engine, plan.region, snapshot)
    stream, pick = plan.streams(waiting)
    fstream, fpick = plan.streams(waiting)
    plan.driver.stream, plan.driver.pick = stream, pick
    plan.driver.m = _CountedEngine(plan.engine)
    fdriver = FloorDriver(fm, snapshot, fstream, fpick)
    fdriver.m = _CountedFloor(fm)  # type: ignore[assignment]
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()
    rec = run_round(plan.driver if side == "engine" else fdriver, cycles, waiting)
    digest = hashlib.sha256(repr(rec.offers).encode()).hexdigest()[:16]
    out = {"events": rec.events, "decisions": rec.decisions, "offers": digest}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)


def valgrind() -> str | None:
    return shutil.which("valgrind")


def counted_child(tool: str, module: str, args: list[str], what: str) -> tuple[int, Any]:
    """Runs ``python -m module --child ARGS`` under callgrind, counting only inside its
    ``operator.call`` (``PYTHONHASHSEED=0``); returns the instructions and the child's
    JSON answer on stdout."""
    cmd = [
        tool,
        "--tool=callgrind",
        "--toggle-collect=_operator_call",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        module,
        "--child",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    refs = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or refs is None:
        raise RuntimeError(
            f"valgrind run of {what} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
        )
    return int(refs.group(1).replace(",", "")), json.loads(done.stdout)


def count(
    side: str, agents: int, waiting: int, warmup: int, cycles: int, seed: int, tool: str
) -> Count:
    args = [side, "--agents", str(agents), "--waiting", str(waiting)]
    args += ["--warmup", str(warmup), "--cycles", str(cycles), "--seed", str(seed)]
    refs, out = counted_child(tool, "benchmarks.instructions", args, f"the {side!r} side")
    return Count(side, refs, out["events"], out["decisions"], out["offers"])


def measure(
    agents: int = AGENTS,
    waiting: int = WAITING,
    warmup: int = WARMUP,
    cycles: int = CYCLES,
    seed: int = 1,
) -> Counts | str:
    """The counts, or why there are none (valgrind missing)."""
    tool = valgrind()
    if tool is None:
        return f"instructions: not counted, valgrind is not installed (as root: {INSTALL})"
    runs = {side: count(side, agents, waiting, warmup, cycles, seed, tool) for side in SIDES}
    return Counts(agents, waiting, cycles, runs["engine"], runs["floor"])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    p.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--agents", type=int, default=AGENTS)
    p.add_argument("--waiting", type=int, default=WAITING)
    p.add_argument("--warmup", type=int, default=WARMUP)
    p.add_argument("--cycles", type=int, default=CYCLES)
    p.add_argument("--seed", type=int, default=1)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        child(args.child, args.agents, args.waiting, args.warmup, args.cycles, args.seed)
        return 0
    result = measure(args.agents, args.waiting, args.warmup, args.cycles, args.seed)
    print(result if isinstance(result, str) else "\n".join(result.lines()))
    return 0 if isinstance(result, str) or result.same_offers else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
