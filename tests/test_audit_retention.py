"""The oldest segment's ``newest`` is kept (``AuditStore._head_newest``) rather than found
on each arrival: segments must still go when past the retention, as when it was looked
up, across a restore, a seal and a drop.

``tests/data/audit_part_v1.pickle`` is the ``audit`` snapshot part of
``test_audit_listeners.play(2)`` (two segments of two records) as the code of
``eb23061`` wrote it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from router.service.audit.record import AuditRecord
from router.store.codec import decode
from tests.test_audit_listeners import golden, play, recorded

OLD_PART = Path(__file__).parent / "data" / "audit_part_v1.pickle"


def closed_call(i: int, agent: str, t: float) -> AuditRecord:
    r = AuditRecord(f"c{i}", t, t, "2026-11-24", "voice", "nursing_advice", "P4", "fi", "vaasa")
    r.due_at = r.due_now = t + 7200.0
    accepted, closed = t + 5.0, t + 65.0
    r.assigned_at = r.answered_at = accepted
    r.assigned_due = r.answered_due = r.due_at
    r.answered_by = r.closed_by = agent
    r.closed_at, r.outcome = closed, "resolved"
    r.trail = [
        (t, "arrived", None, "voice", "nursing_advice", "P4", "fi", "vaasa", t, r.due_at, None),
        (accepted, "accepted", agent, "nursing_advice", "vaasa", 5.0, r.due_at, True),
        (closed, "closed", agent, "resolved", "nursing_advice", "voice"),
    ]
    return r


def test_a_snapshot_written_by_the_earlier_code_loads_and_reads_the_same() -> None:
    old: dict[str, Any] = decode(OLD_PART.read_bytes())
    assert old["version"] == 1 and len(old["segments"]) == 2 and not old["live"]
    audit = play(500).audit
    audit.restore(old)
    assert json.loads(json.dumps(recorded(audit))) == golden()


def test_a_restored_audits_segments_still_go_when_past_the_retention() -> None:
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
