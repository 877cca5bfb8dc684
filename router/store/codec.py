"""Encoding of log batches and snapshots: pickle, read back by an unpickler that only
builds the pure core's own classes (``router.core``, ``router.calendar``, ``skills``)
and a few plain containers.

Pickle because it restores the engine exactly (its sorted indexes, timer wheel and
tie-breaking counters) at a fraction of the cost of rebuilding them, and exactness is
what makes every instance's replica take the same decisions. The allow-list matters
because Redis is a shared server: whoever can write a key must not be able to make an
instance run code. Only classes are allowed, never functions.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from typing import Any

PROTOCOL = 5
_PACKAGES = ("router.core.", "router.calendar.", "router.store.", "skills.", "sortedcontainers.")
_PLAIN = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("collections", "deque"),
    ("collections", "OrderedDict"),
    ("collections", "Counter"),
    ("datetime", "date"),
}


_REGISTERED: set[tuple[str, str]] = set()

# Classes that moved, by the (module, name) an older snapshot stores: it still loads.
_MOVED = {
    # Partner cover plans went to the calendar, so that the core does not import it.
    ("router.core.partners", "CoverPlan"): ("router.calendar.cover_plan", "CoverPlan"),
}


def allow(cls: type) -> type:
    """Lets the store build ``cls`` too (a service's own log notes); a class decorator."""
    _REGISTERED.add((cls.__module__, cls.__qualname__))
    return cls


class UnsafeData(ValueError):
    """The data names something outside the allow-list: refused, nothing built."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        key = _MOVED.get((module, name), (module, name))
        module, name = key
        if (
            key in _PLAIN
            or key in _REGISTERED
            or (module.startswith(_PACKAGES) and "." not in name)
        ):
            found = super().find_class(module, name)
            # The class's own module, not just where the name was found: an allowed
            # module may import classes from anywhere (itertools, redis clients).
            own = getattr(found, "__module__", "")
            if isinstance(found, type) and (
                key in _PLAIN or key in _REGISTERED or own.startswith(_PACKAGES)
            ):
                return found
        raise UnsafeData(f"refusing to load {module}.{name} from the store")


_FAST: dict[type, tuple[str, ...] | None] = {}


def _plain_fields(cls: type) -> tuple[str, ...] | None:
    """The field names of a frozen dataclass or a value class (``router.core.values``)
    rebuilt exactly by ``cls(*values)`` (every field in ``__init__``, no
    ``__post_init__``); None for any other class."""
    known = _FAST.get(cls, ())
    if known != ():
        return known
    names: tuple[str, ...] | None = None
    params = getattr(cls, "__dataclass_params__", None)
    immutable = params is not None and (params.frozen or getattr(cls, "__value_class__", False))
    if immutable and not hasattr(cls, "__post_init__"):
        fields = dataclasses.fields(cls)
        if all(f.init for f in fields):
            names = tuple(f.name for f in fields)
    _FAST[cls] = names
    return names


class _Pickler(pickle.Pickler):
    """Frozen dataclasses and value classes (events, specs) as ``(cls, values)``: the
    default path asks ``dataclasses.fields()`` for every object and costs twice as much,
    on the hot path of Redis mode. Still only classes, so the unpickler's allow-list is
    unchanged."""

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        if cls.__module__.startswith(_PACKAGES):
            names = _plain_fields(cls)
            if names is not None:
                return cls, tuple(getattr(obj, n) for n in names)
        return NotImplemented


def encode(value: object) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=PROTOCOL).dump(value)
    return buffer.getvalue()


def decode(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()
