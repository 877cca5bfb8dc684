"""The bytes of a sealed segment (``router.service.audit.store``): its records by column.

A segment used to be its records' rows pickled (one tuple of 31 values per record, a
list of tuples for its trail) and compressed. Pickling and compressing them was most of
what sealing cost, and sealing is paid for every closed contact: pickle writes each
value of each row, and most of them repeat. A closed call's record holds the same few
times over and over (its arrival in ``first_at``, ``arrived_at`` and the trail's
``arrived`` entry; its deadline in five places; its acceptance in three), the same agent
in up to five, and the same channel, service, class and ``None`` as every other record
of the segment. So a segment is now written by column, each column kept in one of three
ways:

- ``VALUES``: the column pickled on its own (its values, one per record);
- ``SAME``: one value that every record has (``(value,)``);
- ``AS``: the index of an earlier column that pickles to the same bytes.

Both shortcuts are decided on the pickled bytes, so they are exact: a column pickles to
the bytes of another only when unpickling gives the same values of the same types (an
int is not a bool nor a float, ``-0.0`` is not ``0.0``, a ``Channel`` is not its string),
and a column is ``SAME`` only when it pickles to the bytes of its first value repeated.
Deciding by the bytes is also cheap: a column is pickled once whatever it turns out to
be, and comparing bytes costs little next to comparing values one by one in Python.

Trails are columns too: records whose trails have the same shape (the number of entries
and each entry's length) form a group, and each position of each entry in a group is a
column. The closed calls of a segment mostly share one shape, so their ``"arrived"``,
``"offered"``, ... are one ``SAME`` each.

The payload is a tuple ``(FORMAT, count, how, data, groups)``: ``how`` a string with
one letter per column (``VALUES``, ``SAME`` or ``AS``), ``data`` what each column keeps
(the pickled column, the 1-tuple, the index), and ``groups`` each trail shape with the
records that have it (``None``: all of them). The record fields' columns come first, in
slot order without ``trail``, then each group's. Segments written before this format are
a list of rows; ``decode_rows`` reads both (snapshots taken by earlier versions still
load).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from functools import partial
from itertools import repeat
from operator import itemgetter
from typing import Any

from router.service.audit.record import _ROW, AuditRecord
from router.store.codec import PROTOCOL, decode

FORMAT = 2  # the first format, a list of rows, had no number
VALUES, SAME, AS = "v", "s", "a"

TRAIL_AT = AuditRecord.__slots__.index("trail")
FIELDS = len(AuditRecord.__slots__) - 1  # record fields but the trail
_LENGTHS = partial(map, len)  # a trail's entry lengths, lazily
# Values a column may be ``SAME`` in (hashable, and equal only to their own bytes once
# the pickled bytes agree); floats are left to ``AS``.
_SAME_KINDS = frozenset({str, int, bool, type(None)})
# The pickled bytes of ``(value,) * count``, by (type, value, count): the same few
# (None, a channel, a service, ``False``...) in every segment, pickled once.
_SAME_BYTES: dict[tuple[type, Any, int], bytes] = {}
_SAME_BYTES_MAX = 4096


def encode(records: Sequence[AuditRecord]) -> tuple[Any, ...]:
    """The payload of a segment holding ``records`` (at least one)."""
    count = len(records)
    # Rows, then turned into columns: cheaper than reading each field in its own pass.
    columns: list[Sequence[Any]] = list(zip(*map(_ROW, records), strict=True))
    trails: Sequence[list[tuple[Any, ...]]] = columns.pop(TRAIL_AT)
    groups = _one_shape(trails, count)
    if groups is not None:
        # The common case: every trail has the same shape (``_one_shape`` found it).
        for position in range(len(groups[0][0])):
            columns.extend(zip(*map(itemgetter(position), trails), strict=True))
    else:
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, shape in enumerate(map(tuple, map(_LENGTHS, trails))):
            members = by_shape.get(shape)
            if members is None:
                by_shape[shape] = [index]
            else:
                members.append(index)
        groups = list(by_shape.items())
        for shape, members in by_shape.items():
            group = [trails[i] for i in members]
            for position in range(len(shape)):
                columns.extend(zip(*map(itemgetter(position), group), strict=True))
    how, data = _pack(columns)
    return (FORMAT, count, how, data, groups)


def _one_shape(
    trails: Sequence[list[tuple[Any, ...]]], count: int
) -> list[tuple[tuple[int, ...], list[int] | None]] | None:
    """``[(shape, None)]`` when every trail has the same shape, else None; found by
    counting lengths position by position rather than making each trail's shape."""
    size = len(trails[0])
    if list(map(len, trails)).count(size) != count:
        return None
    shape: list[int] = []
    for position in range(size):
        lengths = list(map(len, map(itemgetter(position), trails)))
        if lengths.count(lengths[0]) != count:
            return None
        shape.append(lengths[0])
    return [(tuple(shape), None)]


def _pack(columns: list[Sequence[Any]]) -> tuple[str, list[Any]]:
    how: list[str] = []
    data: list[Any] = []
    seen: dict[bytes, int] = {}  # a kept column's bytes -> its index
    for column in columns:
        head = column[0]
        size = len(column)  # a group's columns are as long as the group
        if head is None and column.count(None) == size:
            # No value a record holds (strings, numbers, booleans, None) equals None
            # but None: exact without pickling it to see.
            how.append(SAME)
            data.append((None,))
            continue
        pickled = pickle.dumps(column, PROTOCOL)
        kind = type(head)
        if kind in _SAME_KINDS and column.count(head) == size:  # equal; the bytes say exact
            key = (kind, head, size)
            same = _SAME_BYTES.get(key)
            if same is None:
                if len(_SAME_BYTES) >= _SAME_BYTES_MAX:
                    _SAME_BYTES.clear()
                same = _SAME_BYTES[key] = pickle.dumps((head,) * size, PROTOCOL)
            if pickled == same:
                how.append(SAME)
                data.append((head,))
                continue
        earlier = seen.get(pickled)
        if earlier is not None:
            how.append(AS)
            data.append(earlier)
        else:
            seen[pickled] = len(data)
            how.append(VALUES)
            data.append(pickled)
    return "".join(how), data


def decode_rows(payload: Any) -> list[tuple[Any, ...]]:
    """The rows (``record.as_row``) of a segment's payload, of either format."""
    if isinstance(payload, list):  # the first format: the rows themselves
        return payload
    _, count, how, data, groups = payload
    sizes = [count] * FIELDS  # how long each column is: its group's size
    for shape, rows in groups:
        sizes.extend(repeat(count if rows is None else len(rows), sum(shape)))
    columns: list[Sequence[Any]] = []
    for kind, kept, size in zip(how, data, sizes, strict=True):
        if kind == VALUES:
            columns.append(decode(kept))  # the codec's allow-list, as for the rows before
        elif kind == SAME:
            columns.append((kept[0],) * size)
        else:
            columns.append(columns[kept])
    trails: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
    at = FIELDS
    for shape, rows in groups:
        entries: list[list[tuple[Any, ...]]] = []  # by position: that entry of each trail
        for length in shape:
            entries.append(list(zip(*columns[at : at + length], strict=True)))
            at += length
        if shape:
            members = range(count) if rows is None else rows
            for index, trail in zip(members, zip(*entries, strict=True), strict=True):
                trails[index] = list(trail)
    fields = columns[:FIELDS]
    fields.insert(TRAIL_AT, trails)
    return list(zip(*fields, strict=True))
