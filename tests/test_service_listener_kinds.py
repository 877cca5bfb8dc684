"""The dispatch loop hands each decision to the listeners that act on its kind (marked
with ``handles``, subclasses included) and to every unmarked listener, in their order;
a listener added later hears the next decisions too."""

from __future__ import annotations

from typing import Any, cast

from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import ContactAbandoned, Event, OfferAccepted
from router.core.model import StepKind
from router.service.runtime import MemoryRuntime, handles


class _Heard:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    @handles(d.Closed)
    def closes(self, decision: d.Decision, now: float) -> None:
        self.log.append(("closes", type(decision).__name__))

    @handles(d.Queued, d.Closed)
    def queues(self, decision: d.Decision, now: float) -> None:
        self.log.append(("queues", type(decision).__name__))

    def everything(self, decision: d.Decision, now: float) -> None:
        self.log.append(("everything", type(decision).__name__))


class _LateClosed(d.Closed):
    pass


def _queued() -> d.Queued:
    return d.Queued("c1", "general", StepKind.REGION, 1.0, d.Trace(StepKind.REGION, "r"))


def _closed(kind: type[d.Closed] = d.Closed) -> d.Closed:
    return kind("c1", "abandoned", None, "general", None)


def _runtime() -> MemoryRuntime:
    return MemoryRuntime(cast(Engine, None))


def test_each_decision_reaches_the_listeners_of_its_kind_in_order() -> None:
    runtime, heard = _runtime(), _Heard()
    runtime.listeners.extend([heard.closes, heard.everything, heard.queues])
    runtime._publish([_queued(), _closed(), _closed(_LateClosed)], 0.0)
    assert heard.log == [
        ("everything", "Queued"),
        ("queues", "Queued"),
        ("closes", "Closed"),
        ("everything", "Closed"),
        ("queues", "Closed"),
        ("closes", "_LateClosed"),
        ("everything", "_LateClosed"),
        ("queues", "_LateClosed"),
    ]


def test_a_listener_added_later_hears_the_next_decisions() -> None:
    runtime, heard = _runtime(), _Heard()
    runtime.listeners.append(heard.queues)
    runtime._publish([_queued()], 0.0)
    late: list[Any] = []
    runtime.listeners.append(lambda decision, now: late.append(type(decision).__name__))
    runtime._publish([_queued()], 0.0)
    assert heard.log == [("queues", "Queued"), ("queues", "Queued")]
    assert late == ["Queued"]


def test_a_failing_listener_does_not_stop_the_others() -> None:
    runtime, heard = _runtime(), _Heard()

    @handles(d.Queued)
    def broken(decision: d.Decision, now: float) -> None:
        raise RuntimeError("a bug")

    runtime.listeners.extend([broken, heard.queues])
    runtime._publish([_queued()], 0.0)
    assert heard.log == [("queues", "Queued")]


class _Engine:
    """Applies anything, deciding nothing: the hand-out is what is under test."""

    now = 0.0

    def apply(self, now: float, event: object) -> list[d.Decision]:
        return []


def test_each_applied_event_reaches_the_listeners_of_its_kind_in_order() -> None:
    runtime = MemoryRuntime(cast(Engine, _Engine()))
    heard: list[tuple[str, str]] = []

    @handles(OfferAccepted)
    def accepts(event: Event, now: float) -> None:
        heard.append(("accepts", type(event).__name__))

    def everything(event: Event, now: float) -> None:
        heard.append(("everything", type(event).__name__))

    runtime.applied_listeners.extend([accepts, everything])
    runtime._apply_event(ContactAbandoned("c1"), 0.0, None)
    runtime._apply_event(OfferAccepted("c1", "a1"), 0.0, None)
    assert heard == [
        ("everything", "ContactAbandoned"),
        ("accepts", "OfferAccepted"),
        ("everything", "OfferAccepted"),
    ]
