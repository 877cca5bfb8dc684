"""What a log entry holds: a batch of items (request id, the time its instance stamped on
it, the event or note), checked whole before any is applied (``readable``); also used by
``yhteys log`` to show and quarantine entries.
"""

from __future__ import annotations

from typing import get_args

from router.core.events import Event
from router.service.runtime import Note
from router.store.base import LogEntry
from router.store.codec import decode

_ITEM_TYPES = (*get_args(Event), Note)

# (request id, time stamped by the submitting instance, event)
Item = tuple[str, float, Event | Note]


def readable(entry: LogEntry) -> list[Item] | str:
    """The items of a log entry, or what is wrong with it. Checked whole before any is
    applied: an entry is applied entirely or not at all."""
    if not entry.data:
        return "no field 'b': not written by Yhteys"
    try:
        items = decode(entry.data)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(items, list) or not all(
        isinstance(item, tuple)
        and len(item) == 3
        and isinstance(item[0], str)
        and isinstance(item[1], int | float)
        and isinstance(item[2], _ITEM_TYPES)
        for item in items
    ):
        return f"a {type(items).__name__} that is not a batch of events"
    return items
