"""Erlang A's "answered within t" by the virtual wait's density (``router.staffing.erlang``)
against the stage chain's uniformisation it replaced, kept here as an independent oracle:
the same figure by a different road, over loads from idle to swamped and answer times
from seconds to hours."""

from __future__ import annotations

import math

import pytest

from router.staffing.erlang import erlang_a_result, log_inverse_erlang_b


def _poisson_weights(mean: float) -> list[float]:
    """Poisson(mean) probabilities for 0..K, the tail beyond K negligible, from the mode
    outwards in logs."""
    if mean == 0:
        return [1.0]
    mode = int(mean)
    hi = mode + int(10 * math.sqrt(mean)) + 30
    weights = [0.0] * (hi + 1)
    weights[mode] = math.exp(-mean + mode * math.log(mean) - math.lgamma(mode + 1))
    for n in range(mode + 1, hi + 1):
        weights[n] = weights[n - 1] * mean / n
    for n in range(mode, 0, -1):
        weights[n - 1] = weights[n] * n / mean
    total = math.fsum(weights)
    return [w / total for w in weights]


def _queue(agents: int, lam: float, aht: float, patience: float) -> list[float]:
    """π(N+k), k = 0..K, normalised over the whole chain (1/B for the states below N)."""
    mu, theta = 1 / aht, 1 / patience
    logs = [0.0]
    while len(logs) < 3 or logs[-1] > max(logs) - 41 or agents * mu + len(logs) * theta <= lam:
        logs.append(logs[-1] + math.log(lam / (agents * mu + len(logs) * theta)))
    top = max(*logs, log_inverse_erlang_b(agents, lam * aht))
    scaled = [math.exp(x - top) for x in logs]
    norm = math.exp(log_inverse_erlang_b(agents, lam * aht) - top) - scaled[0] + math.fsum(scaled)
    return [q / norm for q in scaled]


def _within_by_uniformisation(pi: list[float], nmu: float, theta: float, t: float) -> float:
    """Σ_k π(N+k)·P(answered within t | k) on the stage chain (stage i: i callers still to
    pass, itself included; on at Nμ + (i−1)θ, lost at θ), uniformised at its top rate."""
    stages = len(pi)
    rate = nmu + stages * theta
    v, result, tail = list(pi), 0.0, 1.0
    for n, w in enumerate(_poisson_weights(rate * t)):
        if n > 0:
            absorbed = v[0] * nmu / rate
            new = [v[i] * (1.0 - (nmu + (i + 1) * theta) / rate) for i in range(stages)]
            for i in range(stages - 1):
                new[i] += v[i + 1] * (nmu + (i + 1) * theta) / rate
            v = new
            result += absorbed * tail
        tail -= w
        if tail < 1e-16:
            break
    return result


CASES = [
    # agents, arrivals per hour, handle time s, patience s, answer time s
    (14, 200.0, 180.0, 180.0, 20.0),  # the published example's load, impatient callers
    (10, 160.0, 240.0, 600.0, 0.5),  # a threshold of half a second
    (3, 60.0, 300.0, 300.0, 600.0),  # overloaded (5 Erlangs on 3), ten minutes
    (1, 30.0, 600.0, 120.0, 1800.0),  # one agent swamped, half an hour
    (40, 400.0, 300.0, 900.0, 7200.0),  # underloaded, two hours
    (5, 100.0, 300.0, 60.0, 3600.0),  # very impatient, an hour
    (20, 10.0, 300.0, 300.0, 20.0),  # nearly idle
]


@pytest.mark.parametrize(("agents", "per_hour", "aht", "patience", "t"), CASES)
def test_answered_within_agrees_with_the_stage_chain(
    agents: int, per_hour: float, aht: float, patience: float, t: float
) -> None:
    lam = per_hour / 3600
    pi = _queue(agents, lam, aht, patience)
    within = _within_by_uniformisation(pi, agents / aht, 1 / patience, t)
    r = erlang_a_result(agents, lam, aht, t, patience)
    assert r.sl_all == pytest.approx(1 - math.fsum(pi) + within, abs=1e-12)
    assert r.p_wait == pytest.approx(math.fsum(pi), abs=1e-12)


def test_answer_times_of_hours_and_thousands_of_agents_are_figures_not_a_wait() -> None:
    """Both took the uniformisation minutes (the stages times the jumps by t); the
    suite's timeout would stop them. 40,000 Erlangs on 2,000 agents: the answered wait
    about ln(λ/(Nμ+θ))/θ = 6 h, so none within an hour and all within eight."""
    hour = erlang_a_result(2000, 20000 / 3600, 7200.0, 3600.0, 7200.0)
    assert hour.sl_all < 1e-9 and hour.p_abandon == pytest.approx(0.95)
    eight = erlang_a_result(2000, 20000 / 3600, 7200.0, 8 * 3600.0, 7200.0)
    assert eight.sl_all == pytest.approx(1.0 - eight.p_abandon, rel=1e-6)
    week = erlang_a_result(50, 100 / 3600, 300.0, 604800.0, 600.0)
    assert week.sl_all == pytest.approx(1.0 - week.p_abandon, abs=1e-12)
