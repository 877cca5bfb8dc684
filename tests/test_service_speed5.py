"""The dispatch loop skips the listeners that have nothing to do with a decision: the
supervisor's statistics act on assignments, closes (a callback taken counts as
answered only once reached or completed) and deadline alerts, and are not called with
the rest (a queued call, an offer), while what they show stays as it was: live agent
counts follow every engine change."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from router.core import decisions as d
from router.core.engine import Engine
from router.instance import stats_for
from router.service.runtime import MemoryRuntime
from tests.service_support import make_service

Client = TestClient[Any, Any]


async def test_the_statistics_hear_only_the_decisions_they_count(aiohttp_client: Any) -> None:
    service = make_service()
    await aiohttp_client(build_app(service))
    runtime = service.runtime
    assert isinstance(runtime, MemoryRuntime)
    stats = stats_for(service)
    hears = {
        kind: any(getattr(f, "__self__", None) is stats for f in runtime._listeners_of(kind))
        for kind in (d.Queued, d.Offered, d.Closed, d.Assigned, d.DeadlineMissed)
    }
    assert hears == {
        d.Queued: False,
        d.Offered: False,
        d.Closed: True,
        d.Assigned: True,
        d.DeadlineMissed: True,
    }


def test_a_listeners_list_changed_in_place_is_read_again() -> None:
    runtime = MemoryRuntime(Engine.__new__(Engine))
    heard: list[str] = []
    runtime.listeners.append(lambda decision, now: heard.append("first"))
    closed = d.Closed("c1", "abandoned", None, "general", None)
    runtime._publish([closed], 0.0)
    runtime.listeners[0] = lambda decision, now: heard.append("second")
    runtime._publish([closed], 0.0)
    assert heard == ["first", "second"]
