"""The queue's buckets against the obvious model: a list of (due_at, seq) kept sorted.

Small chunks (``LOAD`` = 2) make every insertion and removal cross chunk boundaries, split
chunks and empty them, which a bucket of the default size would rarely do in a test."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core import bucket as bucket_module
from router.core.bucket import Bucket


class Rec:
    """Stands in for a contact record: the bucket only keeps and returns it."""

    def __init__(self, due: float, seq: int) -> None:
        self.id = f"c{seq}"
        self.key = (due, seq)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bucket_module, "LOAD", 2)
    yield


# Few distinct due times, so equal dues (ordered by arrival) are common.
dues = st.sampled_from([0.0, 1.5, 2.0, 7.25, 60.0, 3600.0, float("inf"), -5.0])
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), dues),
        st.tuples(st.just("remove"), st.integers(0, 10_000)),
        st.tuples(st.just("pop_head"), st.just(0)),
    ),
    max_size=200,
)


def check(b: Any, model: list[Rec]) -> None:
    assert len(b) == len(model)
    assert list(b) == model
    assert b.head is (model[0] if model else None)
    if model:
        assert b.head_key() == model[0].key
    for i, r in enumerate(model):
        assert b.rank(*r.key) == i


@settings(max_examples=300, deadline=None)
@given(ops)
def test_a_bucket_keeps_due_then_arrival_order_through_any_adds_and_removes(
    steps: list[tuple[str, float]],
) -> None:
    b: Any = Bucket()
    model: list[Rec] = []
    seq = 0
    for op, arg in steps:
        if op == "add":
            # Arrival numbers are not always increasing: a contact coming back to the
            # queue keeps its old one.
            seq += 1
            r = Rec(arg, seq if seq % 3 else seq * 7919 % 1000)
            if any(m.key == r.key for m in model):
                continue
            became_head = b.add(*r.key, r)
            model.append(r)
            model.sort(key=lambda m: m.key)
            assert became_head == (model[0] is r)
        elif model:
            victim = model[0] if op == "pop_head" else model[int(arg) % len(model)]
            was_head = b.remove(*victim.key, victim)
            assert was_head == (victim is model[0])
            model.remove(victim)
        check(b, model)
    copy = pickle.loads(pickle.dumps(b))
    assert [r.key for r in copy] == [r.key for r in model]
    assert len(copy) == len(model)


def test_removing_a_contact_that_is_not_there_is_an_error_and_changes_nothing() -> None:
    b: Any = Bucket()
    here, other = Rec(1.0, 1), Rec(1.0, 2)
    b.add(*here.key, here)
    with pytest.raises(KeyError):
        b.remove(*other.key, other)
    with pytest.raises(KeyError):
        b.remove(9.0, 9, other)
    assert list(b) == [here]


def test_a_long_bucket_is_split_into_chunks_and_stays_in_order() -> None:
    b: Any = Bucket()
    recs = [Rec(float(i % 97), i) for i in range(1_000)]
    for r in recs:
        b.add(*r.key, r)
    assert len(b._dues) > 100  # chunks of at most 2 * LOAD
    assert list(b) == sorted(recs, key=lambda r: r.key)
    assert b.rank(50.0, 0) == sum(1 for r in recs if r.key < (50.0, 0))
