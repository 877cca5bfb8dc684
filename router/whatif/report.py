"""``--report FILE.html`` of ``yhteys simulate`` and ``yhteys compare``: one self-contained
HTML page (``router.staffing.html``) with the run's charts and its summary table, whose
cells are those of the command's text table.

- simulate: service level by hour of the measured window (over all arrivals and over
  answered contacts, both named), the wait distribution of each service in the console's
  bands, and the summary per service with 95 % confidence intervals;
- compare: the variants side by side (bars with confidence-interval whiskers) and the
  table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from router.staffing import html as h
from router.whatif.model import ALL, WAIT_BANDS_S, Detail, Estimate
from router.whatif.replication import Outcome
from router.whatif.tables import shown

# (figure, heading, as a percentage, format): the columns of the text tables.
COLUMNS = (
    ("arrivals", "arrivals", False, ".0f"),
    ("sl_all", "SL{t} of all (%)", True, ".1f"),
    ("sl_answered", "SL{t} answered (%)", True, ".1f"),
    ("asa_s", "mean wait s", False, ".1f"),
    ("p90_wait_s", "p90 wait s", False, ".0f"),
    ("abandoned", "abandoned (%)", True, ".1f"),
    ("occupancy", "occupancy (%)", True, ".1f"),
)

NOTE = (
    "± is the 95 % confidence interval over the replications (Student t). SL of all counts "
    "abandoned and unanswered contacts as missed; SL answered only answered ones; waits are "
    "those of answered contacts (arrival to answer)."
)


BY_NOTE = (
    "A site is the caller's own (the contact's preferred site), '-' none; occupancy is the "
    "share of the agents' logged-in time spent on the group's contacts, so the groups add "
    "up to the total. Callbacks: contacts that were callbacks, and the attempts reported "
    "for them, per replication."
)


def cell(e: Estimate, pct: bool, fmt: str) -> str:
    scale = 100.0 if pct else 1.0
    if math.isnan(e.mean):
        return "-"
    text = format(e.mean * scale, fmt)
    return text if math.isnan(e.half_width) else f"{text}±{format(e.half_width * scale, fmt)}"


def heads(sl_s: float) -> list[str]:
    return [head.format(t=f"{sl_s:g}") for _, head, _, _ in COLUMNS]


def cells(figures: dict[str, Estimate]) -> list[str]:
    return [cell(figures[f], pct, fmt) for f, _, pct, fmt in COLUMNS]


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _pct_text(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} %"


def band_label(k: int) -> str:
    start = WAIT_BANDS_S[k] // 60
    if k + 1 == len(WAIT_BANDS_S):
        return f"{start}+ min"
    return f"{start}–{WAIT_BANDS_S[k + 1] // 60} min"


def _by_hour(detail: Detail, sl_s: float, what: str, first_hour: int | None) -> str:
    t = f"{sl_s:g}"
    if first_hour is None:
        labels = [f"{i}–{i + 1} h" for i in range(len(detail.hours))]
    else:
        labels = [
            f"{(first_hour + i) % 24:02d}–{(first_hour + i + 1) % 24:02d}"
            for i in range(len(detail.hours))
        ]
    over_all = [_share(within, n) for n, _, within in detail.hours]
    over_answered = [_share(within, answered) for _, answered, within in detail.hours]
    series = [
        h.Series(f"SL{t} of all arrivals (%)", over_all),
        h.Series(f"SL{t} of answered contacts (%)", over_answered),
    ]
    known = [(v, i) for i, v in enumerate(over_all) if v is not None]
    title = f"Service level by hour ({what})"
    if known:
        low, at = min(known)
        description = (
            f"The share answered within {t} s over all arrivals is lowest in {labels[at]} of "
            f"the measured window, {low:.1f} %."
        )
    else:
        description = "No contact arrived in the measured window."
    rows = [
        [label, n, answered, within, _pct_text(a), _pct_text(b)]
        for label, (n, answered, within), a, b in zip(
            labels, detail.hours, over_all, over_answered, strict=True
        )
    ]
    return h.figure(
        "chart-sl-hour",
        title,
        description,
        h.bar_chart(
            "chart-sl-hour",
            title,
            description,
            labels,
            series,
            axis="hour of the measured window (all replications)",
            top=100.0,
            tick=lambda v: f"{v:g} %",
        ),
        h.table(
            title,
            [
                "hour",
                "arrivals",
                "answered",
                f"answered within {t} s",
                f"SL{t} of all",
                f"SL{t} of answered",
            ],
            rows,
        ),
        series,
    )


def _waits(index: int, service: str, detail: Detail) -> str:
    labels = [band_label(k) for k in range(len(WAIT_BANDS_S))]
    answered = sum(detail.bands)
    title = f"Wait distribution: {service}"
    if answered:
        most = max(range(len(detail.bands)), key=lambda k: detail.bands[k])
        description = (
            f"Of {answered} answered contacts (all replications), most waited "
            f"{labels[most]} ({detail.bands[most]})."
        )
    else:
        description = "No contact was answered."
    chart_id = f"chart-wait-{index}"
    short = [x.removesuffix(" min") for x in labels]
    series = [h.Series("answered contacts", [float(n) for n in detail.bands])]
    return h.figure(
        chart_id,
        title,
        description,
        h.bar_chart(
            chart_id,
            title,
            description,
            short,
            series,
            axis="wait from arrival to answer, minutes",
            tick=lambda v: f"{v:.0f}" if float(v).is_integer() else "",
        ),
        h.table(title, ["wait", "answered"], list(zip(labels, detail.bands, strict=True))),
    )


def simulate_report(
    title: str,
    assumptions: Sequence[tuple[str, str]],
    outcome: Outcome,
    sl_s: float,
    first_hour: int | None = None,
) -> str:
    """``first_hour``: the local hour the measured window starts at, when it starts on
    the hour (the hours are then labelled by the clock, e.g. 16–17)."""
    results, details = outcome.services, outcome.details
    services = [name for name in results if name != ALL]
    body = [
        "<h2>Assumptions</h2>",
        h.table("Input assumptions", ["assumption", "value"], assumptions),
        "<h2>Charts</h2>",
        _by_hour(
            details[ALL],
            sl_s,
            "all services" if len(services) > 1 else services[0],
            first_hour,
        ),
        *(_waits(i, name, details[name]) for i, name in enumerate(services)),
        "<h2>Summary</h2>",
        *(
            h.table(
                f"Per {dim}: mean ± 95 % confidence interval",
                [dim, *heads(sl_s), "callbacks", "callback attempts"],
                [
                    [name, *cells(figures), *_callbacks(figures)]
                    for name, figures in outcome.by[dim].items()
                ],
            )
            for dim in shown(outcome)
        ),
        f"<p>{h.esc(NOTE)} {h.esc(BY_NOTE)}</p>",
    ]
    return h.page(title, body)


def _callbacks(figures: dict[str, Estimate]) -> list[str]:
    return [
        cell(figures["callbacks"], False, ".0f"),
        cell(figures["callback_attempts"], False, ".0f"),
    ]


def compare_report(
    title: str,
    lines: Sequence[str],
    results: dict[str, dict[str, dict[str, Estimate]]],
    sl_s: float,
    gain: str | None,
) -> str:
    t = f"{sl_s:g}"
    variants = list(results)
    rows = {label: results[label][ALL] for label in variants}

    def series(name: str, figure: str, scale: float) -> h.Series:
        return h.Series(
            name,
            [rows[v][figure].mean * scale for v in variants],
            [rows[v][figure].half_width * scale for v in variants],
        )

    level = [
        series(f"SL{t} of all arrivals (%)", "sl_all", 100.0),
        series(f"SL{t} of answered (%)", "sl_answered", 100.0),
        series("abandoned (%)", "abandoned", 100.0),
    ]
    best = max(variants, key=lambda v: rows[v]["sl_all"].mean)
    level_title = "Service level and abandonment by variant"
    level_desc = (
        f"The same callers and staff routed {len(variants)} ways; the highest service level "
        f"over all arrivals is {best}'s, {rows[best]['sl_all'].mean * 100:.1f} %."
    )
    wait = [series("mean wait of answered (s)", "asa_s", 1.0)]
    shortest = min(variants, key=lambda v: rows[v]["asa_s"].mean)
    wait_title = "Mean wait by variant"
    wait_desc = (
        f"The mean wait of answered contacts is shortest with {shortest}, "
        f"{rows[shortest]['asa_s'].mean:.1f} s."
    )
    whiskers = "whiskers: the 95 % confidence interval"
    body = [
        "<h2>Assumptions</h2>",
        "<ul>" + "".join(f"<li>{h.esc(line)}</li>" for line in lines) + "</ul>",
        "<h2>Charts</h2>",
        h.figure(
            "chart-variants",
            level_title,
            level_desc,
            h.bar_chart(
                "chart-variants",
                level_title,
                level_desc,
                variants,
                level,
                axis="variant",
                top=100.0,
                tick=lambda v: f"{v:g} %",
            ),
            h.table(
                level_title,
                ["variant", f"SL{t} of all (%)", f"SL{t} answered (%)", "abandoned (%)"],
                [[v, *(cells(rows[v])[k] for k in (1, 2, 5))] for v in variants],
            ),
            level,
            whiskers,
        ),
        h.figure(
            "chart-wait",
            wait_title,
            wait_desc,
            h.bar_chart("chart-wait", wait_title, wait_desc, variants, wait, axis="variant"),
            h.table(
                wait_title, ["variant", "mean wait s"], [[v, cells(rows[v])[3]] for v in variants]
            ),
            wait,
            whiskers,
        ),
        "<h2>Summary</h2>",
        h.table(
            "Per variant, over all the streams: mean ± 95 % confidence interval",
            ["variant", *heads(sl_s)],
            [[v, *cells(rows[v])] for v in variants],
        ),
        f"<p>{h.esc(gain)}</p>" if gain else "",
        f"<p>{h.esc(NOTE)}</p>",
    ]
    return h.page(title, body)
