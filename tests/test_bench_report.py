"""``python -m benchmarks --write-results`` rewrites only its own sections of
RESULTS.md: the variance notes and the other benchmarks' results after them stay. The
tail target is judged at the big cell."""

from __future__ import annotations

from pathlib import Path

from benchmarks.dispatch import AgentsRun, Cell
from benchmarks.dispatch_measure import Sample
from benchmarks.report import TARGET_AGENTS, TARGET_WAITING, Verdict, kept_sections, verdicts


def test_the_sections_after_the_targets_are_kept(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(
        "# Benchmark results\n\n## Targets\n\n- PASS old figure\n\n"
        "## Run-to-run variance\n\nnotes\n\n# Redis mode\n\nfigures\n",
        encoding="utf-8",
    )
    kept = kept_sections(results)
    assert kept.startswith("\n## Run-to-run variance\n")
    assert kept.endswith("# Redis mode\n\nfigures\n")
    assert "old figure" not in kept


def test_nothing_is_kept_from_a_missing_or_foreign_file(tmp_path: Path) -> None:
    assert kept_sections(tmp_path / "absent.md") == ""
    other = tmp_path / "other.md"
    other.write_text("# Something else\n", encoding="utf-8")
    assert kept_sections(other) == ""


def _cell_with(latencies_us: list[float]) -> AgentsRun:
    ns = sorted(int(us * 1000) for us in latencies_us)
    sample = Sample(
        events=len(ns),
        decisions=len(ns),
        total_ns=sum(ns),
        sorted_ns=ns,
        by_kind={},
        offers=[],
        heads_mean=0.0,
        gc_pauses=((3, 0, 0), (1, 0, 0), (0, 0, 0)),
        wall_s=1.0,
        rounds=[],
        preempted=0,
    )
    cell = Cell(TARGET_AGENTS, TARGET_WAITING, sample, None, 0.0, 0, 0, 0, 0, None)
    return AgentsRun(TARGET_AGENTS, 1, 1, 0.0, sample, None, [cell])


def _p999(latencies_us: list[float]) -> Verdict:
    (found,) = [v for v in verdicts([_cell_with(latencies_us)]) if v.name.startswith("p99.9")]
    return found


def test_the_tail_target_passes_at_one_ms_and_misses_past_it() -> None:
    # 2,000 events: p99.9 is the slowest but two (1,998 events are at or below it).
    assert _p999([10.0] * 1997 + [1000.0, 5000.0, 9000.0]).passed is True
    missed = _p999([10.0] * 1997 + [1000.1, 5000.0, 9000.0])
    assert missed.passed is False
    assert "p99.9 1000.1 us over 2,000 events" in missed.detail
    assert "gen0 3, gen1 1, gen2 0" in missed.detail


def test_the_tail_target_is_not_judged_without_its_cell() -> None:
    (found,) = [v for v in verdicts([]) if v.name.startswith("p99.9")]
    assert found.passed is None
