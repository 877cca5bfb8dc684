"""One self-contained HTML report file: inline CSS, inline SVG bar charts, no script and
no external asset, readable printed. Used by ``yhteys staffing``, ``simulate`` and
``compare`` (``--report FILE.html``).

Every chart is a figure: a title, a one-sentence description, the SVG (an image whose
title and description are the same sentences, for screen readers) and its figures as a
table. The bars are drawn as the supervisor console draws its daily charts
(``router/service/pages/supervisor.js``): a fixed viewBox, three grid lines, labels under
the slots. Every text that goes into the page passes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Series colours: each at least 4.5:1 against white, distinct in grey when printed.
COLOURS = ("#1f4e79", "#c55a11", "#2e7d32", "#6a1b9a", "#5d4037")

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1a1a1a; background: #fff;
  max-width: 1100px; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
figure { margin: 1.5rem 0; break-inside: avoid; }
figcaption { font-weight: 600; }
.desc { margin: .2rem 0 .5rem; }
svg.chart { width: 100%; max-width: 760px; height: auto; display: block; }
svg.chart text { font-size: 12px; fill: #1a1a1a; }
svg.chart .axis { stroke: #1a1a1a; stroke-width: 1; }
svg.chart .grid { stroke: #8a8a8a; stroke-width: 1; stroke-dasharray: 2 3; }
svg.chart .target { stroke: #1a1a1a; stroke-width: 2; stroke-dasharray: 6 4; }
svg.chart .whisker { stroke: #1a1a1a; stroke-width: 1.5; }
svg.chart rect { stroke: #1a1a1a; stroke-width: .5; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { border: 1px solid #8a8a8a; padding: .2rem .5rem; }
thead th { background: #e8eef5; }
td { text-align: right; }
th[scope=row] { text-align: left; font-weight: normal; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .9em; height: .9em; margin-right: .3em;
  vertical-align: -.1em; border: 1px solid #1a1a1a; }
pre { white-space: pre-wrap; background: #f4f4f4; padding: .5rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  table { break-inside: auto; } tr { break-inside: avoid; }
}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True, slots=True)
class Series:
    """One series of bars: a name for the legend and a value per slot (None: no bar);
    ``spread``: the half-width of a confidence interval per slot, drawn as a whisker."""

    name: str
    values: Sequence[float | None]
    spread: Sequence[float | None] | None = None


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least ``x`` (1 for nothing): the scale's top."""
    if not x > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= x - 1e-12:
            return step * power
    return 10.0 * power


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    axis: str,
    top: float | None = None,
    tick: Callable[[float], str] = _num,
    line: float | None = None,
) -> str:
    """Grouped bars, one group per label, as an inline SVG."""
    w, h, left, right, upper, bottom = 760, 280, 52, 10, 14, 52
    plot_w, plot_h = w - left - right, h - upper - bottom
    highest = 0.0
    for s in series:
        for i, v in enumerate(s.values):
            if v is not None and math.isfinite(v):
                extra = s.spread[i] if s.spread is not None else None
                extent = v + (extra if extra is not None and math.isfinite(extra) else 0.0)
                highest = max(highest, extent)
    scale_max = top if top is not None else nice(highest)

    def y(v: float) -> float:
        v = min(max(v, 0.0), scale_max)
        return upper + plot_h - v / scale_max * plot_h

    slot = plot_w / max(1, len(labels))
    group = slot * 0.8
    bar = max(2.0, group / max(1, len(series)))
    out = [
        f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{esc(title)}</title>',
        f'<desc id="{chart_id}-desc">{esc(description)}</desc>',
    ]
    for v in (0.0, scale_max / 2, scale_max):
        out.append(
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{esc(tick(v))}</text>'
        )
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        for i, v in enumerate(s.values):
            if v is None or not math.isfinite(v):
                continue
            x = left + i * slot + (slot - group) / 2 + k * bar
            out.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar:.1f}" '
                f'height="{upper + plot_h - y(v):.1f}" fill="{colour}"/>'
            )
            half = s.spread[i] if s.spread is not None else None
            if half is not None and math.isfinite(half) and half > 0:
                cx, lo, hi = x + bar / 2, y(v - half), y(v + half)
                out.append(
                    f'<path class="whisker" d="M{cx:.1f} {lo:.1f}V{hi:.1f}'
                    f'M{cx - 4:.1f} {lo:.1f}h8M{cx - 4:.1f} {hi:.1f}h8"/>'
                )
    every = max(1, math.ceil(len(labels) / 16))
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{upper + plot_h + 16}" '
                f'text-anchor="middle">{esc(label)}</text>'
            )
    out.append(
        f'<line class="axis" x1="{left}" x2="{w - right}" y1="{upper + plot_h}" '
        f'y2="{upper + plot_h}"/>'
    )
    if line is not None:
        out.append(
            f'<line class="target" x1="{left}" x2="{w - right}" y1="{y(line):.1f}" '
            f'y2="{y(line):.1f}"/>'
        )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{h - 8}" text-anchor="middle">{esc(axis)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def legend(series: Sequence[Series], note: str = "") -> str:
    items = "".join(
        f'<span><i style="background:{COLOURS[k % len(COLOURS)]}"></i>{esc(s.name)}</span>'
        for k, s in enumerate(series)
    )
    return f'<p class="legend">{items}{esc(note)}</p>'


def table(caption: str, head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table: the first cell of every row is its heading."""
    out = [f"<table><caption>{esc(caption)}</caption><thead><tr>"]
    out.extend(f'<th scope="col">{esc(x)}</th>' for x in head)
    out.append("</tr></thead><tbody>")
    for first, *rest in rows:
        out.append(f'<tr><th scope="row">{esc(first)}</th>')
        out.extend(f"<td>{esc(x)}</td>" for x in rest)
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def figure(
    chart_id: str,
    title: str,
    description: str,
    chart: str,
    data: str,
    series: Sequence[Series] = (),
    note: str = "",
) -> str:
    """A chart with its title, one-sentence description, legend and figures table."""
    key = legend(series, note) if len(series) > 1 or note else ""
    return (
        f'<figure aria-labelledby="{chart_id}-caption">'
        f'<figcaption id="{chart_id}-caption">{esc(title)}</figcaption>'
        f'<p class="desc">{esc(description)}</p>{key}{chart}{data}</figure>'
    )


def page(title: str, body: Sequence[str], lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


class ReportPathError(ValueError):
    """``--report``: a file that cannot be written; the message says why."""


def check_path(path: str) -> None:
    """Fail before a long run, not after it: the folder must exist and the path must not
    be a folder."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise ReportPathError(f"--report: expected a file name, got the folder {path!r}")
    if not os.path.isdir(folder):
        raise ReportPathError(f"--report: expected an existing folder for {path!r}; no {folder}")
    if not os.access(folder, os.W_OK):
        raise ReportPathError(f"--report: expected a folder that can be written, got {folder}")


def write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise ReportPathError(
            f"--report: expected a file that can be written, got {path!r}: {exc.strerror}"
        ) from None
