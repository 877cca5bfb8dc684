"""What the second round of per-decision savings (#15 part 1) must keep: the waiting
tally's oldest arrival, also from a snapshot that stored its older entry form, and the
overflow rule that a contact never goes back to a service it has been in, also for a
contact record from a snapshot that listed its current service among those visited."""

from __future__ import annotations

import pickle
from collections import deque
from typing import Any

from router.core.events import AgentLoggedIn, ContactArrived
from router.core.model import Channel, ContactSpec, Presence, Step, StepKind
from router.core.tally import TallyKey, WaitingTally
from tests.builders import Clock, agent, engine, service
from tests.test_tally import Queued, _Service, _Spec


def _queued(at: float, seq: int, site: str | None = None) -> Queued:
    # The tally's test double (the fields it reads), as in tests/test_tally.py.
    return Queued(at, seq, _Service("nursing"), _Spec(site), entry=object())


def test_a_tally_stored_with_entry_tuples_loads_and_keeps_its_oldest_arrival() -> None:
    tally = WaitingTally()
    contacts = [_queued(10.0 + n, n, "north") for n in range(5)]
    for c in contacts:
        tally.entered(c)  # type: ignore[arg-type]
    late = _queued(1.0, 5)  # re-enters out of arrival order: to the heap
    tally.entered(late)  # type: ignore[arg-type]
    key: TallyKey = ("service", "nursing")
    # As a snapshot of the version that kept (arrived_at, seq, contact) in the deque.
    oldest: Any = tally._oldest[key]
    oldest.ordered = deque((c.arrived_at, c.seq, c) for c in oldest.ordered)
    restored: WaitingTally = pickle.loads(pickle.dumps(tally))
    assert (restored.count(key), restored.oldest_arrival(key)) == (6, 1.0)
    assert restored.oldest_arrival(("site", "north")) == 10.0
    # It goes on working: the earliest two leave, a new one enters in order.
    by_seq: dict[int, Any] = {c.seq: c for o in restored._oldest.values() for c in o.ordered}
    leaving: list[Any] = [e[2] for e in restored._oldest[key].heap] + [by_seq[0]]
    for gone in leaving:
        gone.entry = None
        restored.left(gone)
    restored.entered(_queued(20.0, 6))  # type: ignore[arg-type]
    assert (restored.count(key), restored.oldest_arrival(key)) == (5, 11.0)


def _overflow_loop() -> Clock:
    # mental overflows to nurse after 60 s; nurse would overflow back after 60 s more.
    to_nurse = (Step(StepKind.REGION, 60), Step(StepKind.OVERFLOW, overflow_to="nurse"))
    to_mental = (
        Step(StepKind.REGION, 60),
        Step(StepKind.OVERFLOW, overflow_to="mental"),
        Step(StepKind.REGION),
    )
    clock = Clock(
        engine(
            [service("mental", "social>=3", to_nurse), service("nurse", "nursing", to_mental)],
            [agent("n", "x", {"nursing": 2}), agent("m", "x", {"social": 4})],
        )
    )
    clock.at(0, AgentLoggedIn("n", Presence.NOT_READY), AgentLoggedIn("m", Presence.NOT_READY))
    return clock


def _arrive(cid: str) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel.VOICE, "mental", urgency="P5"))


def test_an_overflowed_contact_never_goes_back_to_a_service_it_was_in() -> None:
    clock = _overflow_loop()
    clock.at(1, _arrive("c"))
    clock.advance_to(500)
    overflows = [e for _t, e in clock.log if e[0] == "overflowed"]
    assert overflows == [("overflowed", "c", "nurse")]
    assert clock.engine.contact("c").service == "nurse"


def test_a_contact_stored_with_its_current_service_among_the_visited_ones_stays() -> None:
    clock = _overflow_loop()
    clock.at(1, _arrive("c"))
    clock.advance_to(62)
    assert clock.engine.contact("c").service == "nurse"
    # As a snapshot of the version that listed the current service too.
    clock.engine._contacts["c"].visited = ("mental", "nurse")
    clock.advance_to(500)
    assert [e for _t, e in clock.log if e[0] == "overflowed"] == [("overflowed", "c", "nurse")]
    assert clock.engine.contact("c").service == "nurse"
