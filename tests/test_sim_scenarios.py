"""``yhteys simulate``'s scenarios: arrival curves, handle times per channel, shifts,
callbacks, results per site and language, replays of an audit export, and where a bad
file is wrong."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from router.cli import main
from router.config import load_region
from router.core.model import Channel
from router.whatif.demand import parse_local
from router.whatif.model import ALL, Arrival, Distribution, Scenario, Stream
from router.whatif.replay import read_replay
from router.whatif.replication import run_detailed
from router.whatif.shifts import read_shifts

MMC = "tests/data/mmc-region.yaml"  # one service, 14 identical agents, FIFO
SAMPLE = "config/region.yaml"
ZONE = "Europe/Helsinki"


def _simulate(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["simulate", "--quiet", "--format", "json", *args]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_curve_with_no_arrivals_in_an_hour_has_none_then() -> None:
    policy = load_region(MMC).policy()
    scenario = Scenario(
        streams=(Stream("advice", 120.0, rates=(120.0, 0.0, 120.0)),),
        handle={"*": Distribution.parse("exp:180")},
        measure_s=3 * 3600.0,
        warmup_s=1800.0,
    )
    hours = run_detailed(policy, scenario, 3).details[ALL].hours
    arrivals = [row[0] for row in hours]
    assert arrivals[1] == 0
    # 120 an hour over three replications: about 360 in each of the other hours.
    assert 280 < arrivals[0] < 440 and 280 < arrivals[2] < 440


def test_a_curve_file_sets_the_rates_from_its_first_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    curve = _write(tmp_path, "day.csv", "time,advice\n08:00,0\n09:00,300\n10:00,0\n")
    one = ["--config", MMC, "--curve", curve, "--replications", "2", "--warmup-min", "0"]
    doc = _simulate(capsys, *one)
    assert 230 < doc["services"]["advice"]["arrivals"]["mean"] < 370  # 300 in 3 h
    # Started an hour later, the measured window holds the busy hour's 300, then nothing.
    late = _simulate(capsys, *one, "--start", "09:00", "--hours", "1")
    assert 230 < late["services"]["advice"]["arrivals"]["mean"] < 370
    later = _simulate(capsys, *one, "--start", "10:00", "--hours", "2")
    assert later["services"]["advice"]["arrivals"]["mean"] == 0


def test_handle_time_per_channel(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", MMC, "--rate", "advice=100", "--replications", "2", "--hours", "2"]
    short = _simulate(capsys, *base, "--handle-s", "det:120")
    # 100 calls an hour of 120 s on 14 agents: 100 × 120 / (14 × 3600) = 23.8 % occupied.
    assert short["services"]["advice"]["occupancy"]["mean"] == pytest.approx(0.238, abs=0.03)
    voice = _simulate(capsys, *base, "--handle-s", "det:120", "--handle", "advice/voice=det:360")
    assert voice["services"]["advice"]["occupancy"]["mean"] == pytest.approx(0.714, abs=0.08)
    chat = _simulate(capsys, *base, "--handle-s", "det:120", "--handle", "advice/chat=det:360")
    assert chat["services"]["advice"]["occupancy"] == short["services"]["advice"]["occupancy"]


def test_a_shift_that_ends_sends_its_agents_home_and_waits_grow(tmp_path: Path) -> None:
    # 200 calls an hour of 180 s = 10 Erlangs: 14 agents answer nearly all at once; after
    # 10:00 only 7 are left and the queue grows without end.
    region = load_region(MMC)
    policy = region.policy()
    day = "2027-01-04T"
    rows = [f"a{n:02d},08:00,12:00" for n in range(1, 8)]
    rows += [f"a{n:02d},08:00,10:00" for n in range(8, 15)]
    shifts = read_shifts(
        io.StringIO("who,start,end\n" + "\n".join(rows)), "s.csv", policy, ZONE, date(2027, 1, 4)
    )
    start = parse_local(day + "08:00", ZONE)
    scenario = Scenario(
        streams=(Stream("advice", 200.0),),
        handle={"*": Distribution.parse("exp:180")},
        measure_s=4 * 3600.0,
        warmup_s=0.0,
        start_at=start,
        shifts=shifts,
    )
    outcome = run_detailed(policy, scenario, 2)
    hours = outcome.details[ALL].hours
    sl = [within / n for n, _, within in hours]
    assert sl[0] > 0.8 and sl[3] < 0.2
    # Occupancy is over the logged-in time (14 agents for 2 h, 7 for 2 h): the seven
    # left are busy all the time, the fourteen about 10/14 of it.
    occupancy = outcome.services["advice"]["occupancy"].mean
    assert occupancy == pytest.approx((2 * 10 + 2 * 7) / (2 * 14 + 2 * 7), abs=0.05)


def test_per_site_and_language_rows_add_up_to_the_total(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = _simulate(
        capsys,
        "--config",
        SAMPLE,
        "--rate",
        "nursing_advice@vaasa=60",
        "--rate",
        "nursing_advice/voice/sv@jakobstad=30",
        "--rate",
        "oral_health/voice/fi=20",
        "--replications",
        "3",
        "--hours",
        "2",
    )
    total = doc["services"][ALL]
    for by in ("sites", "languages"):
        groups = doc[by]
        assert set(groups) >= ({"vaasa", "jakobstad", "-"} if by == "sites" else {"sv", "fi"})
        for figure in ("arrivals", "occupancy"):
            summed = sum(g[figure]["mean"] for g in groups.values())
            assert summed == pytest.approx(total[figure]["mean"], rel=1e-9)
    assert doc["sites"]["jakobstad"]["arrivals"]["mean"] > 0
    assert doc["languages"]["sv"]["arrivals"] == doc["sites"]["jakobstad"]["arrivals"]


def test_callbacks_and_attempts(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", SAMPLE, "--rate", "nursing_advice/callback/fi=30", "--hours", "2"]
    base += ["--replications", "3", "--warmup-min", "0"]
    sure = _simulate(capsys, *base)["services"]["nursing_advice"]
    assert sure["callbacks"]["mean"] == sure["arrivals"]["mean"] > 0
    assert sure["callback_attempts"]["mean"] == sure["callbacks"]["mean"]  # one each
    # Half the attempts ring out: more attempts than callbacks, tried again after the
    # service's retry time, some never reached (3 attempts: 1/8 unreachable).
    half = _simulate(capsys, *base, "--callback-reach", "0.5")["services"]["nursing_advice"]
    assert half["callback_attempts"]["mean"] > 1.5 * half["callbacks"]["mean"]
    assert half["sl_all"]["mean"] < sure["sl_all"]["mean"]
    assert half["abandoned"]["mean"] == 0  # a callback's caller never abandons


def test_the_table_shows_sites_languages_and_callbacks(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--config", SAMPLE, "--quiet", "--replications", "2", "--hours", "1"]
    argv += ["--rate", "nursing_advice/callback/sv@narpes=10", "--rate", "nursing_advice=20"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    heads = [line.split()[0] for line in out.splitlines() if "arrivals" in line]
    assert heads == ["service", "site", "language"]
    assert "callbacks" in out and "attempts" in out


def _export(n: int) -> list[dict[str, Any]]:
    """Records as the audit's JSON lines export writes them (docs/audit.md)."""
    kinds = [
        ("nursing_advice", "voice", "P4", "fi", "vaasa"),
        ("nursing_advice", "callback", "P3", "sv", "jakobstad"),
        ("oral_health", "voice", "normal", "sv", "narpes"),
        ("nursing_advice", "chat", "P5", None, None),
    ]
    t0 = parse_local("2026-11-24T08:00", ZONE)
    records = []
    for i in range(n):
        service, channel, urgency, language, site = kinds[i % len(kinds)]
        at = t0 + i * 97.0
        records.append(
            {
                "contact_id": f"phone-c{i}",
                "day": "2026-11-24",
                "state": "closed",
                "channel": channel,
                "service": service,
                "urgency": urgency,
                "language": language,
                "site": site,
                "arrived_at": at,
                "outcome": "resolved",
                "trail": [{"at": at, "change": "arrived"}],
            }
        )
    records.append({**records[0], "contact_id": "refused-phone-x", "outcome": "refused"})
    return records


def _as_csv(records: list[dict[str, Any]], rows: str) -> str:
    out = io.StringIO()
    if rows == "contacts":
        heads = ["contact_id", "day", "state", "channel", "service", "urgency", "language"]
        heads += ["site", "arrived_at", "outcome"]
    else:
        heads = ["contact_id", "at", "time", "change", "channel", "service", "urgency"]
        heads += ["language", "site", "arrived_at", "outcome"]
    writer = csv.writer(out)
    writer.writerow(heads)
    for r in records:
        local = datetime.fromtimestamp(r["arrived_at"], ZoneInfo(ZONE)).isoformat()
        row = {**r, "arrived_at": local, "at": r["arrived_at"], "time": local}
        if rows == "changes":
            row["change"] = "refused" if r["outcome"] == "refused" else "arrived"
            writer.writerow(["" if row.get(h) is None else row[h] for h in heads])
            row["change"] = "closed"
        writer.writerow(["" if row.get(h) is None else row[h] for h in heads])
    return out.getvalue()


def test_replay_reproduces_the_exports_arrivals(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = _export(120)
    jsonl = _write(tmp_path, "day.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    region = load_region(SAMPLE)
    urgencies = {name: tuple(s.urgencies) for name, s in region.policy().services.items()}
    read: list[tuple[Arrival, ...]] = []
    for text in (
        Path(jsonl).read_text(encoding="utf-8"),
        _as_csv(records, "contacts"),
        _as_csv(records, "changes"),
    ):
        read.append(read_replay(io.StringIO(text), "x", urgencies, region.languages, region.sites))
    assert read[0] == read[1] == read[2]
    assert len(read[0]) == 120 and read[0][1].channel is Channel.CALLBACK
    doc = _simulate(capsys, "--config", SAMPLE, "--replay", jsonl, "--replications", "1")
    sites = Counter(r["site"] or "-" for r in records[:120])
    languages = Counter(r["language"] or "-" for r in records[:120])
    services = Counter(r["service"] for r in records[:120])
    assert {k: v["arrivals"]["mean"] for k, v in doc["sites"].items()} == sites
    assert {k: v["arrivals"]["mean"] for k, v in doc["languages"].items()} == languages
    assert {k: v["arrivals"]["mean"] for k, v in doc["services"].items() if k != ALL} == services
    assert doc["services"]["nursing_advice"]["callbacks"]["mean"] == 30


@pytest.mark.parametrize(
    ("option", "name", "text", "message"),
    [
        ("--curve", "day.csv", "time,advice\n08:00,1\n09:00,many\n", "day.csv:3:2 (advice): "),
        ("--curve", "day.csv", "time,advice\n08:00,1\n09:00,2\n11:00,3\n", "day.csv:4:1 (time)"),
        ("--curve", "day.csv", "time,advice/fax\n08:00,1\n", "day.csv:1:2 (advice/fax)"),
        ("--curve", "day.csv", "hour,advice\n08:00,1\n", "day.csv:1:1: expected the header"),
        ("--shifts", "s.csv", "who,start,end\na01,08:00,16:60\n", "s.csv:2:3 (end): expected"),
        ("--shifts", "s.csv", "who,start,end\nnobody,08:00,16:00\n", "s.csv:2:1 (who)"),
        (
            "--replay",
            "r.csv",
            "contact_id,day,state,channel,service,arrived_at\nc1,d,closed,voice,advise,0\n",
            "r.csv:2:5 (service): expected a service of the region (advice), got 'advise'",
        ),
        ("--replay", "r.jsonl", '{"service": "advice",\n', "r.jsonl:1:"),
    ],
)
def test_a_bad_file_says_where(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    option: str,
    name: str,
    text: str,
    message: str,
) -> None:
    path = _write(tmp_path, name, text)
    argv = ["simulate", "--config", MMC, "--quiet", option, path]
    if option == "--shifts":
        argv += ["--rate", "advice=10"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"yhteys simulate: {tmp_path}/{message}"), err


def test_an_agent_finishes_the_call_in_hand_before_leaving(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # One agent on 08:00-09:00; a 10-minute call at 08:55 runs on to 09:05, a call at
    # 09:01 finds nobody. Occupancy counts the five minutes over: 600 s of 3600 + 300.
    shifts = _write(tmp_path, "s.csv", "who,start,end\na01,08:00,09:00\n")
    calls = [
        {
            "service": "advice",
            "channel": "voice",
            "arrived_at": parse_local(f"2026-11-24T{t}", ZONE),
        }
        for t in ("08:55", "09:01")
    ]
    replay = _write(tmp_path, "r.jsonl", "".join(json.dumps(c) + "\n" for c in calls))
    doc = _simulate(
        capsys,
        *("--config", MMC, "--replay", replay, "--shifts", shifts, "--handle-s", "det:600"),
        *("--start", "08:00", "--hours", "2", "--replications", "1", "--warmup-min", "0"),
    )
    advice = doc["services"]["advice"]
    assert advice["arrivals"]["mean"] == 2
    assert advice["sl_all"]["mean"] == 0.5 and advice["asa_s"]["mean"] == 0
    assert advice["occupancy"]["mean"] == pytest.approx(600 / 3900)


def test_a_callback_whose_last_attempt_fails_after_the_shift_counts_its_overtime_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # One agent on 08:00-09:00 takes a callback at 08:59:45; its one attempt rings out
    # 30 s later (reach 0.1 %: seed 1 misses), after the shift, and closes it unreachable.
    # The attempt and the close both name the agent: its 15 s of overtime count once
    # (30 s busy of 3,615 staffed).
    region = Path(MMC).read_text(encoding="utf-8").split("agents:")[0]
    region = region.replace(
        "    offer_timeout_s: 60\n",
        "    offer_timeout_s: 60\n    callback: {attempts: 1, retry_s: 900}\n",
    )
    region += (
        "agents:\n  - {id: a01, name: Agent 1, team: t1, skills: {nursing: 1}, "
        "languages: [fi], capacity: {voice: 1, callback: 1}}\n"
    )
    config = _write(tmp_path, "region.yaml", region)
    shifts = _write(tmp_path, "s.csv", "who,start,end\na01,08:00,09:00\n")
    callback = {
        "service": "advice",
        "channel": "callback",
        "arrived_at": parse_local("2026-11-24T08:59:45", ZONE),
    }
    replay = _write(tmp_path, "r.jsonl", json.dumps(callback) + "\n")
    doc = _simulate(
        capsys,
        *("--config", config, "--replay", replay, "--shifts", shifts, "--callback-reach", "0.001"),
        *("--start", "08:00", "--hours", "2", "--replications", "1", "--warmup-min", "0"),
    )
    advice = doc["services"]["advice"]
    assert advice["callbacks"]["mean"] == 1 and advice["callback_attempts"]["mean"] == 1
    assert advice["occupancy"]["mean"] == pytest.approx(30 / 3615)


def test_the_documented_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    day = _simulate(
        capsys,
        *("--curve", "docs/examples/curve-nursing.csv", "--patience", "exp:180"),
        *("--shifts", "docs/examples/shifts-nursing.csv", "--callback-reach", "0.7"),
        *(
            "--replications",
            "1",
        ),
    )
    assert day["services"]["nursing_advice"]["callbacks"]["mean"] > 0
    morning = _simulate(
        capsys,
        *("--replay", "docs/examples/audit-2026-11-24.csv", "--start", "08:00"),
        *("--hours", "4", "--replications", "1"),
    )
    assert morning["services"][ALL]["arrivals"]["mean"] == 145  # the refusal left out


def test_callers_who_wait_ask_for_callbacks_where_someone_takes_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["--rate", "nursing_advice=200", "--patience", "exp:180", "--hours", "2"]
    base += ["--replications", "3", "--config", SAMPLE]
    stay = _simulate(capsys, *base)["services"]["nursing_advice"]
    ask = _simulate(capsys, *base, "--callback-after-s", "60")["services"]["nursing_advice"]
    assert stay["callbacks"]["mean"] == 0 < ask["callbacks"]["mean"]
    assert ask["callback_attempts"]["mean"] >= ask["callbacks"]["mean"] * 0.9
    # A caller who asked for a callback no longer hangs up: fewer abandon.
    assert ask["abandoned"]["mean"] < stay["abandoned"]["mean"]
    assert ask["arrivals"] == stay["arrivals"]  # the same callers
    # Nobody on the M/M/14 region takes callbacks: its callers are not offered one.
    mmc = ["--config", MMC, "--rate", "advice=200", "--hours", "1", "--replications", "1"]
    none = _simulate(capsys, *mmc, "--callback-after-s", "10")["services"]["advice"]
    assert none["callbacks"]["mean"] == 0
