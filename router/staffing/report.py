"""``yhteys staffing --report FILE.html``: the plan as one self-contained HTML page: staff
needed vs scheduled per interval, expected service level and abandonment per interval,
the assumptions and formulas, and the table (the same cells as the text table)."""

from __future__ import annotations

import math

from router.staffing import html as h
from router.staffing.plan import Row, Target

FORMULAS = (
    "Load A = arrivals per second × AHT (Erlangs). Erlang C (nobody abandons, needs N > A): "
    "P(wait) = C = N·B / (N − A·(1 − B)) with B the Erlang B blocking by its recurrence; "
    "SL(t) = 1 − C·exp(−(N − A)·t / AHT); ASA = C·AHT / (N − A); occupancy = A / N. "
    "Erlang A (callers give up after an exponential patience of mean 1/θ): the birth–death "
    "chain with death rate Nμ + kθ above N agents, seen by an arriving caller; "
    "P(abandon) = Σ π(N+k)·(k+1)θ / (Nμ + (k+1)θ). Agents needed: the smallest N meeting "
    "the target; scheduled = ⌈N / (1 − shrinkage)⌉. See docs/staffing.md."
)


def _pct(x: float) -> str:
    return f"{x:.1%}".replace("%", " %")


def _s(x: float) -> str:
    return f"{x:g} s"


def cells(row: Row) -> list[object]:
    """The text table's cells for one interval (``--format table``)."""
    r = row.result
    return [
        row.interval.label,
        f"{row.interval.arrivals:g}",
        f"{r.load_erlangs:.2f}",
        r.agents,
        row.scheduled,
        f"{r.p_wait:.1%}",
        f"{r.sl_all:.1%}",
        f"{r.sl_answered:.1%}",
        f"{r.asa_s:.1f}",
        f"{r.p_abandon:.1%}",
        f"{r.occupancy:.1%}",
    ]


def report(rows: list[Row], target: Target, shrinkage: float) -> str:
    t = f"{target.answer_s:g}"
    labels = [r.interval.label for r in rows]
    first = rows[0].interval
    erlang_a = any(not math.isinf(r.interval.patience_s) for r in rows)
    model = "Erlang A (callers abandon)" if erlang_a else "Erlang C (nobody abandons)"
    aims = []
    if target.service_level is not None:
        over = "answered contacts" if target.over_answered else "all arrivals"
        aims.append(f"{target.service_level:.0%} answered within {t} s (over {over})")
    if target.max_abandon is not None:
        aims.append(f"at most {target.max_abandon:.1%} abandoning")
    ahts = sorted({r.interval.aht_s for r in rows})
    patiences = sorted({r.interval.patience_s for r in rows})
    assumptions = [
        ("model", model),
        ("intervals", f"{len(rows)} of {first.length_s / 60:g} min"),
        ("handle time (AHT)", ", ".join(_s(a) for a in ahts)),
        (
            "mean patience",
            "none: nobody abandons"
            if not erlang_a
            else ", ".join(_s(p) for p in patiences if not math.isinf(p)),
        ),
        ("target", "; ".join(aims)),
        ("shrinkage", f"{shrinkage:.0%} of paid time away from the phones"),
    ]

    needed = h.Series("agents needed", [float(r.result.agents) for r in rows])
    sched = h.Series("staff to schedule", [float(r.scheduled) for r in rows])
    peak = max(rows, key=lambda r: r.scheduled)
    staff_title = "Staff needed vs scheduled by interval"
    staff_desc = (
        f"Agents needed on the phones and staff to schedule per interval; the most, "
        f"{peak.scheduled} scheduled for {peak.result.agents} on the phones, at "
        f"{peak.interval.label}."
    )
    staff = h.figure(
        "chart-staff",
        staff_title,
        staff_desc,
        h.bar_chart(
            "chart-staff", staff_title, staff_desc, labels, [needed, sched], axis="interval"
        ),
        h.table(
            staff_title,
            ["interval", "arrivals", "agents needed", "scheduled"],
            [
                [r.interval.label, f"{r.interval.arrivals:g}", r.result.agents, r.scheduled]
                for r in rows
            ],
        ),
        [needed, sched],
    )

    sl = h.Series(f"SL{t} of all arrivals (%)", [r.result.sl_all * 100 for r in rows])
    sl_ans = h.Series(f"SL{t} of answered (%)", [r.result.sl_answered * 100 for r in rows])
    aband = h.Series("abandoned (%)", [r.result.p_abandon * 100 for r in rows])
    worst = min(rows, key=lambda r: r.result.sl_all)
    sl_title = "Expected service level and abandonment by interval"
    sl_desc = (
        f"With the agents needed, the service level over all arrivals is lowest at "
        f"{worst.interval.label} ({_pct(worst.result.sl_all)}) and abandonment highest at "
        f"{_pct(max(r.result.p_abandon for r in rows))}."
    )
    level = None if target.service_level is None else target.service_level * 100
    note = "" if level is None else f"dashed line: the target, {level:g} %"
    service = h.figure(
        "chart-sl",
        sl_title,
        sl_desc,
        h.bar_chart(
            "chart-sl",
            sl_title,
            sl_desc,
            labels,
            [sl, sl_ans, aband],
            axis="interval",
            top=100.0,
            tick=lambda v: f"{v:g} %",
            line=level,
        ),
        h.table(
            sl_title,
            ["interval", f"SL{t} of all", f"SL{t} of answered", "abandoned"],
            [
                [
                    r.interval.label,
                    _pct(r.result.sl_all),
                    _pct(r.result.sl_answered),
                    _pct(r.result.p_abandon),
                ]
                for r in rows
            ],
        ),
        [sl, sl_ans, aband],
        note,
    )

    head = [
        "interval",
        "arrivals",
        "load (Erlangs)",
        "agents",
        "scheduled",
        "P(wait)",
        f"SL{t} of all",
        f"SL{t} of answered",
        "ASA s",
        "abandoned",
        "occupancy",
    ]
    length_h = first.length_s / 3600.0
    totals = (
        f"<p>Agent-hours: {sum(r.result.agents for r in rows) * length_h:g} on the phones, "
        f"{sum(r.scheduled for r in rows) * length_h:g} scheduled.</p>"
        if len(rows) > 1
        else ""
    )
    body = [
        "<h2>Assumptions</h2>",
        h.table("Input assumptions", ["assumption", "value"], assumptions),
        "<h2>Charts</h2>",
        staff,
        service,
        "<h2>The plan</h2>",
        h.table("Staffing per interval", head, [cells(r) for r in rows]),
        totals,
        "<h2>Formulas</h2>",
        f"<p>{h.esc(FORMULAS)}</p>",
        "<p>SL of all counts abandoned callers as missed; SL of answered only answered ones; "
        "ASA is the mean wait of answered contacts.</p>",
    ]
    return h.page(f"Staffing: {model}", body)
