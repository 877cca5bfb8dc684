"""Where the engine's time goes per cycle (complete, accept, arrive), by feature.

``python -m benchmarks.breakdown [agents waiting]`` builds the dispatch benchmark's cell
(default 2,000 agents / 10,000 waiting), times the engine's calls once plain, then once
under cProfile (enabled only inside ``engine.apply``), and groups the functions' own time
by the feature they serve. cProfile adds a fixed cost to every call; that cost, taken as
(profiled time - plain time) / calls, is subtracted from each function in proportion to
its calls, so the groups add up to the plain time. Built-in calls (``dict.get``, ``len``,
``min``...) are charged to the engine function that made them. Estimates, not exact
figures: use ``benchmarks.instructions`` to see a change.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks.dispatch import Floorplan, Settings, measure
from router.core.engine import Engine
from router.core.events import Event

# (group, test on "file:function"); the first match wins.
GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("event dispatch (apply: clock check, handler lookup)", lambda k: k == "engine.py:apply"),
    (
        "timers (deadline and offer-expiry pushes, due checks)",
        lambda k: (
            k.startswith("timers.py")
            or k
            in ("engine.py:_push_deadline_timers", "engine.py:_token", "engine.py:_fire_timers")
        ),
    ),
    ("waiting tallies", lambda k: k.startswith("tally.py")),
    ("decision and trace objects", lambda k: k.startswith(("decisions.py", "<string>:__init__"))),
    (
        "requirement lookup on arrival (hash, interning)",
        lambda k: (
            k
            in (
                "engine.py:_base_rid",
                "requirements.py:contact_base",
                "<string>:__hash__",
                "<string>:__eq__",
            )
        ),
    ),
    ("matching: queue buckets and heads", lambda k: k.startswith(("queue.py", "bucket.py"))),
    (
        "matching: agent pool",
        lambda k: k.startswith("pool.py") or k in ("engine.py:_route", "engine.py:_free_channels"),
    ),
    (
        "arrival: validation, contact record, steps",
        lambda k: (
            k
            in (
                "engine.py:_on_arrived",
                "state.py:__init__",
                "engine.py:_enter_step",
                "engine.py:_scope_of",
            )
        ),
    ),
    ("offers, acceptance, completion: state changes", lambda k: k.startswith("engine.py")),
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


def breakdown(agents: int, waiting: int, events: int = 20_000) -> list[str]:
    s = Settings(agents=[agents], waiting=[waiting], floor_rounds=0)
    plan = Floorplan(agents, s, lambda _msg: None)
    plan.grow(waiting)
    plan.warm_up(waiting)
    plan.start_cell(waiting)
    plain = measure(plan.driver, waiting, events, 60.0, s.freeze)
    profiler = cProfile.Profile()
    plan.driver.m = _Profiled(plan.engine, profiler)
    profiled = measure(plan.driver, waiting, events, 120.0, s.freeze)
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    own: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    total_calls = 0
    for func, (_cc, nc, tt, _ct, callers) in stats.items():
        total_calls += nc
        if func[0] == "~":  # a built-in: charged to its callers
            for caller, (_c, cnc, ctt, _cct) in callers.items():
                key = _group(_key(caller))
                own[key] += ctt
                calls[key] += cnc
            continue
        key = _group(_key(func))
        own[key] += tt
        calls[key] += nc
    cycles = plain.by_kind["complete"][0]
    pcycles = profiled.by_kind["complete"][0]
    plain_ns = plain.total_ns / cycles
    prof_ns = sum(own.values()) * 1e9 / pcycles
    per_call = (prof_ns - plain_ns) * pcycles / max(1, total_calls)
    rows = sorted(
        (
            (name, max(0.0, t * 1e9 / pcycles - calls[name] / pcycles * per_call))
            for name, t in own.items()
        ),
        key=lambda r: -r[1],
    )
    shown = sum(ns for _, ns in rows)
    lines = [
        f"engine at {agents:,} agents / {waiting:,} waiting: {plain_ns / 1000:.1f} us per cycle "
        f"plain ({plain.decisions / cycles:.2f} decisions per cycle); profiled "
        f"{prof_ns / 1000:.1f} us, less {per_call:.0f} ns per call x "
        f"{total_calls / pcycles:.0f} calls per cycle:",
    ]
    for name, ns in rows:
        lines.append(f"  {ns / 1000:6.2f} us  {100 * ns / shown:5.1f} %  {name}")
    return lines


def main(argv: list[str]) -> int:
    agents, waiting = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (2_000, 10_000)
    print("\n".join(breakdown(agents, waiting)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
