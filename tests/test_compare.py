"""``yhteys compare``: islands vs one pool against Erlang C, evening partner cover on the
sample region, the reports, and what bad input is told."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest

from router.cli import main
from router.staffing.erlang import erlang_c_result
from router.whatif import compare_command

# Three sites of five single-skill agents each: islands are M/M/5 ×3, the pool M/M/15.
ISLANDS = "tests/data/islands-region.yaml"


def _pooling(tmp_path: Path, *args: str) -> dict[str, dict[str, tuple[float, float]]]:
    out = tmp_path / "pooling.csv"
    argv = ["compare", "pooling", "--config", ISLANDS, "--rate", "advice=210"]
    assert main([*argv, "--handle-s", "exp:180", "--quiet", "--out", str(out), *args]) == 0
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        row["variant"]: {
            k: (float(row[k]), float(row[f"{k}_ci95"]))
            for k in ("sl_all", "sl_answered", "asa_s", "occupancy")
        }
        for row in rows
    }


def _within(figures: dict[str, tuple[float, float]], figure: str, expected: float) -> None:
    mean, ci = figures[figure]
    assert abs(mean - expected) <= ci, f"{figure}: simulated {mean:.4f} ± {ci:.4f}, {expected:.4f}"


def _check_erlang_ordering(result: dict[str, dict[str, tuple[float, float]]]) -> None:
    # 70 calls/h per site × 180 s = 3.5 Erlangs on each 5-agent island; 10.5 on 15 pooled.
    island = erlang_c_result(5, 70 / 3600, 180.0, 20.0)
    pool = erlang_c_result(15, 210 / 3600, 180.0, 20.0)
    assert pool.sl_all > island.sl_all  # theory: 0.914 against 0.680
    for label, theory in (("islands", island), ("pool", pool)):
        _within(result[label], "sl_all", theory.sl_all)
        _within(result[label], "sl_answered", theory.sl_answered)
        _within(result[label], "asa_s", theory.asa_s)
        _within(result[label], "occupancy", theory.occupancy)
    # The pool is strictly better: the intervals do not even touch.
    pool_low = result["pool"]["sl_all"][0] - result["pool"]["sl_all"][1]
    islands_high = result["islands"]["sl_all"][0] + result["islands"]["sl_all"][1]
    assert pool_low > islands_high


def test_pooling_reproduces_erlang_c_ordering(tmp_path: Path) -> None:
    result = _pooling(tmp_path, "--replications", "8", "--hours", "3", "--warmup-min", "30")
    _check_erlang_ordering(result)


@pytest.mark.slow
def test_pooling_long_run_agrees_with_erlang_c(tmp_path: Path) -> None:
    result = _pooling(tmp_path, "--replications", "30", "--hours", "24", "--seed", "7")
    _check_erlang_ordering(result)


def test_pooling_table_and_markdown_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "pooling.md"
    argv = ["compare", "pooling", "--config", ISLANDS, "--rate", "advice=210"]
    args = ["--handle-s", "exp:180", "--own-site-s", "30", "--replications", "3", "--hours", "1"]
    assert main([*argv, *args, "--out", str(report)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "SL20 of all" in lines[0] and "SL20 answered" in lines[0]
    assert "mean wait s" in lines[0] and "p90 wait s" in lines[0]
    assert "abandoned" in lines[0] and "occupancy" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["islands", "pool", "own"]
    assert lines[3].startswith("own site 30 s") and "±" in lines[1]
    assert lines[4].startswith("gain of 'pool' over 'islands': SL20 of all +")
    assert "compare: islands: replication 3/3" in captured.err  # the progress line
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Islands vs one pool: Islands check")
    assert "advice@centre 70/h, advice@north 70/h, advice@south 70/h" in text
    assert "| variant | arrivals | SL20 of all | SL20 answered |" in text
    assert "| own site 30 s | " in text


def test_cover_gains_evening_service_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The sample's Monday 16-22 cover by keski-pohjanmaa (2 nurses) for 3 own nurses.
    report = tmp_path / "cover.csv"
    argv = ["compare", "cover", "--rate", "nursing_advice=40", "--patience", "exp:180"]
    args = ["--own-staff", "3", "--replications", "5", "--quiet", "--out", str(report)]
    assert main([*argv, *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["alone", "with"]
    assert lines[3].startswith("gain of 'with cover' over 'alone': SL20 of all +")
    with report.open(encoding="utf-8") as f:
        rows = {row["variant"]: row for row in csv.DictReader(f)}
    alone, cover = rows["alone"], rows["with cover"]
    assert float(alone["arrivals"]) == float(cover["arrivals"])  # the same demand
    # 6 h measured at 40/h: about 240 arrivals.
    assert 180 < float(alone["arrivals"]) < 300
    gain = float(cover["sl_all"]) - float(alone["sl_all"])
    assert gain > float(cover["sl_all_ci95"]) + float(alone["sl_all_ci95"])
    assert float(cover["abandoned"]) < float(alone["abandoned"])


def test_cover_measures_the_days_cover_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Saturday's cover is 10-18: 8 hours measured; own staff given by id.
    report = tmp_path / "sat.csv"
    argv = ["compare", "cover", "--rate", "nursing_advice=30", "--day", "2027-01-09"]
    args = ["--own-staff", "a001,a002", "--replications", "2", "--quiet", "--out", str(report)]
    assert main([*argv, *args]) == 0
    with report.open(encoding="utf-8") as f:
        rows = {row["variant"]: row for row in csv.DictReader(f)}
    # 8 h of Saturday cover at 30/h.
    assert 180 < float(rows["alone"]["arrivals"]) < 300
    assert float(rows["with cover"]["sl_all"]) >= float(rows["alone"]["sl_all"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["pooling", "--config", ISLANDS, "--rate", "advice=3", "--own-site-s", "0"],
            "--own-site-s: expected seconds > 0, got 0",
        ),
        (
            ["pooling", "--config", ISLANDS, "--rate", "advice@east=3"],
            "expected a site with agents (centre, north, south), got 'east'",
        ),
        (
            ["pooling", "--config", ISLANDS, "--rate", "advice@=3"],
            "--rate: expected a site after '@', got 'advice@=3'",
        ),
        (
            ["pooling", "--config", ISLANDS, "--rate", "advice=3", "--hours", "0"],
            "--hours: expected hours > 0",
        ),
        (
            ["pooling", "--config", ISLANDS, "--rate", "nursing=3"],
            "no service 'nursing' in the region; expected one of advice",
        ),
        (
            ["cover", "--config", ISLANDS, "--rate", "advice=3"],
            "--agreement: expected the name of one of the region's partner agreements "
            "(it has none)",
        ),
        (
            ["cover", "--rate", "nursing_advice=3", "--agreement", "soite"],
            "expected one of the region's partner agreements (keski-pohjanmaa), got 'soite'",
        ),
        (
            ["cover", "--rate", "nursing_advice=3", "--day", "2027-01-12"],
            "--day: expected a day on which keski-pohjanmaa's cover opens; on 2027-01-12 it "
            "does not (next opening: Wed 2027-01-13 16:00)",
        ),
        (
            ["cover", "--rate", "nursing_advice=3", "--day", "monday"],
            "--day: expected a date YYYY-MM-DD, got 'monday'",
        ),
        (
            ["cover", "--rate", "nursing_advice=3", "--own-staff", "999"],
            "--own-staff: expected at most ",
        ),
        (
            ["cover", "--rate", "nursing_advice=3", "--own-staff", "a001,zz9"],
            "--own-staff: expected a number or the ids of the region's own agents "
            "(comma-separated), got zz9",
        ),
    ],
)
def test_compare_bad_input_says_what_was_expected(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["compare", *args, "--quiet", "--replications", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"yhteys compare {args[0]}: "), err
    assert message in err, err


def test_compare_report_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "report.md"
    argv = ["compare", "pooling", "--config", ISLANDS, "--rate", "advice=30", "--quiet"]
    assert main([*argv, "--replications", "1", "--hours", "0.5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yhteys compare pooling: --out: expected a file that can be written")


def test_every_compare_option_has_help() -> None:
    parser = argparse.ArgumentParser()
    compare_command.add_parser(parser.add_subparsers())
    compare = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[
        "compare"
    ]
    kinds = next(a for a in compare._actions if isinstance(a, argparse._SubParsersAction))
    assert set(kinds.choices) == {"pooling", "cover"}
    for name, sub in kinds.choices.items():
        for action in sub._actions:
            assert action.help, f"compare {name} {action.option_strings} has no help"
