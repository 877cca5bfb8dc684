"""Erlang C (M/M/N) and Erlang A (M/M/N+M) queueing formulas: pure, no I/O, no clock.

Notation: arrivals λ per second, mean handle time ``aht_s`` = 1/μ, offered load
A = λ/μ Erlangs, N agents, mean patience ``patience_s`` = 1/θ, answer-time threshold t.

**Erlang B** by its recurrence, never factorials, so it is exact and stable for thousands
of agents::

    B(0, A) = 1,   B(n, A) = A·B(n−1, A) / (n + A·B(n−1, A))

**Erlang C** (infinitely patient callers, needs A < N)::

    P(wait) = C = N·B / (N − A·(1 − B))
    SL(t)   = 1 − C·exp(−(N − A)·t / AHT)          answered within t (all are answered)
    ASA     = C·AHT / (N − A)                      average speed of answer
    occupancy = A / N

**Erlang A** (Palm; Garnett, Mandelbaum and Reiman 2002): the birth-death chain of the
number of contacts in the system, with birth rate λ, death rate nμ for n ≤ N and
Nμ + (n−N)θ above N. Its stationary distribution is computed by ratios relative to
state N, in logarithms (never factorials, never overflowing): the states 0..N carry
1/B(N, A) in those units, and the queue states π(N+k)/π(N) = Π_{i=1..k} λ/(Nμ + iθ),
summed until the terms are below e^-41 of the largest (they fall once Nμ + kθ > λ). By
PASTA an arrival sees π, so::

    P(wait)    = Σ_{k≥0} π(N+k)
    E[queue]   = Σ_{k≥1} k·π(N+k),   mean wait of all arrivals = E[queue]/λ   (Little)

A caller who finds k others queued ahead (state N+k) is answered when k+1 "advances"
(a completion, at Nμ, or one ahead abandoning) happen before its own patience runs out.
Adding its own abandonment rate θ to each stage, the stage with i callers still to pass
(itself included) ends at rate Nμ + iθ, and moves on with probability (Nμ+(i−1)θ)/(Nμ+iθ);
the product telescopes::

    P(answered | k)             = Nμ / (Nμ + (k+1)θ)
    P(answered within t | k)    = P(answered | k) · P(H_k ≤ t),
    H_k = Σ_{i=1..k+1} Exp(Nμ + iθ)   (the stage times, given it is answered)
    E[wait · answered | k]      = P(answered | k) · Σ_{i=1..k+1} 1/(Nμ + iθ)
    P(abandon)                  = Σ_k π(N+k) · (k+1)θ / (Nμ + (k+1)θ)

P(answered within t) comes from the virtual wait V (the wait of a caller who never
gives up; others ahead still leave), whose density for x > 0 is (Baccelli and Hebuterne
1981; Zeltyn and Mandelbaum 2005, with λ·π(N−1) = Nμ·π(N))::

    f_V(x) = Nμ·π(N)·exp(−Nμ·x + (λ/θ)·(1 − e^(−θx)))
    answered within t = Σ_{k<0} π(N+k)  +  ∫_0^t e^(−θx)·f_V(x) dx

The integrand is log-concave with one peak (at x = ln(λ/(Nμ+θ))/θ when λ > Nμ + θ,
else at 0), so the integral is taken by Gauss–Legendre panels spread out geometrically
from the peak, halved until a 10- and a 20-point rule agree: a few hundred evaluations
whatever t, N or the load (the stage chain's uniformisation it replaced took seconds to
minutes for answer times of hours; the tests keep it as an oracle).
With θ → 0 every formula becomes Erlang C's, which the tests check.

Service level is stated two ways, named as such: ``sl_all`` = answered within t / all
arrivals (abandoned callers count as missed), ``sl_answered`` = answered within t /
answered. In Erlang C they are equal.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


class StaffingError(ValueError):
    """An input the formulas cannot take: the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Result:
    """What N agents give for one interval's load."""

    agents: int
    load_erlangs: float
    p_wait: float
    sl_all: float  # answered within t / all arrivals
    sl_answered: float  # answered within t / answered
    asa_s: float  # mean wait of answered contacts
    mean_wait_s: float  # mean wait of all arrivals (abandoned ones until they left)
    p_abandon: float
    occupancy: float  # busy agents / N
    stable: bool  # False: Erlang C with A >= N, the queue grows without bound


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/N/N by the recurrence (stable for any N)."""
    if agents < 0 or load < 0:
        raise StaffingError(f"expected agents >= 0 and load >= 0, got {agents}, {load}")
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def log_inverse_erlang_b(agents: int, load: float) -> float:
    """log(1/B(N, A)) = log Σ_{n=0..N} (N!/n!)·A^(n−N), by the recurrence
    1/B(n) = 1 + (n/A)·1/B(n−1) in logs: no overflow however large 1/B gets."""
    r = 0.0  # log 1/B(0) = 0
    for n in range(1, agents + 1):
        x = math.log(n / load) + r
        r = x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
    return r


def erlang_c(agents: int, load: float) -> float:
    """P(wait) in M/M/N; 1.0 when the load is not below the agents (unstable)."""
    if load >= agents:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def _check(agents: int, arrivals_per_s: float, aht_s: float, t_s: float) -> None:
    if agents < 1:
        raise StaffingError(f"expected at least 1 agent, got {agents}")
    if arrivals_per_s < 0 or not math.isfinite(arrivals_per_s):
        raise StaffingError(f"expected an arrival rate >= 0, got {arrivals_per_s}")
    if aht_s <= 0 or not math.isfinite(aht_s):
        raise StaffingError(f"expected a handle time > 0 seconds, got {aht_s}")
    if t_s < 0:
        raise StaffingError(f"expected an answer-time threshold >= 0 seconds, got {t_s}")


def erlang_c_result(agents: int, arrivals_per_s: float, aht_s: float, t_s: float) -> Result:
    """Erlang C for N = ``agents``: every caller waits as long as it takes."""
    _check(agents, arrivals_per_s, aht_s, t_s)
    load = arrivals_per_s * aht_s
    if load >= agents:
        return Result(agents, load, 1.0, 0.0, 0.0, math.inf, math.inf, 0.0, 1.0, False)
    c = erlang_c(agents, load)
    sl = 1.0 - c * math.exp(-(agents - load) * t_s / aht_s)
    asa = c * aht_s / (agents - load)
    return Result(agents, load, c, sl, sl, asa, asa, 0.0, load / agents, True)


def erlang_a_result(
    agents: int, arrivals_per_s: float, aht_s: float, t_s: float, patience_s: float
) -> Result:
    """Erlang A for N = ``agents``: callers leave after an exponential patience of mean
    ``patience_s`` (math.inf: Erlang C)."""
    _check(agents, arrivals_per_s, aht_s, t_s)
    if patience_s <= 0:
        raise StaffingError(f"expected a mean patience > 0 seconds, got {patience_s}")
    if math.isinf(patience_s):
        return erlang_c_result(agents, arrivals_per_s, aht_s, t_s)
    lam, mu, theta = arrivals_per_s, 1.0 / aht_s, 1.0 / patience_s
    load = lam * aht_s
    if lam == 0:
        return Result(agents, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, True)
    nmu = agents * mu
    # Stationary distribution in units of π(N), in logs (the terms can exceed any float
    # when few agents face a large load): states 0..N sum to 1/B, queue terms q_k.
    log_below = log_inverse_erlang_b(agents, load)
    logs = [0.0]  # log q_0 = log π(N)/π(N)
    top = max(log_below, 0.0)
    k = 0
    while True:
        k += 1
        nxt = logs[-1] + math.log(lam / (nmu + k * theta))
        logs.append(nxt)
        top = max(top, nxt)
        if nxt < top - 41.0 and nmu + k * theta > lam:  # e^-41 < 1e-17: negligible
            break
    # Terms below e^-50 of the largest change no sum (and a rising run of them makes
    # math.fsum keep a partial for each): they count as zero.
    scaled = [math.exp(x - top) if x > top - 50.0 else 0.0 for x in logs]
    # π(N) is counted in both parts: states 0..N (1/B) and the queue terms (q_0 = 1).
    norm = math.exp(log_below - top) - scaled[0] + math.fsum(scaled)
    pi = [q / norm for q in scaled]  # π(N+k), k = 0..K
    log_pi_n = -top - math.log(norm)  # π(N) itself may underflow
    p_wait = math.fsum(pi)
    p_abandon = math.fsum(p * (j + 1) * theta / (nmu + (j + 1) * theta) for j, p in enumerate(pi))
    mean_queue = math.fsum(j * p for j, p in enumerate(pi))
    answered = 1.0 - p_abandon
    # E[wait · answered]: Σ_k π(N+k) · P(answered|k) · Σ_{i=1..k+1} 1/(Nμ+iθ)
    stage_sum = 0.0
    wait_answered = 0.0
    for j, p in enumerate(pi):
        stage_sum += 1.0 / (nmu + (j + 1) * theta)
        wait_answered += p * nmu / (nmu + (j + 1) * theta) * stage_sum
    within = _answered_within(log_pi_n, lam, nmu, theta, t_s)
    no_wait = 1.0 - p_wait
    sl_all = no_wait + within
    sl_answered = sl_all / answered if answered > 0 else 0.0
    return Result(
        agents=agents,
        load_erlangs=load,
        p_wait=p_wait,
        sl_all=min(1.0, sl_all),
        sl_answered=min(1.0, sl_answered),
        asa_s=wait_answered / answered if answered > 0 else math.inf,
        mean_wait_s=mean_queue / lam,
        p_abandon=p_abandon,
        occupancy=min(1.0, lam * answered * aht_s / agents),
        stable=True,
    )


def _gauss_legendre(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1] (Newton's method
    on the Legendre polynomial from the usual first guesses)."""
    nodes, weights = [], []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        dp = 1.0
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1.0)
            step = p1 / dp
            x -= step
            if abs(step) < 1e-16:
                break
        nodes.append(x)
        weights.append(2.0 / ((1.0 - x * x) * dp * dp))
    return tuple(nodes), tuple(weights)


_COARSE = _gauss_legendre(10)
_FINE = _gauss_legendre(20)


def _answered_within(log_pi_n: float, lam: float, nmu: float, theta: float, t_s: float) -> float:
    """∫_0^t e^(−θx)·f_V(x) dx: the callers who wait and are answered within t.

    In logs relative to the integrand's peak (π(N) may underflow, e^(λ/θ) overflow)."""
    if t_s == 0:
        return 0.0
    b = lam / theta

    def log_h(x: float) -> float:
        return -(nmu + theta) * x - b * math.expm1(-theta * x)

    peak = min(t_s, math.log(lam / (nmu + theta)) / theta) if lam > nmu + theta else 0.0
    top = log_h(peak)
    # The width of the peak: its curvature, or where it is at 0, its slope there.
    curvature = theta * theta * b * math.exp(-theta * peak)
    slope = abs(b * theta * math.exp(-theta * peak) - (nmu + theta))
    width = min(1.0 / math.sqrt(curvature), 1.0 / slope if slope > 0 else math.inf)
    edges = {0.0, peak, t_s}
    step = width / 4.0
    while step < 2.0 * t_s:
        edges.update(e for e in (peak - step, peak + step) if 0.0 < e < t_s)
        step *= 2.0

    def panel(a: float, c: float, rule: tuple[tuple[float, ...], tuple[float, ...]]) -> float:
        half, mid = (c - a) / 2.0, (c + a) / 2.0
        return half * math.fsum(
            w * math.exp(log_h(mid + half * x) - top) for x, w in zip(*rule, strict=True)
        )

    ordered = sorted(edges)
    panels = list(itertools.pairwise(ordered))
    tolerance = 1e-15 * math.fsum(panel(a, c, _FINE) for a, c in panels)
    parts: list[float] = []
    while panels:
        a, c = panels.pop()
        fine = panel(a, c, _FINE)
        if abs(fine - panel(a, c, _COARSE)) <= tolerance or c - a < 1e-12 * t_s:
            parts.append(fine)
        else:
            mid = (a + c) / 2.0
            panels += [(a, mid), (mid, c)]
    total = math.fsum(parts)
    if total <= 0.0:
        return 0.0
    return math.exp(math.log(nmu) + log_pi_n + top + math.log(total))
