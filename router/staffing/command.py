"""``yhteys staffing``: agents needed per interval (Erlang C, or Erlang A with patience)
from a constant arrival rate or a CSV forecast, printed as a table, CSV or JSON.

The forecast CSV has a header row; columns ``interval`` (a label, e.g. ``08:00``) and
``arrivals`` (contacts arriving in that interval), optionally ``aht_s`` and
``patience_s`` per interval (else the command's ``--aht-s`` / ``--patience-s``). Every
interval is ``--interval-min`` minutes long.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from typing import TextIO

from router.csv_rows import data_rows
from router.staffing import html
from router.staffing.erlang import StaffingError
from router.staffing.plan import Interval, Row, Target, plan
from router.staffing.report import report


class InputError(StaffingError):
    """A bad option or forecast row: the message names where and what was expected."""


def parse_target(text: str) -> tuple[float, float]:
    """``0.8/20`` or ``80%/20``: the share answered within the seconds."""
    share, sep, seconds = text.partition("/")
    if not sep:
        raise InputError(f"--target: expected SHARE/SECONDS such as 0.8/20, got {text!r}")
    try:
        level = float(share[:-1]) / 100.0 if share.endswith("%") else float(share)
        answer_s = float(seconds)
    except ValueError:
        raise InputError(f"--target: expected SHARE/SECONDS such as 0.8/20, got {text!r}") from None
    if not 0.0 < level < 1.0:
        raise InputError(
            f"--target: expected a share between 0 and 1 (or 0% and 100%), exclusive, got {share!r}"
        )
    if not 0.0 <= answer_s < math.inf:
        raise InputError(f"--target: expected seconds >= 0, got {seconds!r}")
    return level, answer_s


def _number(raw: str, where: str, *, positive: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        expected = "a number > 0" if positive else "a number >= 0"
        raise InputError(f"{where}: expected {expected}, got {raw!r}")
    return value


def read_forecast(
    stream: TextIO, name: str, length_s: float, aht_s: float, patience_s: float
) -> list[Interval]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        raise InputError(f"{name}: empty file; expected a header row with interval,arrivals")
    columns = [h.strip() for h in header]
    missing = [c for c in ("interval", "arrivals") if c not in columns]
    if missing:
        raise InputError(
            f"{name}:1: expected columns interval and arrivals (optional aht_s, "
            f"patience_s), missing {', '.join(missing)}; got {', '.join(columns)}"
        )
    index = {c: i for i, c in enumerate(columns)}
    intervals = []
    for line, row in data_rows(reader, len(columns), name, InputError):

        def cell(column: str, line: int = line, row: list[str] = row) -> tuple[str, str]:
            col = index[column] + 1
            return row[index[column]].strip(), f"{name}:{line}:{col} ({column})"

        label, _ = cell("interval")
        arrivals = _number(*cell("arrivals"), positive=False)
        aht = _number(*cell("aht_s"), positive=True) if "aht_s" in index else aht_s
        patience = (
            _number(*cell("patience_s"), positive=True) if "patience_s" in index else patience_s
        )
        intervals.append(Interval(label, arrivals, length_s, aht, patience))
    if not intervals:
        raise InputError(f"{name}: no intervals after the header")
    return intervals


_FIELDS = (
    "interval",
    "arrivals",
    "load_erlangs",
    "agents",
    "scheduled",
    "p_wait",
    "sl_all",
    "sl_answered",
    "asa_s",
    "mean_wait_s",
    "p_abandon",
    "occupancy",
)


def _record(row: Row) -> dict[str, object]:
    r = row.result
    return {
        "interval": row.interval.label,
        "arrivals": row.interval.arrivals,
        "load_erlangs": round(r.load_erlangs, 4),
        "agents": r.agents,
        "scheduled": row.scheduled,
        "p_wait": round(r.p_wait, 4),
        "sl_all": round(r.sl_all, 4),
        "sl_answered": round(r.sl_answered, 4),
        "asa_s": round(r.asa_s, 2),
        "mean_wait_s": round(r.mean_wait_s, 2),
        "p_abandon": round(r.p_abandon, 4),
        "occupancy": round(r.occupancy, 4),
    }


def render(rows: list[Row], fmt: str, target: Target, out: TextIO) -> None:
    if fmt == "json":
        json.dump({"intervals": [_record(r) for r in rows]}, out, indent=2)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=_FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(_record(r))
        return
    t = int(target.answer_s) if target.answer_s.is_integer() else target.answer_s
    head = (
        f"{'interval':<10} {'arrivals':>8} {'load':>7} {'agents':>6} {'sched':>6} "
        f"{'P(wait)':>7} {f'SL{t} all':>9} {f'SL{t} ans':>9} {'ASA s':>7} "
        f"{'abandon':>7} {'occup':>6}"
    )
    out.write(head + "\n")
    for row in rows:
        res = row.result
        out.write(
            f"{row.interval.label:<10} {row.interval.arrivals:>8g} {res.load_erlangs:>7.2f} "
            f"{res.agents:>6} {row.scheduled:>6} {res.p_wait:>7.1%} {res.sl_all:>9.1%} "
            f"{res.sl_answered:>9.1%} {res.asa_s:>7.1f} {res.p_abandon:>7.1%} "
            f"{res.occupancy:>6.1%}\n"
        )
    if len(rows) > 1:
        length_h = rows[0].interval.length_s / 3600.0
        agent_h = sum(r.result.agents for r in rows) * length_h
        sched_h = sum(r.scheduled for r in rows) * length_h
        out.write(f"agent-hours: {agent_h:g} on the phones, {sched_h:g} scheduled\n")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "staffing",
        help="agents needed per interval (Erlang C, or Erlang A with --patience-s)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--arrivals-per-hour",
        type=float,
        metavar="N",
        help="a constant arrival rate (contacts per hour); or give --forecast",
    )
    p.add_argument(
        "--forecast",
        metavar="FILE.csv",
        help="arrivals per interval: CSV with columns interval,arrivals[,aht_s,patience_s]",
    )
    p.add_argument(
        "--interval-min",
        type=float,
        default=30.0,
        metavar="MIN",
        help="length of each forecast interval in minutes (%(default)g)",
    )
    p.add_argument(
        "--aht-s", type=float, required=True, metavar="S", help="mean handle time in seconds"
    )
    p.add_argument(
        "--target",
        default="0.8/20",
        metavar="SHARE/S",
        help="service level: share answered within S seconds, e.g. 0.8/20 or 80%%/20 "
        "(%(default)s); 'none' with --max-abandon alone",
    )
    p.add_argument(
        "--sl-over",
        choices=["all", "answered"],
        default="all",
        help="count the service level over all arrivals (abandoned ones as missed) or over "
        "answered contacts only (%(default)s)",
    )
    p.add_argument(
        "--patience-s",
        type=float,
        metavar="S",
        help="mean patience in seconds (exponential): Erlang A; without it Erlang C "
        "(nobody abandons)",
    )
    p.add_argument(
        "--max-abandon",
        type=float,
        metavar="SHARE",
        help="also at most this share of arrivals abandoning, e.g. 0.05 (needs --patience-s)",
    )
    p.add_argument(
        "--shrinkage",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of paid time away from the phones (breaks, training, absence), e.g. 0.3: "
        "scheduled = agents / (1 - shrinkage) (%(default)g)",
    )
    p.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (%(default)s)",
    )
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write an HTML report (charts of staff needed vs scheduled and of the "
        "expected service level, the assumptions, the formulas and the table)",
    )
    p.set_defaults(func=run)


def _intervals(args: argparse.Namespace, patience_s: float) -> list[Interval]:
    if args.interval_min <= 0:
        raise InputError(f"--interval-min: expected minutes > 0, got {args.interval_min:g}")
    length_s = args.interval_min * 60.0
    if (args.forecast is None) == (args.arrivals_per_hour is None):
        raise InputError("expected exactly one of --arrivals-per-hour and --forecast")
    if args.forecast is not None:
        try:
            with open(args.forecast, encoding="utf-8", newline="") as f:
                text = f.read()
        except OSError as exc:
            raise InputError(f"{args.forecast}: cannot read: {exc.strerror}") from None
        return read_forecast(io.StringIO(text), args.forecast, length_s, args.aht_s, patience_s)
    rate = _number(str(args.arrivals_per_hour), "--arrivals-per-hour", positive=False)
    return [Interval("constant", rate, 3600.0, args.aht_s, patience_s)]


def run(args: argparse.Namespace) -> int:
    try:
        if not args.aht_s > 0 or not math.isfinite(args.aht_s):
            raise InputError(f"--aht-s: expected seconds > 0, got {args.aht_s:g}")
        patience_s = math.inf
        if args.patience_s is not None:
            if not args.patience_s > 0:
                raise InputError(f"--patience-s: expected seconds > 0, got {args.patience_s:g}")
            patience_s = args.patience_s
        if args.max_abandon is not None and args.patience_s is None:
            raise InputError("--max-abandon needs --patience-s: without patience nobody abandons")
        if args.target.strip().lower() == "none":
            level, answer_s = None, 20.0
        else:
            level, answer_s = parse_target(args.target)
        target = Target(level, answer_s, args.max_abandon, args.sl_over == "answered")
        if args.report is not None:
            html.check_path(args.report)
        rows = plan(_intervals(args, patience_s), target, args.shrinkage)
        if args.report is not None:
            html.write(args.report, report(rows, target, args.shrinkage))
    except (StaffingError, html.ReportPathError) as exc:
        print(f"yhteys staffing: {exc}", file=sys.stderr)
        return 2
    render(rows, args.format, target, sys.stdout)
    return 0
