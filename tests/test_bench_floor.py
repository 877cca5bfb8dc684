"""The floor (``benchmarks/floor_matcher.py``) makes the engine's choices, offer by
offer, on a small workload, and the dispatch benchmark's report prints the engine/floor
ratios. Nothing here is timed: only choices and the report's lines are checked."""

from __future__ import annotations

import gc

import pytest

from benchmarks.dispatch import run
from benchmarks.dispatch_driver import Recorder
from benchmarks.dispatch_setup import Floorplan, Settings
from benchmarks.floor import FloorRun, _cost, compare
from benchmarks.report import FLOOR_CELLS, RETIRED_SPEEDUP, render
from benchmarks.workload import Shape


def _settings(shape: Shape | None = None) -> Settings:
    return Settings(
        agents=[40],
        waiting=[60],
        events=300,
        warmup=100,
        naive_events=300,
        naive_seconds=30.0,
        floor_rounds=3,
        floor_cycles=40,
        shape=shape or Shape(),
    )


def _floor_run(shape: Shape, waiting: int) -> FloorRun:
    s = _settings(shape)
    plan = Floorplan(40, s, lambda _msg: None)
    try:
        plan.grow(waiting)
        plan.warm_up(waiting)
        return compare(plan, waiting, rounds=3, cycles=40, freeze=False)
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("shape", "waiting"),
    [(Shape(), 60), (Shape(), 3), (Shape(chat_share=0.5), 60)],
    ids=["calls", "calls-idle-agents", "calls-and-chats"],
)
def test_the_floor_makes_the_engines_offers_in_the_same_order(shape: Shape, waiting: int) -> None:
    """Short queues leave agents idle, so arrivals choose among available agents; long
    ones make completions choose among waiting contacts."""
    result = _floor_run(shape, waiting)
    assert result.first_difference is None
    assert result.compared > 40  # offers were made and compared in every round
    assert len(result.engine) == len(result.floor) == 3
    # The same events on both sides: the same number of events and of decisions.
    for e, f in zip(result.engine, result.floor, strict=True):
        assert (e.events, e.decisions) == (f.events, f.decisions)


def test_the_report_prints_the_floor_ratios_and_retires_the_naive_target() -> None:
    s = _settings()
    try:
        runs = run(s)
    finally:
        gc.enable()
    cell = runs[0].cells[0]
    assert cell.floor is not None
    # Stand the small cell in for a target cell, so its verdict lines carry figures.
    agents, waiting = FLOOR_CELLS[-1]
    cell.agents, cell.waiting = agents, waiting
    text = render(s, runs)
    lines = text.splitlines()
    mean = next(ln for ln in lines if "the floor's mean cost per decision at 2,000 agents" in ln)
    p99 = next(ln for ln in lines if "the floor's p99 per event at 2,000 agents" in ln)
    for line in (mean, p99):
        assert line.startswith(("PASS", "MISS"))
        assert "x (rounds " in line and "of 3 round pairs, " in line
    assert "PASS  the floor makes the engine's choices" in text
    assert "PASS  the naive matcher makes the engine's choices" in text
    assert RETIRED_SPEEDUP in lines
    assert not any(ln.startswith(("PASS", "MISS")) and ">= 500x" in ln for ln in lines)
    table = lines.index(next(ln for ln in lines if ln.lstrip().startswith("agents  waiting")))
    assert "mean ratio" in next(ln for ln in lines[table:] if "mean ratio" in ln)
    assert "steady ratio" in next(ln for ln in lines[table:] if "mean ratio" in ln)


def test_the_steady_cost_leaves_out_the_slowest_hundredth_of_events_and_adds_gc_back() -> None:
    # 200 events of 1 us and two preempted ones of 5 ms; one collector pause of 3 ms.
    rec = Recorder(lat=([1_000] * 150, [5_000_000, 5_000_000], [1_000] * 50), decisions=100)
    rec.total_ns = sum(sum(kind) for kind in rec.lat)
    cost = _cost(rec, [3_000_000], preempted=2)
    assert cost.metric("mean") == pytest.approx(rec.total_ns / 100)
    assert cost.metric("steady") == pytest.approx((200 * 1_000 + 3_000_000) / 100)
