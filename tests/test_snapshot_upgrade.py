"""Redis-mode snapshots pickle the whole engine. An upgrade stops every instance and starts
the new version on what the old one stored, so a snapshot written by an earlier version
must load and go on deciding exactly as that version would have."""

from __future__ import annotations

import dataclasses
import lzma
import pickle
from pathlib import Path

import pytest

from router.core.decisions import Overflowed
from router.core.engine import Engine
from router.demo import contact_factory
from router.store.codec import decode, encode
from tests.data.make_engine_snapshot import Step, busy_region, record_inputs

DATA = Path(__file__).with_name("data")


def replay(engine: Engine, steps: list[Step], until_overflow: bool = False) -> int:
    """Applies each recorded input; returns how many decisions matched. With
    ``until_overflow``, stops at the first recorded overflow (a rule changed since)."""
    matched = 0
    for i, (now, event, expected) in enumerate(steps):
        if until_overflow and any(type(x) is Overflowed for x in expected):
            break
        if isinstance(expected, tuple) and expected[0] == "refused":
            with pytest.raises(Exception) as caught:
                engine.apply(now, event)
            assert type(caught.value).__name__ == expected[1], i
            assert caught.value.fired == expected[2], i  # type: ignore[attr-defined]
            continue
        got = engine.apply(now, event)
        assert len(got) == len(expected) and all(map(same, got, expected)), (
            f"input {i}: {event}: {got} != {expected}"
        )
        matched += len(expected)
    return matched


def same(got: object, recorded: object) -> bool:
    """Equal in every field the recorded decision has: a field added to a decision type
    since the recording (unset when unpickled) is new information, not a change."""
    if type(got) is not type(recorded) or not dataclasses.is_dataclass(got):
        return got == recorded
    return all(
        getattr(got, f.name) == getattr(recorded, f.name)
        for f in dataclasses.fields(got)
        if hasattr(recorded, f.name)
    )


def test_a_snapshot_of_the_sorted_list_queue_loads_and_decides_as_its_version_did() -> None:
    # Written by e835b10, whose buckets were SortedLists of (due_at, seq, contact).
    recorded = pickle.loads(
        lzma.decompress((DATA / "engine-snapshot-e835b10.pickle.xz").read_bytes())
    )
    engine: Engine = decode(recorded["blob"])["engine"]
    assert len(engine.waiting()) == 453
    assert [c.id for c in engine.waiting()] == sorted(
        (c.id for c in engine.waiting()),
        key=lambda cid: (engine.contact(cid).due_at, engine.contact(cid).seq),
    )
    # e835b10 narrowed an overflowed contact to its new service's agents; an overflow now
    # keeps the reach the contact had (tests/test_overflow_reach.py), so from the first
    # overflow on the decisions differ by design: the same decisions up to there.
    matched = replay(engine, recorded["steps"], until_overflow=True)
    assert matched > 150


def test_a_snapshot_taken_mid_run_decides_as_the_engine_it_was_taken_from() -> None:
    region, engine, sim = busy_region(seed=9, patience_s=600.0)
    sim.arrivals(contact_factory(region), per_hour=2400, until=2 * 3600)
    for _ in sim.run(until=3600):
        pass
    copy: Engine = decode(encode({"engine": engine}))["engine"]
    assert [c.id for c in copy.waiting()] == [c.id for c in engine.waiting()]
    assert len(copy.waiting()) > 200
    for cid in [c.id for c in engine.waiting()][::37]:
        assert copy.estimate(cid, 300.0) == engine.estimate(cid, 300.0)

    steps = record_inputs(engine)
    for _ in sim.run(until=3600 + 900):
        pass
    assert replay(copy, steps) > 1_000


def test_contacts_from_before_place_and_deadline_were_separate_keep_their_due_time_as_both() -> (
    None
):
    # Written before a contact had a place (target_at) apart from its deadline (due_at),
    # and before a spec had clock_from and same_day_by: both load with the old meaning.
    recorded = pickle.loads(
        lzma.decompress((DATA / "engine-snapshot-e835b10.pickle.xz").read_bytes())
    )
    engine: Engine = decode(recorded["blob"])["engine"]
    views = engine.waiting()
    assert views and all(v.target_at == v.due_at for v in views)
    spec = views[0].spec
    assert (spec.clock_from, spec.same_day_by) == (None, None)
    assert dataclasses.replace(spec, language="sv").clock_from is None
    assert pickle.loads(pickle.dumps(spec)) == spec
