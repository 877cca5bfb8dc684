"""Where the engine's time goes per cycle (complete, accept, arrive), by feature.

``python -m benchmarks.breakdown [agents waiting]`` builds the dispatch benchmark's cell
(default 2,000 agents / 10,000 waiting), then runs the measured loop with cProfile enabled
only inside ``engine.apply``, timing with the process's CPU clock (so other work on the
machine does not land in the figures), and groups the functions' own time by the feature
they serve. cProfile adds a fixed cost to every call; that cost is calibrated in the same
process (a loop of empty calls, profiled and not) and subtracted per call. Built-in calls
(``dict.get``, ``len``, ``min``...) are charged to the engine function that made them.
Estimates, not exact figures: use ``benchmarks.instructions`` to see a change.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks.dispatch_measure import measure
from benchmarks.dispatch_setup import Floorplan, Settings
from router.core.engine import Engine
from router.core.events import Event

# The engine's own modules (router/core/engine.py and the parts it applies events with).
ENGINE_FILES = (
    "engine.py",
    "engine_state.py",
    "step_choice.py",
    "capacity.py",
    "matching.py",
    "deadlines.py",
    "scheduled.py",
    "contact_events.py",
    "callbacks.py",
    "agent_events.py",
    "liveness.py",
    "partner_gates.py",
    "partner_cover.py",
    "live_changes.py",
)

# (group, test on "file:function"); the first match wins.
GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("event dispatch (apply: clock check, handler lookup)", lambda k: k == "engine.py:apply"),
    (
        "timers (deadline and offer-expiry pushes, due checks)",
        lambda k: (
            k.startswith("timers.py")
            or k
            in (
                "deadlines.py:push_deadline_timers",
                "engine_state.py:_token",
                "engine.py:_fire_timers",
            )
        ),
    ),
    ("waiting tallies", lambda k: k.startswith("tally.py")),
    ("decision and trace objects", lambda k: k.startswith(("decisions.py", "<string>:__init__"))),
    (
        "requirement lookup on arrival (hash, interning)",
        lambda k: (
            k
            in (
                "partner_gates.py:base_rid",
                "requirements.py:contact_base",
                "<string>:__hash__",
                "<string>:__eq__",
            )
        ),
    ),
    ("matching: queue buckets and heads", lambda k: k.startswith(("queue.py", "bucket.py"))),
    (
        "matching: agent pool",
        lambda k: (
            k.startswith("pool.py") or k in ("matching.py:route", "capacity.py:free_channels")
        ),
    ),
    (
        "arrival: validation, contact record, steps",
        lambda k: (
            k
            in (
                "contact_events.py:on_arrived",
                "state.py:__init__",
                "step_choice.py:enter_step",
                "step_choice.py:scope_of",
            )
        ),
    ),
    ("offers, acceptance, completion: state changes", lambda k: k.startswith(ENGINE_FILES)),
)


def _group(key: str) -> str:
    return next((name for name, test in GROUPS if test(key)), f"other ({key})")


def _key(func: tuple[str, int, str]) -> str:
    filename, _line, name = func
    return f"{filename.rsplit('/', 1)[-1]}:{name}"


class _Profiled:
    """The driver's view of the engine, profiling only inside ``apply``."""

    def __init__(self, engine: Engine, profiler: cProfile.Profile) -> None:
        self.engine = engine
        self.profiler = profiler

    def apply(self, now: float, event: Event) -> list[Any]:
        self.profiler.enable()
        try:
            return self.engine.apply(now, event)
        finally:
            self.profiler.disable()

    @property
    def waiting_count(self) -> int:
        return self.engine.waiting_count


def _nothing() -> None:
    return None


def _calls(n: int) -> None:
    f = _nothing
    for _ in range(n):
        f()


def call_cost(n: int = 200_000, repeats: int = 5) -> float:
    """What cProfile adds per call, in ns of process CPU time (the median of ``repeats``)."""
    costs = []
    for _ in range(repeats):
        t0 = time.process_time_ns()
        _calls(n)
        plain = time.process_time_ns() - t0
        profiler = cProfile.Profile(time.process_time_ns, 1e-9)
        t0 = time.process_time_ns()
        profiler.enable()
        _calls(n)
        profiler.disable()
        profiled = time.process_time_ns() - t0
        costs.append((profiled - plain) / (n + 1))
    return statistics.median(costs)


def breakdown(agents: int, waiting: int, events: int = 20_000) -> list[str]:
    s = Settings(agents=[agents], waiting=[waiting], floor_rounds=0)
    plan = Floorplan(agents, s, lambda _msg: None)
    plan.grow(waiting)
    plan.warm_up(waiting)
    plan.start_cell(waiting)
    per_call = call_cost()
    profiler = cProfile.Profile(time.process_time_ns, 1e-9)
    plan.driver.m = _Profiled(plan.engine, profiler)
    sample = measure(plan.driver, waiting, events, 600.0, s.freeze)
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    own: dict[str, float] = defaultdict(float)
    for func, (_cc, nc, tt, _ct, callers) in stats.items():
        if func[0] == "~":  # a built-in: charged to its callers, less cProfile's cost
            for caller, (_c, cnc, ctt, _cct) in callers.items():
                own[_group(_key(caller))] += max(0.0, ctt * 1e9 - cnc * per_call)
            continue
        own[_group(_key(func))] += max(0.0, tt * 1e9 - nc * per_call)
    cycles = sample.by_kind["complete"][0]
    rows = sorted(((name, ns / cycles) for name, ns in own.items()), key=lambda r: -r[1])
    shown = sum(ns for _, ns in rows)
    lines = [
        f"engine at {agents:,} agents / {waiting:,} waiting, {cycles:,} cycles "
        f"({sample.decisions / cycles:.2f} decisions per cycle): about {shown / 1000:.1f} us "
        f"of CPU per cycle once cProfile's {per_call:.0f} ns per call is taken off:",
    ]
    for name, ns in rows:
        if ns >= 0.005 * shown:
            lines.append(f"  {ns / 1000:6.2f} us  {100 * ns / shown:5.1f} %  {name}")
    return lines


def main(argv: list[str]) -> int:
    agents, waiting = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (2_000, 10_000)
    print("\n".join(breakdown(agents, waiting)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
