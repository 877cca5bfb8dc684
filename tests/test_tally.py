"""The waiting tally (counts and oldest arrival per service and site) against a brute-force
count over the contacts that are queued, through arrivals, departures and re-entries out
of arrival order (widened or requeued contacts), and through its compaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from router.core import tally as tally_module
from router.core.tally import TallyKey, WaitingTally

SERVICES = ("nursing", "dental")
SITES = (None, "north", "south")


@dataclass
class _Service:
    name: str


@dataclass
class _Spec:
    preferred_site: str | None


@dataclass(eq=False)
class Queued:
    """The fields the tally reads from a contact record; ``entry`` is set while queued."""

    arrived_at: float
    seq: int
    service: _Service
    spec: _Spec
    entry: object | None = field(default=None)


def _keys() -> list[TallyKey]:
    return [("service", s) for s in SERVICES] + [("site", s) for s in SITES if s is not None]


def _expected(contacts: list[Queued], key: TallyKey) -> tuple[int, float | None]:
    kind, name = key
    live = [
        c
        for c in contacts
        if c.entry is not None
        and (c.service.name == name if kind == "service" else c.spec.preferred_site == name)
    ]
    return len(live), min((c.arrived_at for c in live), default=None)


def _enter(tally: WaitingTally, c: Queued) -> None:
    c.entry = object()
    tally.entered(c)  # type: ignore[arg-type]


def _leave(tally: WaitingTally, c: Queued) -> None:
    c.entry = None
    tally.left(c)  # type: ignore[arg-type]


def _step(tally: WaitingTally, contacts: list[Queued], kind: str, arg: Any) -> Queued | None:
    """Applies one generated operation; the contact that entered the queue, if one did."""
    if kind == "arrive":
        at, service, site = arg
        c = Queued(at, len(contacts), _Service(service), _Spec(site))
        contacts.append(c)
        _enter(tally, c)
        return c
    if contacts:
        c = contacts[int(arg) % len(contacts)]
        if kind == "leave" and c.entry is not None:
            _leave(tally, c)
        elif kind == "re-enter" and c.entry is None:
            _enter(tally, c)  # back in the queue with its original arrival time
            return c
    return None


op = st.one_of(
    st.tuples(
        st.just("arrive"),
        st.tuples(
            st.floats(0, 1_000, allow_nan=False),
            st.sampled_from(SERVICES),
            st.sampled_from(SITES),
        ),
    ),
    st.tuples(st.just("leave"), st.integers(0, 10_000)),
    st.tuples(st.just("re-enter"), st.integers(0, 10_000)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=150))
def test_counts_and_oldest_arrival_match_the_queued_contacts(ops: list[tuple[str, Any]]) -> None:
    tally = WaitingTally()
    contacts: list[Queued] = []
    for kind, arg in ops:
        _step(tally, contacts, kind, arg)
        for key in _keys():
            assert (tally.count(key), tally.oldest_arrival(key)) == _expected(contacts, key)


def test_a_long_run_of_short_waits_is_compacted_and_keeps_the_oldest_waiting_contact() -> None:
    tally = WaitingTally()
    key: TallyKey = ("service", "nursing")
    patient = Queued(5.0, 0, _Service("nursing"), _Spec("north"))
    _enter(tally, patient)
    contacts = [patient]
    # Thousands of contacts come and go while one waits: stale entries must not pile up.
    for i in range(1, 5_000):
        c = Queued(10.0 + i, i, _Service("nursing"), _Spec(None))
        contacts.append(c)
        _enter(tally, c)
        _leave(tally, c)
    late = Queued(1.0, 5_000, _Service("nursing"), _Spec(None))  # re-enters, out of order
    contacts.append(late)
    _enter(tally, late)
    oldest: Any = tally._oldest[key]
    assert len(oldest.ordered) + len(oldest.heap) <= 2 * 2 + 1024 + 1
    assert (tally.count(key), tally.oldest_arrival(key)) == _expected(contacts, key) == (2, 1.0)
    _leave(tally, late)
    assert tally.oldest_arrival(key) == 5.0
    assert tally.count(("site", "north")) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=150))
@example(  # a contact re-entering behind a later arrival is in the deque and the heap
    [
        ("arrive", (0.0, "nursing", None)),
        ("arrive", (5.0, "nursing", None)),
        ("arrive", (10.0, "nursing", None)),
        ("leave", 1),
        ("re-enter", 1),
    ]
)
def test_compacting_on_every_entry_keeps_counts_oldest_arrival_and_each_contact_once(
    ops: list[tuple[str, Any]],
) -> None:
    # A slack below any count makes every entry compact, so compaction runs through
    # departures and re-entries out of arrival order (a contact entered twice).
    saved = tally_module.COMPACT_SLACK
    tally_module.COMPACT_SLACK = -1_000_000
    try:
        tally = WaitingTally()
        contacts: list[Queued] = []
        for kind, arg in ops:
            entered = _step(tally, contacts, kind, arg)
            if entered is not None:  # just compacted: each waiting contact held once
                held: Any = tally._services[entered.service.name]
                assert len(held.ordered) + len(held.heap) == held.n
            for key in _keys():
                assert (tally.count(key), tally.oldest_arrival(key)) == _expected(contacts, key)
                kept: Any = tally._oldest.get(key)
                if kept is not None:
                    arrivals = [c.arrived_at for c in kept.ordered]
                    assert arrivals == sorted(arrivals)
    finally:
        tally_module.COMPACT_SLACK = saved
