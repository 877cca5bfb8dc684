"""A sealed segment is written by column (``router.service.audit.segment``): the rows read
back must be the rows sealed, value for value and type for type, whatever the records
hold; and a snapshot whose segments were written as rows (before the columns) still
loads and reads the same records.

``tests/data/audit_part_v1.pickle`` is the ``audit`` snapshot part of
``test_audit_listeners.play(2)`` (two segments of two records) as the code of
``eb23061`` wrote it: segments of pickled rows."""

from __future__ import annotations

import json
import math
import pickle
import random
import zlib
from pathlib import Path
from typing import Any

import pytest

from router.core.model import Channel
from router.service.audit.record import AuditRecord, as_rows, from_row
from router.service.audit.segment import FORMAT, SAME, VALUES, decode_rows, encode
from router.store.codec import PROTOCOL, decode
from tests.test_audit_listeners import golden, play, recorded

OLD_PART = Path(__file__).parent / "data" / "audit_part_v1.pickle"


def exact(rows: list[tuple[Any, ...]]) -> str:
    """The rows as text that tells ``0`` from ``False`` and ``0.0``, ``-0.0`` from
    ``0.0`` and a ``Channel`` from its string (``repr`` does)."""
    return repr(rows)


def through_the_codec(records: list[AuditRecord]) -> list[tuple[Any, ...]]:
    blob = zlib.compress(pickle.dumps(encode(records), PROTOCOL), 1)
    return decode_rows(decode(zlib.decompress(blob)))


def closed_call(i: int, agent: str, t: float) -> AuditRecord:
    r = AuditRecord(f"c{i}", t, t, "2026-11-24", "voice", "nursing_advice", "P4", "fi", "vaasa")
    r.due_at = r.due_now = t + 7200.0
    r.number = f"+35840*****{i % 100:02d}"
    # One object per time, written into each field that holds it, as the audit does.
    accepted, closed = t + 5.0, t + 65.0
    r.assigned_at = r.answered_at = accepted
    r.assigned_due = r.answered_due = r.due_at
    r.answered_by = r.closed_by = agent
    r.closed_at, r.outcome = closed, "resolved"
    r.trail = [
        (t, "arrived", None, "voice", "nursing_advice", "P4", "fi", "vaasa", t, r.due_at, r.number),
        (t, "offered", agent, "voice", "own_site", "longest_idle", t + 20.0, None),
        (accepted, "accepted", agent, "nursing_advice", "vaasa", 5.0, r.due_at, True),
        (closed, "closed", agent, "resolved", "nursing_advice", "voice"),
    ]
    return r


def test_closed_calls_of_one_shape_read_back_the_same_and_repeat_nothing() -> None:
    records = [closed_call(i, f"a{i % 7:03d}", 1.8e9 + i * 3.25) for i in range(50)]
    rows = as_rows(records)
    assert exact(through_the_codec(records)) == exact(rows)
    fmt, count, how, data, groups = encode(records)
    assert (fmt, count, groups) == (FORMAT, 50, [((11, 8, 8, 6), None)])
    # Kept as values: the arrival, deadline, acceptance, offer expiry and close times,
    # the wait (floats are never ``SAME``), the agent, the id and the number; everything
    # else is one value or another column.
    assert how.count(VALUES) == 9
    assert data[how.index(SAME)] == (0,)  # ``attempts``, the first field every record shares


def mixed(rng: random.Random, i: int) -> AuditRecord:
    """A record with values chosen to trip an encoding that trusts ``==``: ints, bools
    and floats that are equal, ``-0.0``, NaN, a ``Channel`` and its string, and trails of
    several shapes (empty, an older entry of another length)."""
    tricky: list[Any] = [0, False, 0.0, -0.0, 1, True, 1.0, None, "voice", Channel.VOICE]

    def pick(*values: Any) -> Any:
        return rng.choice(values)

    r = AuditRecord(f"m{i}", pick(1.8e9, 1.8e9 + 0.5, 1800000000))
    r.day = pick("2026-11-24", "2026-11-25")
    r.channel = r.channel_now = pick("voice", Channel.VOICE)
    r.attempts = pick(0, 0, 0, False, 1)
    r.partial = pick(False, False, 0)
    r.omitted = pick(0, 0.0)
    r.was_callback = pick(True, 1)
    r.due_at = pick(None, 0.0, -0.0, math.nan, 1.8e9)
    r.due_now = r.due_at if rng.random() < 0.8 else rng.choice(tricky)
    r.closed_at = pick(1.8e9 + 1, 1800000001)
    r.outcome = pick("resolved", "refused")
    shapes = [[], [3, 4], [3, 4, 5], [5], [3]]
    r.trail = [
        (float(i), "queued", *(rng.choice(tricky) for _ in range(n - 2)))
        for n in rng.choice(shapes)
    ]
    return r


@pytest.mark.parametrize("seed", range(20))
def test_any_records_read_back_value_for_value_and_type_for_type(seed: int) -> None:
    rng = random.Random(seed)
    records = [mixed(rng, i) for i in range(rng.choice([1, 2, 5, 40]))]
    rows = as_rows(records)
    got = through_the_codec(records)
    assert exact(got) == exact(rows)
    for row, record in zip(got, records, strict=True):  # trails are lists of tuples
        assert isinstance(row[-4], list) and row[-4] == record.trail
        assert exact(as_rows([from_row(row)])) == exact([as_rows([record])[0]])


def test_a_column_is_another_only_where_it_reads_back_the_same() -> None:
    a, b = closed_call(1, "a001", 1.8e9), closed_call(2, "a002", 1.8e9 + 10)
    b.due_now = int(b.due_at or 0)  # equal to ``due_at``, but an int
    got = through_the_codec([a, b])
    assert exact(got) == exact(as_rows([a, b]))
    assert type(got[1][AuditRecord.__slots__.index("due_now")]) is int


def test_a_snapshot_with_segments_of_rows_still_loads_and_reads_the_same() -> None:
    old: dict[str, Any] = decode(OLD_PART.read_bytes())
    assert old["version"] == 1 and len(old["segments"]) == 2 and not old["live"]
    for *_, blob in old["segments"]:  # written as rows, not columns
        assert isinstance(decode(zlib.decompress(blob)), list)
    audit = play(500).audit
    audit.restore(old)
    assert json.loads(json.dumps(recorded(audit))) == golden()
    # New records seal by column next to the old segments, and both read back.
    audit.settings = type(audit.settings)(seal_every=1)
    now = audit.now + 1.0
    record = closed_call(9, "a001", now)
    audit._insert(record, now)
    audit.closed.append(record.id)
    audit._seal()
    newest = next(reversed(audit.segments.values()))
    assert decode(zlib.decompress(newest.blob))[0] == FORMAT
    assert exact(newest.rows()) == exact(as_rows([closed_call(9, "a001", now)]))
    assert json.loads(json.dumps(recorded(audit))) == golden()
    copy = play(500).audit
    copy.restore(audit.capture())
    assert json.loads(json.dumps(recorded(copy))) == golden()
    assert exact(as_rows([copy.get("c9")])) == exact(as_rows([audit.get("c9")]))  # type: ignore[list-item]


def test_a_restored_audits_segments_still_go_when_past_the_retention() -> None:
    """The oldest segment's ``newest`` is kept rather than found on each arrival: kept
    across a restore, a seal and a drop."""
    audit = play(500).audit
    audit.restore(decode(OLD_PART.read_bytes()))
    first, second = audit.segments.values()
    assert audit._head_newest == first.newest > second.newest
    # Past the second segment's retention but not the first's: the oldest segment (the
    # first) decides, as it did when it was looked up on each arrival; nothing goes.
    now = first.newest + audit.retention_s
    audit._insert(closed_call(1, "a001", now), now)
    assert list(audit.segments) == [first.number, second.number]
    # Past the first's: both go, and the kept value follows.
    now += 0.5
    audit._insert(closed_call(2, "a001", now), now)
    assert not audit.segments and audit._head_newest == float("inf")
    # A seal into no segment sets it again; a later one leaves it.
    audit.closed = ["c1"]
    audit._seal()
    (only,) = audit.segments.values()
    assert audit._head_newest == only.newest
    later = now + 1.0
    audit._insert(closed_call(3, "a001", later), later)
    audit.closed = ["c2", "c3"]
    audit._seal()
    assert len(audit.segments) == 2 and audit._head_newest == only.newest
