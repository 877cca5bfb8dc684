"""The staffing view's figures: what the calculator (``router.staffing``) makes of one
service's numbers — the figures for its staffing, the fewest agents for the target and
a service-level curve for the chart. Pure and memoised: the view works them out in a
worker thread, away from the event loop (``router.service.staffing_view``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from router.staffing.erlang import Result, StaffingError, erlang_a_result, erlang_c_result
from router.staffing.plan import Interval, Target, agents_needed

TARGET_SHARE = 0.8  # the share within target the console marks (as the wallboard and charts)
MAX_AGENTS = 1000
CURVE_POINTS = 16
HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Inputs:
    agents: int
    rate_per_h: float
    aht_s: float
    answer_s: float
    patience_s: float | None  # None: nobody abandons (Erlang C)


@lru_cache(maxsize=8192)
def figure(
    agents: int, rate_per_h: float, aht_s: float, t_s: float, patience: float | None
) -> Result:
    """The calculator's figures for one staffing (memoised: the inputs are few and rounded)."""
    rate = rate_per_h / HOUR_S
    if patience is None:
        return erlang_c_result(agents, rate, aht_s, t_s)
    return erlang_a_result(agents, rate, aht_s, t_s, patience)


@lru_cache(maxsize=2048)
def needed(rate_per_h: float, aht_s: float, t_s: float, patience: float | None) -> int | None:
    """The fewest agents for ``TARGET_SHARE`` within ``t_s``; None beyond ``MAX_AGENTS``."""
    if rate_per_h / HOUR_S * aht_s > MAX_AGENTS:
        return None
    interval = Interval(
        "now", rate_per_h, HOUR_S, aht_s, math.inf if patience is None else patience
    )
    try:
        best = agents_needed(interval, Target(TARGET_SHARE, t_s))
    except StaffingError:
        return None
    return best.agents if best.agents <= MAX_AGENTS else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def figures_json(r: Result, model: str) -> dict[str, Any]:
    return {
        "model": model,
        "load_erlangs": r.load_erlangs,
        "p_wait": r.p_wait,
        "sl_all": r.sl_all,
        "sl_answered": r.sl_answered,
        "asa_s": _finite(r.asa_s),
        "mean_wait_s": _finite(r.mean_wait_s),
        "p_abandon": r.p_abandon,
        "occupancy": r.occupancy,
        "stable": r.stable,
    }


def curve_agents(anchors: list[int]) -> list[int]:
    """Agent counts for the chart: around the current staffing and the agents needed,
    at most ``CURVE_POINTS`` of them, the anchors always among them."""
    if not anchors:
        return []
    low, high = min(anchors), max(anchors)
    span = max(3, math.ceil(0.2 * high))
    first, last = max(1, low - span), min(MAX_AGENTS, high + span)
    step = max(1, math.ceil((last - first) / (CURVE_POINTS - 1)))
    chosen = set(range(first, last + 1, step)) | set(anchors)
    return sorted(chosen)[: CURVE_POINTS + len(anchors)]


def calculate(inputs: Inputs) -> dict[str, Any]:
    """The figures, the agents needed and the chart's curve for ``inputs``."""
    model = "erlang_c" if inputs.patience_s is None else "erlang_a"
    args = (inputs.rate_per_h, inputs.aht_s, inputs.answer_s, inputs.patience_s)
    most = needed(*args)
    anchors = [n for n in (inputs.agents, most) if n is not None and n >= 1]
    return {
        "agents": inputs.agents,
        "arrivals_per_hour": inputs.rate_per_h,
        "handle_time_s": inputs.aht_s,
        "patience_s": inputs.patience_s,
        "answer_s": inputs.answer_s,
        "target_share": TARGET_SHARE,
        "model": model,
        "figures": (
            figures_json(figure(inputs.agents, *args), model) if inputs.agents >= 1 else None
        ),
        "agents_needed": most,
        "curve": [{"agents": n, "sl_all": figure(n, *args).sl_all} for n in curve_agents(anchors)],
    }


def finish(block: dict[str, Any], inputs: Inputs) -> dict[str, Any]:
    """A service's block with the calculator's figures for its ``inputs``."""
    if "closed_agents" in block:  # not open yet today: no rate to figure with
        agents = block.pop("closed_agents")
        return {
            **block,
            **calculate(inputs),
            "agents": agents,
            "arrivals_per_hour": None,
            "agents_needed": None,
            "curve": [],
        }
    return {**block, **calculate(inputs)}
