"""The Erlang C / Erlang A calculator and the ``yhteys staffing`` command."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from router.cli import main
from router.staffing import plan
from router.staffing.erlang import (
    StaffingError,
    erlang_a_result,
    erlang_b,
    erlang_c,
    erlang_c_result,
)
from router.staffing.plan import Interval, Target, agents_needed, scheduled

# ---------------------------------------------------------------- Erlang B / C


def test_erlang_c_published_values() -> None:
    # A = 10 Erlangs, N = 14, AHT 180 s (e.g. the Erlang C tables): P(wait) 0.1741,
    # SL(20 s) = 1 - 0.1741·exp(-(14-10)·20/180) = 0.8884, ASA = 0.1741·180/4 = 7.84 s.
    r = erlang_c_result(14, 10 / 180, 180.0, 20.0)
    assert round(r.p_wait, 4) == 0.1741
    assert round(r.sl_all, 4) == 0.8884 == round(r.sl_answered, 4)
    assert round(r.asa_s, 2) == 7.84
    assert r.occupancy == pytest.approx(10 / 14)
    assert r.p_abandon == 0.0
    # Erlang B, the classic table value: B(10, 10) = 0.2146.
    assert round(erlang_b(10, 10.0), 4) == 0.2146


def _erlang_b_log_space(n: int, load: float) -> float:
    """Independent: A^N/N! / Σ A^k/k! summed in log space with lgamma."""
    logs = [k * math.log(load) - math.lgamma(k + 1) for k in range(n + 1)]
    top = max(logs)
    return math.exp(logs[-1] - top) / math.fsum(math.exp(x - top) for x in logs)


@pytest.mark.parametrize(("n", "load"), [(14, 10.0), (300, 280.0), (2000, 1950.0)])
def test_erlang_b_is_stable_for_hundreds_of_agents(n: int, load: float) -> None:
    assert erlang_b(n, load) == pytest.approx(_erlang_b_log_space(n, load), rel=1e-9)
    c = erlang_c(n, load)
    assert 0.0 < c < 1.0


def test_erlang_c_unstable_load_is_said_so() -> None:
    r = erlang_c_result(10, 12 / 180, 180.0, 20.0)
    assert not r.stable and r.p_wait == 1.0 and r.sl_all == 0.0


# ---------------------------------------------------------------- Erlang A


def _chain(n: int, lam: float, mu: float, theta: float) -> list[float]:
    """Independent: the truncated M/M/N+M birth-death chain, normalised from state 0
    (detailed balance π(k+1)·death(k+1) = π(k)·λ), 4000 states."""
    pi = [1.0]
    for k in range(1, 4000):
        death = min(k, n) * mu + max(0, k - n) * theta
        pi.append(pi[-1] * lam / death)
    total = math.fsum(pi)
    return [p / total for p in pi]


def _answered_within_ode(
    pi: list[float], n: int, mu: float, theta: float, t: float, steps: int = 500
) -> float:
    """Independent: integrates the tagged caller's chain (k ahead; advance at Nμ + kθ,
    answered from 0 at Nμ, lost at θ) with RK4, started from the arrival distribution."""
    queue = [p for p in pi[n:] if p > 1e-18]  # the negligible tail dropped
    size = len(queue)
    nmu = n * mu

    def deriv(v: list[float]) -> tuple[list[float], float]:
        dv = [-(nmu + (k + 1) * theta) * v[k] for k in range(size)]
        for k in range(1, size):
            dv[k - 1] += (nmu + k * theta) * v[k]
        return dv, nmu * v[0]

    v, served, h = list(queue), 0.0, t / steps
    for _ in range(steps):
        k1, s1 = deriv(v)
        k2, s2 = deriv([a + h / 2 * b for a, b in zip(v, k1, strict=True)])
        k3, s3 = deriv([a + h / 2 * b for a, b in zip(v, k2, strict=True)])
        k4, s4 = deriv([a + h * b for a, b in zip(v, k3, strict=True)])
        v = [
            a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
            for a, b1, b2, b3, b4 in zip(v, k1, k2, k3, k4, strict=True)
        ]
        served += h / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
    return served


@pytest.mark.parametrize(
    ("n", "per_hour", "aht", "patience"),
    [(14, 200.0, 180.0, 180.0), (8, 120.0, 300.0, 60.0), (10, 160.0, 240.0, 600.0)],
)
def test_erlang_a_matches_the_truncated_birth_death_chain(
    n: int, per_hour: float, aht: float, patience: float
) -> None:
    lam, mu, theta = per_hour / 3600, 1 / aht, 1 / patience
    pi = _chain(n, lam, mu, theta)
    queue_mean = math.fsum(max(0, k - n) * p for k, p in enumerate(pi))
    r = erlang_a_result(n, lam, aht, 20.0, patience)
    assert r.p_wait == pytest.approx(math.fsum(pi[n:]), rel=1e-9)
    # Abandonment by rate (θ·E[queue]/λ), which the module computes per caller instead.
    assert r.p_abandon == pytest.approx(theta * queue_mean / lam, rel=1e-9)
    assert r.mean_wait_s == pytest.approx(queue_mean / lam, rel=1e-9)
    within = _answered_within_ode(pi, n, mu, theta, 20.0)
    assert r.sl_all == pytest.approx(1 - math.fsum(pi[n:]) + within, abs=1e-7)
    assert r.sl_answered == pytest.approx(r.sl_all / (1 - r.p_abandon), rel=1e-9)
    busy = math.fsum(min(k, n) * p for k, p in enumerate(pi))
    assert r.occupancy == pytest.approx(busy / n, rel=1e-9)


@pytest.mark.parametrize(("n", "load"), [(14, 10.0), (120, 110.0)])
def test_erlang_a_with_endless_patience_is_erlang_c(n: int, load: float) -> None:
    aht = 180.0
    c = erlang_c_result(n, load / aht, aht, 20.0)
    a = erlang_a_result(n, load / aht, aht, 20.0, 1e9)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-5)
    assert a.sl_all == pytest.approx(c.sl_all, rel=1e-5)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert a.p_abandon < 1e-6
    assert erlang_a_result(n, load / aht, aht, 20.0, math.inf) == c


def test_erlang_a_is_stable_when_overloaded_with_hundreds_of_agents() -> None:
    # 310 Erlangs on 300 agents: Erlang C has no steady state, Erlang A does.
    r = erlang_a_result(300, 310 / 300, 300.0, 20.0, 600.0)
    assert r.stable and 0 < r.p_abandon < 0.1 and 0 < r.sl_all < r.sl_answered < 1
    assert math.isfinite(r.asa_s)


# ---------------------------------------------------------------- agents needed


@pytest.mark.parametrize("patience", [math.inf, 180.0])
@pytest.mark.parametrize(("per_hour", "aht"), [(120.0, 300.0), (20.0, 180.0), (6000.0, 300.0)])
def test_agents_needed_is_the_fewest_that_meet_the_target(
    per_hour: float, aht: float, patience: float
) -> None:
    interval = Interval("x", per_hour, 3600.0, aht, patience)
    target = Target(0.8, 20.0)
    r = agents_needed(interval, target)
    assert target.met(r)
    if r.agents > 1:
        fewer = erlang_a_result(r.agents - 1, per_hour / 3600, aht, 20.0, patience)
        assert not target.met(fewer)


def test_maximum_abandonment_target() -> None:
    r = agents_needed(Interval("x", 120.0, 3600.0, 300.0, 180.0), Target(None, 20.0, 0.02))
    assert r.p_abandon <= 0.02
    assert erlang_a_result(r.agents - 1, 120 / 3600, 300.0, 20.0, 180.0).p_abandon > 0.02


def test_shrinkage_rounds_up() -> None:
    assert scheduled(14, 0.3) == 20  # 14 / 0.7 = 20 exactly
    assert scheduled(13, 0.3) == 19  # 18.57 -> 19
    assert scheduled(13, 0.0) == 13
    with pytest.raises(StaffingError, match="shrinkage"):
        scheduled(13, 1.0)


# ---------------------------------------------------------------- the command


def test_staffing_command_constant_rate(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staffing", "--arrivals-per-hour", "120", "--aht-s", "300", "--format", "json"]
    assert main([*argv, "--target", "0.8/20"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["intervals"]
    # A = 120·300/3600 = 10 Erlangs: 14 agents give SL20 = 0.8666 (13: 0.7, short).
    assert row["agents"] == 14 and row["load_erlangs"] == 10.0
    assert row["sl_all"] == 0.8666 and row["p_wait"] == 0.1741
    assert main([*argv, "--patience-s", "180", "--shrinkage", "0.3"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["intervals"]
    assert row["agents"] == 13 and row["scheduled"] == 19 and row["p_abandon"] > 0
    assert row["sl_answered"] > row["sl_all"]


def test_staffing_command_forecast_table_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forecast = tmp_path / "day.csv"
    forecast.write_text("interval,arrivals,aht_s\n08:00,60,300\n08:30,90,300\n09:00,0,300\n")
    base = ["staffing", "--forecast", str(forecast), "--aht-s", "240"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "SL20 all" in out and "SL20 ans" in out and "08:30" in out
    assert "agent-hours:" in out
    assert main([*base, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("interval,arrivals,load_erlangs,agents,scheduled")
    # 60 arrivals in 30 minutes at 300 s = 10 Erlangs -> 14 agents
    assert lines[1].split(",")[3] == "14"
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            "interval,arrivals\n08:00,60\n08:30,many\n",
            [],
            "day.csv:3:2 (arrivals): expected a number >= 0, got 'many'",
        ),
        ("interval,arrivals\n08:00,60,7\n", [], "day.csv:2: expected 2 columns, got 3"),
        ("time,calls\n08:00,60\n", [], "day.csv:1: expected columns interval and arrivals"),
        (
            "interval,arrivals,aht_s\n08:00,60,0\n",
            [],
            "day.csv:2:3 (aht_s): expected a number > 0, got '0'",
        ),
        ("interval,arrivals\n", [], "day.csv: no intervals after the header"),
        ("interval,arrivals\n08:00,60\n", ["--target", "1.2/20"], "expected a share between"),
        ("interval,arrivals\n08:00,60\n", ["--target", "80/20"], "got '80'"),
        ("interval,arrivals\n08:00,60\n", ["--target", "0.8"], "expected SHARE/SECONDS"),
        ("interval,arrivals\n08:00,60\n", ["--max-abandon", "0.05"], "needs --patience-s"),
        ("interval,arrivals\n08:00,60\n", ["--shrinkage", "1"], "shrinkage"),
    ],
)
def test_staffing_command_bad_input_says_where_and_what(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    args: list[str],
    message: str,
) -> None:
    forecast = tmp_path / "day.csv"
    forecast.write_text(content)
    assert main(["staffing", "--forecast", str(forecast), "--aht-s", "300", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yhteys staffing: ") and message in err


def test_staffing_command_needs_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staffing", "--aht-s", "300"]) == 2
    assert "exactly one of --arrivals-per-hour and --forecast" in capsys.readouterr().err
    assert main(["staffing", "--aht-s", "300", "--forecast", "no/such.csv"]) == 2
    assert "no/such.csv: cannot read" in capsys.readouterr().err


def test_every_staffing_option_has_help() -> None:
    from router.staffing import command  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    staffing = sub.choices["staffing"]
    for action in staffing._actions:
        assert action.help, f"{action.option_strings} has no help"


def test_erlang_a_extreme_loads_stay_finite() -> None:
    # Many agents, little load: 1/B(1000, 10) is beyond any float (it used to divide by 0).
    idle = erlang_a_result(1000, 10 / 300, 300.0, 20.0, 60.0)
    assert idle.p_wait == 0.0 and idle.sl_all == 1.0 and idle.occupancy == pytest.approx(0.01)
    # One agent, 500 Erlangs, patient callers: the queue terms reach e^6000 unscaled.
    swamped = erlang_a_result(1, 500 / 300, 300.0, 20.0, 3600.0)
    assert swamped.p_wait == pytest.approx(1.0) and swamped.p_abandon == pytest.approx(0.998)
    # Little: abandonment rate θ·E[queue] = λ·P(abandon).
    assert swamped.p_abandon == pytest.approx(swamped.mean_wait_s / 3600.0, rel=1e-9)


def test_staffing_thousands_of_agents_with_long_patience(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["staffing", "--arrivals-per-hour", "20000", "--aht-s", "600", "--format", "json"]
    assert main([*argv, "--patience-s", "100000"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["intervals"]
    assert row["load_erlangs"] == pytest.approx(3333.3333)
    assert 3334 <= row["agents"] < 3400 and row["sl_all"] >= 0.8


@pytest.mark.parametrize("patience", [math.inf, 180.0])
@pytest.mark.parametrize(
    ("target", "over_answered"), [(Target(0.8, 20.0), False), (Target(0.8, 20.0, None, True), True)]
)
def test_a_load_past_the_most_agents_is_refused_at_once(
    patience: float, target: Target, over_answered: bool
) -> None:
    # 1e12 contacts an hour: the search used to evaluate N = A + 1 (billions) first.
    interval = Interval("09:00", 1e12, 3600.0, 300.0, patience)
    with pytest.raises(StaffingError, match="Erlangs is more than this sizes"):
        agents_needed(interval, target)
    # 400,000 Erlangs: within what is sized, but 80 % of all arrivals answered needs more
    # than the most agents (and without patience, N > A does).
    interval = Interval("09:00", 400_000 * 3600 / 300, 3600.0, 300.0, patience)
    if not over_answered or math.isinf(patience):
        with pytest.raises(StaffingError, match="more than 100000 agents would be needed"):
            agents_needed(interval, target)


def test_a_load_needing_nearly_the_most_agents_is_still_sized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With patient callers the search starts at N = A and doubles: above half the bound
    # it stops at the bound itself rather than refusing before trying it. (A bound of
    # 1,000 keeps the test fast; the rule is the same at 100,000.)
    monkeypatch.setattr(plan, "MAX_AGENTS", 1_000)
    interval = Interval("x", 900 * 3600 / 300, 3600.0, 300.0, 1e9)
    r = agents_needed(interval, Target(0.8, 20.0))
    assert 900 < r.agents <= 1_000 and r.sl_all >= 0.8
    interval = Interval("x", 1_000 * 3600 / 300, 3600.0, 300.0, 1e9)
    with pytest.raises(StaffingError, match="more than 1000 agents would be needed"):
        agents_needed(interval, Target(0.8, 20.0))
