"""What the audit's cheaper listeners must keep: the same records, entries, fields and
order for a phone call's whole lifecycle, a callback with a retry, a transfer and a
supervisor's removal, whether the records are still live or sealed into a segment (and
read back from a snapshot); the same snapshot bytes; and which decision kinds the dispatch
loop hands the audit.

``tests/data/audit_trails.json`` is what the audit recorded for these scenarios before
its listeners were made cheaper (written by the code of ``8cc394e``): any change to
what is recorded shows up as a difference from it."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, cast

import pytest

from router.core import decisions as d
from router.core.events import (
    AgentLoggedIn,
    CallbackAttempted,
    ChannelSwitched,
    ContactArrived,
    ContactCancelled,
    ContactCompleted,
    ContactMoved,
    Event,
    OfferAccepted,
    TimerDue,
    WrapUpDone,
)
from router.core.model import Channel, ContactSpec
from router.instance import audit_for
from router.service.audit import Audit, AuditSettings, Removal
from router.service.audit.record import as_rows
from router.service.audit.recorder import RECORDED
from router.service.runtime import MemoryRuntime, Note
from router.service.service import Service, Settings
from router.store.codec import PROTOCOL, encode
from tests.service_support import at, region

GOLDEN = Path(__file__).parent / "data" / "audit_trails.json"
CONTACTS = ("phone-life", "phone-cb", "phone-moved", "phone-gone")


class Refused:
    """Stands for a submitter's future: a refused input fails the test."""

    def done(self) -> bool:
        return False

    def set_result(self, result: object) -> None:
        pass

    def set_exception(self, exc: BaseException) -> None:
        raise AssertionError(f"refused: {exc!r}")


class Scenario:
    """A service on a fake clock, fed engine events and notes through the dispatch
    loop's own path (``Applier._apply_event``), so every listener hears them in order."""

    def __init__(self, seal_every: int) -> None:
        self.now = at("2026-11-24 09:00")
        self.service = Service(region(), Settings(heartbeat_timeout_s=1e9), clock=self.clock)
        self.audit = audit_for(self.service, AuditSettings(seal_every=seal_every))
        runtime = self.service.runtime
        assert isinstance(runtime, MemoryRuntime)
        self.runtime = runtime
        self.offers: list[str] = []
        runtime.listeners.append(self.offered)

    def clock(self) -> float:
        return self.now

    def offered(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Offered):
            self.offers.append(decision.contact_id)

    def next_offer(self) -> str | None:
        """The earliest offer to the nurse still waiting for her answer."""
        engine = self.service.engine
        for cid in self.offers:
            if cid in engine._contacts and engine.contact(cid).offer_expires_at is not None:
                self.offers.remove(cid)
                return cid
        return None

    def after(self, seconds: float, *inputs: Event | Note) -> None:
        self.now += seconds
        for one in inputs:
            self.runtime._apply_event(one, self.now, cast(Any, Refused()))


def call(contact_id: str, number: str) -> ContactArrived:
    return ContactArrived(
        ContactSpec(
            id=contact_id,
            channel=Channel.VOICE,
            service="nursing_advice",
            language="fi",
            preferred_site="vaasa",
            attributes={"caller": number},
        )
    )


def play(seal_every: int) -> Scenario:
    """The four contacts, interleaved as on a morning, one nurse taking what she is
    offered: the plain call, the callback (no answer, then reached on the retry), the call
    moved to prescriptions (completed as transferred); one call removed while waiting."""
    s = Scenario(seal_every)
    s.after(0, call("phone-life", "+358401234567"))
    s.after(60, call("phone-cb", "+358407654321"))
    s.after(60, call("phone-moved", "+358409998877"))
    s.after(60, call("phone-gone", "+358401112233"))
    # A supervisor removes one waiting call (the note, then the engine's cancellation).
    s.after(60, Removal("phone-gone", "supervisor", "duplicate"))
    s.after(0, ContactCancelled("phone-gone", "duplicate"))
    s.after(60, ChannelSwitched("phone-cb", Channel.CALLBACK, {"number": "+358407654321"}))
    s.after(60, ContactMoved("phone-moved", "prescriptions", "supervisor"))
    s.after(240, AgentLoggedIn("a001"))
    attempts, retry = 0, False
    while True:
        cid = s.next_offer()
        if cid is None:
            if not retry:
                break
            # The engine's timers, one at a time, until the callback's retry offers it.
            due = s.service.engine.next_timer_at()
            assert due is not None
            s.after(due - s.now, TimerDue())
            retry = "phone-cb" not in s.offers
            continue
        s.after(5, OfferAccepted(cid, "a001"))
        if cid == "phone-cb" and attempts == 0:
            attempts, retry = 1, True
            s.after(5, CallbackAttempted(cid, "a001", "no_answer"))
            continue
        if cid == "phone-cb":
            s.after(5, CallbackAttempted(cid, "a001", "reached"))
        outcome = "transferred" if cid == "phone-moved" else "resolved"
        s.after(5, ContactCompleted(cid, "a001", outcome))
        s.after(0, WrapUpDone("a001"))
    return s


def recorded(audit: Audit) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cid in CONTACTS:
        record = audit.get(cid)
        assert record is not None, cid
        out[cid] = audit.contact_json(record)
    return out


def golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("seal_every", [1, 2, 500])
def test_the_audit_records_what_it_recorded_before_live_or_sealed(seal_every: int) -> None:
    s = play(seal_every)
    got = recorded(s.audit)
    assert json.loads(json.dumps(got)) == golden()
    if seal_every == 1:  # every closed record went into a segment of its own
        assert not s.audit.live and len(s.audit.segments) == len(CONTACTS)
    if seal_every == 500:
        assert not s.audit.segments and len(s.audit.live) == len(CONTACTS)


def test_the_trails_say_what_happened_in_order() -> None:
    """The golden file itself, read the way a supervisor would (so a regenerated file
    that lost an entry is caught too)."""
    trails = {
        cid: [c["change"] for c in body["trail"] if c["change"] != "widened"]
        for cid, body in golden().items()
    }
    assert trails["phone-life"] == ["arrived", "queued", "offered", "accepted", "closed"]
    assert trails["phone-cb"] == [
        "arrived",
        "queued",
        "callback_registered",
        "offered",
        "accepted",
        "callback_attempt",
        "scheduled",
        "offered",
        "accepted",
        "callback_attempt",
        "closed",
    ]
    assert trails["phone-moved"][:3] == ["arrived", "queued", "moved"]
    assert trails["phone-moved"][-3:] == ["offered", "accepted", "closed"]
    assert trails["phone-gone"] == ["arrived", "queued", "removed", "closed"]
    assert golden()["phone-moved"]["outcome"] == "transferred"
    assert golden()["phone-gone"]["removed_by"] == "supervisor"


def test_a_sealed_segment_is_the_codecs_bytes_and_a_snapshot_reads_back_the_same() -> None:
    s = play(2)
    audit = s.audit
    for number in audit.segments:
        records = audit._sealed_records(number).values()
        rows = as_rows(records)
        assert pickle.dumps(rows, PROTOCOL) == encode(rows)
        assert audit.segments[number].rows() == rows
    copy = play(500).audit
    copy.restore(audit.capture())
    assert recorded(copy) == recorded(audit)


def test_the_dispatch_loop_hands_the_audit_only_the_decisions_it_records() -> None:
    s = Scenario(500)
    audit, runtime = s.audit, s.runtime
    assert set(RECORDED) == set(audit._on)
    assert set(RECORDED) == {
        d.Queued,
        d.Offered,
        d.Assigned,
        d.Requeued,
        d.OfferWithdrawn,
        d.Widened,
        d.Overflowed,
        d.Moved,
        d.Switched,
        d.Scheduled,
        d.CallbackAttempt,
        d.Reclassified,
        d.EscalationWarning,
        d.DeadlineMissed,
        d.Redirected,
        d.Closed,
    }
    for kind in RECORDED:
        assert audit.on_decision in runtime._listeners_of(kind), kind
    for kind in (d.AgentPresenceSet, d.WrapUpStarted, d.WrapUpEnded, d.CoverChanged):
        assert audit.on_decision not in runtime._listeners_of(kind), kind
        assert kind not in audit._on
