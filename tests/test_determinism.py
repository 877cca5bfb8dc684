"""Redis mode recomputes decisions on every instance, so the engine must decide the same
in every process — not only on a replay within one. Python randomises string hashing per
process: any decision that hung on the iteration order of a set or dict of strings would
differ between instances. Two processes with different hash seeds must agree exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import hashlib, pickle
from router.demo import contact_factory
from router.config.loader import load_region
from router.core.engine import Engine
from router.sim import Simulation

region = load_region("config/region.yaml")
engine = Engine(region.policy())
sim = Simulation(engine, seed=11)
sim.log_in_everyone()
sim.arrivals(contact_factory(region), per_hour=1500, until=3 * 3600)
digest = hashlib.sha256()
count = 0
for t, decision in sim.run(until=4 * 3600):
    digest.update(repr((t, decision)).encode())
    count += 1
# A snapshot restored in another process must go on deciding the same, too.
print(count, digest.hexdigest(), hashlib.sha256(pickle.dumps(engine.waiting())).hexdigest())
"""


def run(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, check=True
    )
    return out.stdout.decode().strip()


def test_two_processes_with_different_hash_seeds_take_the_same_decisions() -> None:
    first, second = run("1"), run("4242")
    count = int(first.split()[0])
    assert count > 10_000  # a busy few hours: offers, declines, widening, overflow
    assert first == second
