"""The simulator benchmark's verdict on issue 14's target (at least ciw's contacts per CPU
second): the median of the within-round ratios, and only when both sides did the same
work."""

from __future__ import annotations

from benchmarks.sim_vs_ciw import Rounds
from benchmarks.sim_vs_ciw_report import verdict
from benchmarks.sim_vs_ciw_sides import Outcome, Workload


def _rounds(sim_cpu: list[float], sim_wait: float = 3.6) -> Rounds:
    r = Rounds(Workload(), 1)
    r.outcomes["ciw"] = [Outcome("ciw", i, 20_000, 1.0, 3.6, 0.024) for i in range(3)]
    r.outcomes["sim"] = [
        Outcome("sim", i, 20_000, cpu, sim_wait, 0.024) for i, cpu in enumerate(sim_cpu)
    ]
    return r


def test_the_median_round_decides() -> None:
    # Ratios 1.25, 0.95, 1.05: the median 1.05 meets the target despite one slow round.
    line = verdict(_rounds([0.8, 1 / 0.95, 1 / 1.05]))[0]
    assert line.startswith("PASS")
    assert "1.05 (0.95–1.25)x over 3 rounds" in line


def test_a_slower_simulator_misses() -> None:
    assert verdict(_rounds([1.1, 1.2, 1.05]))[0].startswith("MISS")


def test_a_faster_simulator_that_computes_something_else_misses() -> None:
    line = verdict(_rounds([0.5, 0.5, 0.5], sim_wait=60.0))[0]
    assert line.startswith("MISS") and "not the same work" in line
