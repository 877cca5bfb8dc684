"""Prometheus metrics of one live service.

Each ``Service`` gets its own ``CollectorRegistry`` (never the process-global one), so a
process - or a test run - may hold several services. The composition root
(``router/instance.py``) creates them once per instance and registers ``on_decision``
and ``observe_dispatch`` with its runtime.

Counted as decisions are published (inside the dispatch loop, so cheap):

- ``yhteys_contacts_total{channel,service,outcome}`` — contacts closed (from ``Closed``);
- ``yhteys_refused_total{channel,service}`` — contacts a closed service turned away at
  the door (no contact made; from the audit's ``Refusal`` notes);
- ``yhteys_decisions_total{kind}`` — every decision by type;
- ``yhteys_wait_seconds{service}`` — time from arrival to ``Assigned`` (answered);
- ``yhteys_dispatch_seconds`` — engine time per applied event.

Computed when scraped, from the engine's own O(1)-per-service tallies:

- ``yhteys_queue_depth{service}``, ``yhteys_oldest_wait_seconds{service}``;
- ``yhteys_agents{status}`` — one pass over the roster (about 1 µs per agent).

Labelled children are resolved once and kept in dicts: ``.labels()`` costs about three
times an ``inc()`` and the listener runs for every decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, get_args

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from router.core import decisions as d
from router.core.model import AgentStatus

if TYPE_CHECKING:
    from router.service.service import Service

# Waits run from seconds (calls) to a working day (callbacks, work items).
WAIT_BUCKETS = (5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
# One engine apply: tens of microseconds normally; the top buckets catch GC pauses.
DISPATCH_BUCKETS = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
)

UNKNOWN = "unknown"


class _StateCollector:
    """Gauges computed at scrape time from the engine (nothing to keep up to date)."""

    def __init__(self, service: Service) -> None:
        self._service = service

    def describe(self) -> list[Metric]:
        return [
            GaugeMetricFamily("yhteys_queue_depth", "Contacts waiting", labels=["service"]),
            GaugeMetricFamily(
                "yhteys_oldest_wait_seconds",
                "How long the longest-waiting contact has waited (0 when none)",
                labels=["service"],
            ),
            GaugeMetricFamily("yhteys_agents", "Roster agents by status", labels=["status"]),
        ]

    def collect(self) -> Iterator[Metric]:
        service = self._service
        engine = service.engine
        now = service.runtime.clock()
        depth = GaugeMetricFamily("yhteys_queue_depth", "Contacts waiting", labels=["service"])
        oldest = GaugeMetricFamily(
            "yhteys_oldest_wait_seconds",
            "How long the longest-waiting contact has waited (0 when none)",
            labels=["service"],
        )
        for name in service.region.services:
            count, first = engine.waiting_in("service", name)
            depth.add_metric([name], count)
            oldest.add_metric([name], max(0.0, now - first) if count and first is not None else 0)
        agents = GaugeMetricFamily("yhteys_agents", "Roster agents by status", labels=["status"])
        by_status = dict.fromkeys(AgentStatus, 0)
        for status, _site, _mask in engine.agent_statuses():
            by_status[status] += 1
        for status, n in by_status.items():
            agents.add_metric([status.value], n)
        yield depth
        yield oldest
        yield agents


class Metrics:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        self.contacts = Counter(
            "yhteys_contacts",
            "Contacts closed, by channel, service and outcome",
            ("channel", "service", "outcome"),
            registry=registry,
        )
        self.refused = Counter(
            "yhteys_refused",
            "Contacts turned away after hours (told when the service opens; no contact made), "
            "by channel and service",
            ("channel", "service"),
            registry=registry,
        )
        self.decisions = Counter(
            "yhteys_decisions", "Routing decisions by kind", ("kind",), registry=registry
        )
        self.wait = Histogram(
            "yhteys_wait_seconds",
            "Time from arrival to an agent taking the contact",
            ("service",),
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.dispatch = Histogram(
            "yhteys_dispatch_seconds",
            "Engine time to apply one event (timers it fires included)",
            buckets=DISPATCH_BUCKETS,
            registry=registry,
        )
        registry.register(_StateCollector(service))
        # Every decision kind is known up front: resolve (and so export, at 0) all of them.
        self._by_kind: dict[type, Any] = {
            kind: self.decisions.labels(kind.__name__) for kind in get_args(d.Decision)
        }
        self._closed: dict[tuple[object, str, str], Any] = {}
        self._waits: dict[str, Any] = {
            name: self.wait.labels(name) for name in service.region.services
        }
        self.observe_dispatch: Callable[[float], None] = self.dispatch.observe

    # ------------------------------------------------------------ the hot path

    def on_decision(self, decision: d.Decision, now: float) -> None:
        kind = self._by_kind.get(type(decision))
        if kind is None:
            kind = self._by_kind[type(decision)] = self.decisions.labels(type(decision).__name__)
        kind.inc()
        if type(decision) is d.Closed:
            key = (decision.channel, decision.service, decision.outcome)
            child = self._closed.get(key)
            if child is None:
                channel = decision.channel.value if decision.channel is not None else UNKNOWN
                child = self._closed[key] = self.contacts.labels(
                    channel, decision.service or UNKNOWN, decision.outcome
                )
            child.inc()
        elif type(decision) is d.Assigned:
            wait = self._waits.get(decision.service)
            if wait is None:
                wait = self._waits[decision.service] = self.wait.labels(decision.service)
            wait.observe(max(0.0, now - decision.arrived_at))

    def count_refused(self, channel: str, service: str) -> None:
        self.refused.labels(channel, service).inc()

    # ------------------------------------------------------------ exposition

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition in the format the scraper asks for, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
