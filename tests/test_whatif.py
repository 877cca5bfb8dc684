"""``yhteys simulate``: the real engine in virtual time against queueing theory, and the
command's input and output."""

from __future__ import annotations

import argparse
import json
import random
import statistics
from typing import Any

import pytest

from router.cli import main
from router.staffing.erlang import Result, erlang_a_result, erlang_c_result
from router.whatif.model import Distribution, WhatIfError

# One service, FIFO, no wrap-up, 14 identical agents: M/M/14 (and M/M/14+M with patience).
MMC = "tests/data/mmc-region.yaml"


def _simulate(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    argv = ["simulate", "--config", MMC, "--rate", "advice=200", "--handle-s", "exp:180"]
    assert main([*argv, "--format", "json", *args]) == 0
    captured = capsys.readouterr()
    assert "simulate: replication" in captured.err  # the progress line
    doc: dict[str, Any] = json.loads(captured.out)["services"]["advice"]
    return doc


def _within(sim: dict[str, Any], figure: str, expected: float) -> None:
    mean, ci = sim[figure]["mean"], sim[figure]["ci95"]
    assert abs(mean - expected) <= ci, f"{figure}: simulated {mean:.4f} ± {ci:.4f}, {expected:.4f}"


def _check_against(sim: dict[str, Any], theory: Result) -> None:
    _within(sim, "sl_all", theory.sl_all)
    _within(sim, "sl_answered", theory.sl_answered)
    _within(sim, "asa_s", theory.asa_s)
    _within(sim, "abandoned", theory.p_abandon)
    _within(sim, "occupancy", theory.occupancy)


def test_simulate_mmc_agrees_with_erlang_c(capsys: pytest.CaptureFixture[str]) -> None:
    # 200 calls/h × 180 s = 10 Erlangs on 14 agents: SL20 0.888, ASA 7.8 s, occupancy 0.714.
    sim = _simulate(capsys, "--replications", "10", "--hours", "6")
    _check_against(sim, erlang_c_result(14, 200 / 3600, 180.0, 20.0))
    assert sim["abandoned"]["mean"] == 0.0


def test_simulate_mmc_with_patience_agrees_with_erlang_a(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = _simulate(capsys, "--replications", "10", "--hours", "6", "--patience", "exp:300")
    theory = erlang_a_result(14, 200 / 3600, 180.0, 20.0, 300.0)
    _check_against(sim, theory)
    assert sim["abandoned"]["mean"] > 0
    assert sim["sl_answered"]["mean"] > sim["sl_all"]["mean"]


@pytest.mark.slow
@pytest.mark.parametrize("patience", [None, 120.0, 600.0])
def test_simulate_long_run_agrees_with_erlang(
    capsys: pytest.CaptureFixture[str], patience: float | None
) -> None:
    extra = ["--patience", f"exp:{patience}"] if patience else []
    sim = _simulate(capsys, "--replications", "30", "--hours", "24", "--seed", "11", *extra)
    theory = (
        erlang_a_result(14, 200 / 3600, 180.0, 20.0, patience)
        if patience
        else erlang_c_result(14, 200 / 3600, 180.0, 20.0)
    )
    _check_against(sim, theory)


def test_simulate_table_names_both_service_levels(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--rate", "nursing_advice=60", "--rate", "oral_health/chat/sv=10"]
    assert main([*argv, "--replications", "2", "--hours", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "SL20 of all" in lines[0] and "SL20 answered" in lines[0]
    assert "p90 wait s" in lines[0] and "abandoned" in lines[0] and "occupancy" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["nursing_advice", "oral_health", "all"]
    assert "±" in lines[1]
    assert captured.err == ""  # --quiet


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "advice"], "expected SERVICE[/CHANNEL[/LANGUAGE]][@SITE]=PER_HOUR"),
        (["--rate", "advice=-3"], "--rate advice: expected contacts per hour from 0 to 100,000"),
        (["--rate", "advice=1e9"], "per hour from 0 to 100,000, got '1e9'"),
        (["--rate", "advice=3", "--handle", "nope=exp:300"], "--handle: no service 'nope'"),
        (["--rate", "advice/fax=3"], "expected a channel (voice, "),
        (["--rate", "advice/voice/de=3"], "expected a language of the region (fi), got 'de'"),
        (["--rate", "nursing=3"], "no service 'nursing' in the region; expected one of advice"),
        (["--rate", "advice=3", "--handle-s", "gamma:3"], "expected a distribution such as"),
        (["--rate", "advice=3", "--handle", "advice"], "expected SERVICE[/CHANNEL]=DISTRIBUTION"),
        (["--rate", "advice=3", "--replications", "0"], "expected at least 1 replication"),
        (["--rate", "advice=3", "--hours", "0"], "--hours: expected hours > 0"),
    ],
)
def test_simulate_bad_input_says_what_was_expected(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["simulate", "--config", MMC, "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yhteys simulate: ") and message in err


def test_distributions() -> None:
    rnd = random.Random(1)
    assert Distribution.parse("det:90").draw(rnd) == 90.0
    assert Distribution.parse("exp:0").draw(rnd) == 0.0
    assert Distribution.parse("lognormal:0:0.5").draw(rnd) == 0.0
    draws = [Distribution.parse("lognormal:300:0.5").draw(rnd) for _ in range(20000)]
    assert statistics.fmean(draws) == pytest.approx(300, rel=0.03)
    assert statistics.stdev(draws) / statistics.fmean(draws) == pytest.approx(0.5, rel=0.05)
    expo = [Distribution.parse("240").draw(rnd) for _ in range(20000)]
    assert statistics.fmean(expo) == pytest.approx(240, rel=0.03)
    with pytest.raises(WhatIfError, match="expected a lognormal cv > 0"):
        Distribution.parse("lognormal:300:0")


def test_every_simulate_option_has_help() -> None:
    from router.whatif import command  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in sub.choices["simulate"]._actions:
        assert action.help, f"{action.option_strings} has no help"


def test_simulate_warns_of_streams_nobody_can_serve(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--rate", "oral_health/voice/en=10", "--rate", "nursing_advice=30"]
    assert main([*argv, "--replications", "1", "--hours", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "yhteys simulate: warning: nobody on the roster can serve oral_health by voice in en: "
        "those contacts count as not answered\n"
    )
    row = next(line for line in captured.out.splitlines() if line.startswith("oral_health"))
    assert row.split()[2] == "0.0"  # SL of all: none answered
