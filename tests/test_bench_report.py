"""``python -m benchmarks --write-results`` rewrites only its own sections of
RESULTS.md: the variance notes and the other benchmarks' results after them stay."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import kept_sections


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
