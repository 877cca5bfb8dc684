"""Value classes: immutable for the type checker, plain slotted dataclasses when run.

Events, contact specs, the engine's contact and agent views and the wait estimate are
values: compared and hashed by their fields, never changed once made. A ``frozen``
dataclass enforces that at run time by building every instance through
``object.__setattr__``, one call per field: a contact spec (19 fields) cost
3.1 us to build against 0.7 us for a plain slotted dataclass, and an event 0.5 us
against 0.15 us, a seventh of the simulator's time per contact (benchmarks/RESULTS.md,
"#14 part 6"). So here the promise is kept where it is checked: ``mypy --strict`` sees
these classes as frozen (``dataclass_transform(frozen_default=True)``) and refuses any
assignment to a field, in the project and in any code that type-checks against it.
Decisions (``router.core.decisions``) made the same choice earlier, by convention.

Pickles are the same as a frozen slotted dataclass's: plain ``pickle`` writes the list of
field values as the state, and the store's codec (the Redis log and snapshots,
``router/store/codec.py``) writes ``(cls, field values)``, rebuilt by calling the class,
as it did for the frozen classes. So entries written before this change load, and entries
written now load in code from before it.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


def _getstate(self: object) -> list[object]:
    return [getattr(self, f.name) for f in fields(self)]  # type: ignore[arg-type]


def restore(obj: object, state: list[object]) -> None:
    """Sets a slotted dataclass's fields from ``state``; missing ones (a pickle written
    before a field was added) take their default."""
    for f, value in zip(fields(obj), state, strict=False):  # type: ignore[arg-type]
        object.__setattr__(obj, f.name, value)
    for f in fields(obj)[len(state) :]:  # type: ignore[arg-type]
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        object.__setattr__(obj, f.name, default)


@dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(field,))
def value(cls: type[T]) -> type[T]:
    """A value class (see the module's doc): fields, ``__init__``, ``__eq__``,
    ``__hash__`` and ``__repr__`` as ``@dataclass(frozen=True, slots=True)`` makes them,
    without run-time enforcement of immutability."""
    made: Any = dataclass(slots=True, unsafe_hash=True)(cls)
    made.__value_class__ = True  # the store's codec writes these as ``(cls, values)``
    made.__getstate__ = _getstate
    if "__setstate__" not in cls.__dict__:
        made.__setstate__ = restore
    result: type[T] = made
    return result
