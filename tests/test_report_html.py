"""``--report FILE.html`` of ``yhteys staffing``, ``simulate`` and ``compare``: one
self-contained page whose charts are titled and described, whose tables carry the same
numbers as the command's JSON or CSV output of the same run, and which escapes what it
was given."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from router.cli import main

MMC = Path("tests/data/mmc-region.yaml")
ISLANDS = Path("tests/data/islands-region.yaml")
NASTY = 'A <b>&"c"'  # what a region name or interval label may hold

# Elements that have no end tag.
VOID = {"meta", "br", "img", "input", "link", "hr", "line", "rect", "path"}


class Page(HTMLParser):
    """The parts of a page a reader sees: headings, figures, tables; and its structure."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.lang: str | None = None
        self.tags: set[str] = set()
        self.external: list[str] = []
        self.text: dict[str, list[str]] = {}  # tag -> texts (figcaption, title, desc, h1)
        self.tables: dict[str, list[list[str]]] = {}  # caption -> rows of cells
        self._table: list[list[str]] | None = None
        self._caption = ""
        self._cell: list[str] | None = None
        self._grab: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        for key in ("src", "href"):
            if found.get(key):
                self.external.append(f"{tag} {key}={found[key]}")
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self._table, self._caption = [], ""
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in {"td", "th"}:
            self._cell = []
        if tag in {"figcaption", "title", "desc", "h1", "caption", "p"}:
            self._grab = (tag, [])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in {"td", "th"} and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._table is not None:
            self.tables.setdefault(self._caption, self._table)
            self._table = None
        if self._grab is not None and self._grab[0] == tag:
            text = "".join(self._grab[1]).strip()
            if tag == "caption":
                self._caption = text
            self.text.setdefault(tag, []).append(text)
            self._grab = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._grab is not None:
            self._grab[1].append(data)


def _parse(path: Path) -> Page:
    raw = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(raw)
    page.close()
    assert page.stack == [], f"unclosed elements {page.stack}"
    assert page.lang == "en"
    assert "script" not in page.tags and page.external == []  # self-contained, no script
    assert "<style>" in raw and "@media print" in raw
    # Every chart: a caption, an SVG image titled and described with the same sentences.
    assert page.text["figcaption"] == page.text["title"][1:]  # [0] is the page's <title>
    assert len(page.text["desc"]) == len(page.text["figcaption"])
    assert raw.count('role="img"') == len(page.text["figcaption"])
    return page


def _body(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def _split(text: str) -> tuple[float, float | None]:
    mean, _, ci = text.partition("±")
    return float(mean), float(ci) if ci else None


def _near(shown: str, value: float, scale: float, decimals: int) -> None:
    """A cell shown with ``decimals`` decimals equals ``value`` × ``scale`` so rounded."""
    assert float(shown.rstrip("% ")) == pytest.approx(
        round(value * scale, decimals), abs=10**-decimals
    ), (shown, value)


def test_staffing_report_matches_the_json_and_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forecast = tmp_path / "day.csv"
    forecast.write_text(
        f'interval,arrivals\n08:00,70\n"{NASTY.replace(chr(34), 2 * chr(34))}",85\n'
    )
    report = tmp_path / "plan.html"
    argv = ["staffing", "--forecast", str(forecast), "--aht-s", "360", "--patience-s", "180"]
    assert main([*argv, "--shrinkage", "0.3", "--format", "json", "--report", str(report)]) == 0
    rows = json.loads(capsys.readouterr().out)["intervals"]
    raw = report.read_text(encoding="utf-8")
    assert NASTY not in raw and "A &lt;b&gt;&amp;&quot;c&quot;" in raw
    page = _parse(report)
    assert page.text["figcaption"] == [
        "Staff needed vs scheduled by interval",
        "Expected service level and abandonment by interval",
    ]
    plan = _body(page.tables["Staffing per interval"])
    assert list(plan) == ["08:00", NASTY]
    for row in rows:
        cells = plan[row["interval"]]
        assert cells[0] == f"{row['arrivals']:g}"
        assert [int(cells[2]), int(cells[3])] == [row["agents"], row["scheduled"]]
        _near(cells[1], row["load_erlangs"], 1, 2)
        for k, field in enumerate(("p_wait", "sl_all", "sl_answered"), start=4):
            _near(cells[k], row[field], 100, 1)
        _near(cells[7], row["asa_s"], 1, 1)
        _near(cells[8], row["p_abandon"], 100, 1)
        _near(cells[9], row["occupancy"], 100, 1)
    staff = _body(page.tables["Staff needed vs scheduled by interval"])
    assert [int(staff[r["interval"]][2]) for r in rows] == [r["scheduled"] for r in rows]
    assumptions = _body(page.tables["Input assumptions"])
    assert assumptions["model"] == ["Erlang A (callers abandon)"]
    assert "Erlang C" in page.text["p"][-2]  # the formulas


def _region(tmp_path: Path, source: Path) -> Path:
    text = source.read_text(encoding="utf-8")
    name = text.split('name: "', 1)[1].split('"', 1)[0]
    region = tmp_path / "region.yaml"
    region.write_text(text.replace(f'name: "{name}"', f"name: '{NASTY}'", 1), encoding="utf-8")
    return region


def test_simulate_report_matches_the_json_and_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "sim.html"
    argv = ["simulate", "--config", str(_region(tmp_path, MMC)), "--rate", "advice=200"]
    args = ["--handle-s", "exp:180", "--patience", "exp:300", "--replications", "3"]
    args += ["--hours", "2", "--warmup-min", "20", "--quiet", "--seed", "5"]
    assert main([*argv, *args, "--format", "json", "--report", str(report)]) == 0
    figures = json.loads(capsys.readouterr().out)["services"]["advice"]
    raw = report.read_text(encoding="utf-8")
    assert NASTY not in raw and "Simulation: A &lt;b&gt;&amp;&quot;c&quot;" in raw
    page = _parse(report)
    assert page.text["figcaption"] == [
        "Service level by hour (advice)",
        "Wait distribution: advice",
    ]
    summary = page.tables["Per service: mean ± 95 % confidence interval"]
    assert summary[0][1:4] == ["arrivals", "SL20 of all (%)", "SL20 answered (%)"]
    row = _body(summary)["advice"]
    for k, (field, scale, decimals) in enumerate(
        [
            ("arrivals", 1, 0),
            ("sl_all", 100, 1),
            ("sl_answered", 100, 1),
            ("asa_s", 1, 1),
            ("p90_wait_s", 1, 0),
            ("abandoned", 100, 1),
            ("occupancy", 100, 1),
        ]
    ):
        mean, ci = _split(row[k])
        _near(str(mean), figures[field]["mean"], scale, decimals)
        assert ci is not None
        _near(str(ci), figures[field]["ci95"], scale, decimals)
    # The hourly counts are the replications' arrivals; the wait bands their answered.
    hours = _body(page.tables["Service level by hour (advice)"])
    assert list(hours) == ["08–09", "09–10"]  # the local clock: --start 08:00 by default
    arrivals = sum(int(cells[0]) for cells in hours.values())
    assert arrivals == round(figures["arrivals"]["mean"] * 3)
    answered = sum(int(cells[1]) for cells in hours.values())
    bands = _body(page.tables["Wait distribution: advice"])
    assert list(bands) == [
        "0–1 min",
        "1–2 min",
        "2–5 min",
        "5–10 min",
        "10–20 min",
        "20–30 min",
        "30–60 min",
        "60–120 min",
        "120–240 min",
        "240+ min",
    ]
    assert sum(int(cells[0]) for cells in bands.values()) == answered
    # SL over all arrivals and over answered, both shown and both named.
    for cells in hours.values():
        n, ans, within = (int(x) for x in cells[:3])
        assert cells[3] == f"{100 * within / n:.1f} %"
        assert cells[4] == f"{100 * within / ans:.1f} %"


def test_compare_report_matches_the_csv_and_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, out = tmp_path / "pool.html", tmp_path / "pool.csv"
    argv = ["compare", "pooling", "--config", str(_region(tmp_path, ISLANDS))]
    args = ["--rate", "advice=210", "--handle-s", "exp:180", "--replications", "3"]
    args += ["--hours", "1", "--warmup-min", "20", "--quiet", "--own-site-s", "30"]
    assert main([*argv, *args, "--out", str(out), "--report", str(report)]) == 0
    capsys.readouterr()
    with out.open(encoding="utf-8") as f:
        rows = {row["variant"]: row for row in csv.DictReader(f)}
    raw = report.read_text(encoding="utf-8")
    assert NASTY not in raw and "Islands vs one pool: A &lt;b&gt;&amp;&quot;c&quot;" in raw
    page = _parse(report)
    assert page.text["figcaption"] == [
        "Service level and abandonment by variant",
        "Mean wait by variant",
    ]
    assert raw.count('class="whisker"') >= 6  # the confidence intervals drawn
    table = _body(page.tables["Per variant, over all the streams: mean ± 95 % confidence interval"])
    assert list(table) == list(rows) == ["islands", "pool", "own site 30 s"]
    for variant, row in rows.items():
        for k, (field, scale, decimals) in enumerate(
            [("arrivals", 1, 0), ("sl_all", 100, 1), ("sl_answered", 100, 1), ("asa_s", 1, 1)]
        ):
            mean, ci = _split(table[variant][k])
            _near(str(mean), float(row[field]), scale, decimals)
            assert ci is not None
            _near(str(ci), float(row[f"{field}_ci95"]), scale, decimals)
    assert any(p.startswith("Gain of 'pool' over 'islands'") for p in page.text["p"])


@pytest.mark.parametrize(
    "argv",
    [
        ["staffing", "--arrivals-per-hour", "100", "--aht-s", "180"],
        ["simulate", "--config", str(MMC), "--rate", "advice=100", "--quiet"],
        ["compare", "pooling", "--config", str(ISLANDS), "--rate", "advice=100", "--quiet"],
    ],
    ids=["staffing", "simulate", "compare"],
)
@pytest.mark.parametrize("where", ["no-such-folder/r.html", "."], ids=["no-folder", "a-folder"])
def test_report_path_that_cannot_be_written_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], where: str
) -> None:
    path = tmp_path / where
    assert main([*argv, "--report", str(path)]) == 2
    captured = capsys.readouterr()
    assert "--report: expected" in captured.err and str(path) in captured.err
    assert captured.out == ""  # refused before any run
