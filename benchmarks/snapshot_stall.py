"""``python -m benchmarks.snapshot_stall``: how long a Redis-mode snapshot stops the
leader's event loop, pickled on the loop against pickled in a forked child.

The engine of the dispatch benchmark (2,000 agents, every one busy) is grown to each
queue length and put under a ``ReplicatedRuntime`` on the memory store, holding the lease.
While ``snapshot()`` runs, a ticker task sleeps 1 ms at a time and records the longest
gap between its turns: the time the loop could not answer a webhook or send an offer.
Bounded: three snapshots per way per queue length. Also reported: the snapshot's size and
how long a new leader takes to load it (decode on the loop; it happens once, at start or
after a trim). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from dataclasses import replace

import uvloop

from benchmarks.dispatch_setup import Floorplan, Settings
from router.service.forked import can_fork
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.store.codec import decode
from router.store.memory import MemoryStore

ROUNDS = 3


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def stalls(runtime: ReplicatedRuntime) -> tuple[float, float]:
    """One snapshot: (its wall time, the longest gap between the ticker's turns), in s."""
    loop = asyncio.get_running_loop()
    longest = 0.0
    done = False

    async def tick() -> None:
        nonlocal longest
        while not done:
            before = loop.time()
            await asyncio.sleep(0.001)
            longest = max(longest, loop.time() - before - 0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    saved = await runtime.snapshot()
    wall = time.perf_counter() - started
    done = True
    await ticker
    if not saved:
        raise RuntimeError("the snapshot was not saved")
    return wall, longest


async def measure(plan: Floorplan, waiting: int) -> list[str]:
    store = MemoryStore()
    runtime = ReplicatedRuntime(plan.engine, store, settings=ReplicaSettings())
    fence = await store.acquire(runtime.instance, 3_600_000)
    assert fence is not None
    runtime.fence = fence
    rows = []
    ways = [("event loop", False)] + ([("forked child", True)] if can_fork() else [])
    for name, fork in ways:
        runtime.settings = replace(runtime.settings, fork_snapshots=fork)
        walls, gaps = [], []
        for n in range(ROUNDS):
            wall, gap = await stalls(runtime)
            walls.append(wall)
            gaps.append(gap)
            log(f"  {waiting:,} waiting, {name}, round {n + 1}: {wall * 1000:.0f} ms, "
                f"loop stopped up to {gap * 1000:.1f} ms")  # fmt: skip
        snapshot = await store.load_snapshot()
        assert snapshot is not None
        started = time.perf_counter()
        decode(snapshot.blob)
        load_s = time.perf_counter() - started
        rows.append(
            f"{waiting:>8,}  {name:<12}  {len(snapshot.blob) / 1e6:>6.1f}  "
            f"{statistics.median(walls) * 1000:>9.0f}  {statistics.median(gaps) * 1000:>10.1f}  "
            f"{max(gaps) * 1000:>8.1f}  {load_s * 1000:>7.0f}"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.snapshot_stall", description=__doc__)
    p.add_argument("--waiting", type=int, nargs="+", default=[20_000, 100_000])
    p.add_argument("--agents", type=int, default=2_000)
    args = p.parse_args(argv)
    s = Settings(agents=[args.agents], waiting=args.waiting)
    plan = Floorplan(args.agents, s, lambda msg: log(f"[{args.agents} agents] {msg}"))
    rows = []
    for waiting in sorted(args.waiting):
        plan.grow(waiting)
        gc.collect()
        gc.freeze()  # as the service does after loading
        gc.enable()
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            rows += runner.run(measure(plan, waiting))
    print(
        f"Snapshot stall: {args.agents:,} agents all busy, the queue grown to each length; "
        f"{ROUNDS} snapshots per way; medians (max gap: worst of the rounds)"
    )
    print(" waiting  captured on    MB  wall ms  loop gap ms  max gap  load ms")
    print("-" * 70)
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
