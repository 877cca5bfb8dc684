"""Writes ``tests/data/engine-snapshot-<rev>.pickle.xz``: an engine snapshot as a Redis-mode leader
of git revision ``<rev>`` stores it, and every ``apply`` that revision made after it.

``tests/test_snapshot_upgrade.py`` loads the snapshot with the current code and replays
the same inputs, which must give the same decisions: an upgrade (stop every instance,
upgrade, start again) must be able to go on from what the old version stored. Run it
from a checkout of the old revision: ``python tests/data/make_engine_snapshot.py REV``.
"""

from __future__ import annotations

import lzma
import pickle
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from router.config.loader import load_region
from router.config.region import Region
from router.core.engine import Engine
from router.core.model import Channel, ContactSpec
from router.demo import contact_factory
from router.sim import Behaviour, Simulation
from router.store.codec import encode

Step = tuple[float, Any, Any]


def record_inputs(engine: Engine) -> list[Step]:
    """From now on, records every ``engine.apply``: (time, event, its decisions), or for
    a refused event ("refused", the error's type name, the decisions its timers made)."""
    steps: list[Step] = []
    apply = engine.apply

    def recording(now: float, event: Any) -> Any:
        try:
            out = apply(now, event)
        except Exception as exc:
            steps.append((now, event, ("refused", type(exc).__name__, exc.fired)))  # type: ignore[attr-defined]
            raise
        steps.append((now, event, out))
        return out

    engine.apply = recording  # type: ignore[method-assign]
    return steps


def busy_region(seed: int, patience_s: float) -> tuple[Region, Engine, Simulation]:
    """The sample region's engine and a simulation of it with everyone logged in, where a
    fifth of offers are declined (cool-downs) and customers give up after ``patience_s``
    on average: fed 2,400 contacts an hour, the queue holds contacts at every step, in
    every channel."""
    region = load_region("config/region.yaml")
    engine = Engine(region.policy())
    sim = Simulation(
        engine,
        seed=seed,
        behaviour=Behaviour(decline_share=0.2, patience_s={ch: patience_s for ch in Channel}),
    )
    sim.log_in_everyone()
    return region, engine, sim


def main(rev: str) -> None:
    region, engine, sim = busy_region(seed=5, patience_s=900.0)
    make = contact_factory(region)
    teams = sorted(region.teams)

    def with_teams(rnd: random.Random, n: int, t: float) -> ContactSpec:
        # Every fourth contact asks for a team (its service may start at the own team).
        spec = make(rnd, n, t)
        return replace(spec, preferred_team=teams[n % len(teams)]) if n % 4 == 0 else spec

    sim.arrivals(with_teams, per_hour=2400, until=2 * 3600)
    for _ in sim.run(until=3600):
        pass
    blob = encode({"engine": engine})
    waiting = len(engine.waiting())
    steps = record_inputs(engine)
    for _ in sim.run(until=3600 + 600):
        pass
    path = Path(__file__).with_name(f"engine-snapshot-{rev}.pickle.xz")
    path.write_bytes(lzma.compress(pickle.dumps({"blob": blob, "steps": steps}, protocol=5)))
    print(f"{path}: {waiting} waiting at the snapshot, {len(steps)} inputs after it")


if __name__ == "__main__":
    main(sys.argv[1])
