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
times an ``inc()`` and the listener runs for every decision. The counts and histograms
updated on the dispatch loop's path (decisions, closed contacts, waits, dispatch times)
are kept as plain numbers here and written into their prometheus children whenever the
registry is read (``_Flush``, registered first, so it runs before them): a prometheus
``inc()`` is about 4,000 instructions and a histogram's ``observe()`` about 8,600 (a
lock, a check and a Python frame per bucket and sum), against a few hundred here. What
a scrape shows is the same: the same counts, and each histogram's sum added up in the
same order from 0 (it is set, not added to).
"""

from __future__ import annotations

from bisect import bisect_left
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


class _Observed:
    """One histogram child's observations, counted here and written into the child when
    the registry is read: per bucket the observations at most its bound (the first bound
    an observation fits, as ``Histogram.observe`` counts it), and their sum in the order
    observed."""

    __slots__ = ("bounds", "child", "counts", "sum")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.bounds: tuple[float, ...] = tuple(child._upper_bounds)  # ends with +Inf
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.sum += amount
        i = bisect_left(self.bounds, amount)
        if amount <= self.bounds[i]:  # NaN fits no bucket (and bisect gives 0 for it)
            self.counts[i] += 1

    def flush(self) -> None:
        child = self.child
        child._sum.set(self.sum)
        for value, count in zip(child._buckets, self.counts, strict=True):
            value.set(float(count))


def _observable(histogram: Any) -> bool:
    """Whether this prometheus_client's histogram children keep their bounds, buckets and
    sum where ``_Observed`` writes them (every release since 0.4 does); if not, each
    observation goes to ``observe`` as it comes."""
    buckets = getattr(histogram, "_buckets", None)
    return (
        isinstance(getattr(histogram, "_upper_bounds", None), list | tuple)
        and isinstance(buckets, list)
        and len(buckets) == len(histogram._upper_bounds)
        and all(hasattr(v, "set") for v in [*buckets, getattr(histogram, "_sum", None)])
    )


class _Flush:
    """Registered before every metric of the registry: reading the registry writes the
    counts kept in ``Metrics`` into their children first. It exports nothing itself."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        self._metrics.flush()
        return iter(())


class Metrics:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        registry.register(_Flush(self))
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
        # Counted since the last flush: decisions by kind, closed contacts by child.
        self._kinds: dict[type, int] = dict.fromkeys(self._by_kind, 0)
        self._closed: dict[tuple[object, str, str], Any] = {}
        self._closed_counts: dict[tuple[object, str, str], int] = {}
        self._direct = not _observable(self.dispatch)  # the wait's children are the same
        self._waits: dict[str, Any] = {}
        for name in service.region.services:
            self._wait_of(name)
        self.observe_dispatch: Callable[[float], None]
        if self._direct:
            self.observe_dispatch = self.dispatch.observe
            self._dispatch: _Observed | None = None
        else:
            self._dispatch = _Observed(self.dispatch)
            self.observe_dispatch = self._dispatch.observe

    def _wait_of(self, service: str) -> Any:
        """The wait histogram of ``service``: its ``_Observed``, or the child itself when
        observations go straight to prometheus."""
        child = self.wait.labels(service)
        wait = self._waits[service] = child if self._direct else _Observed(child)
        return wait

    # ------------------------------------------------------------ the hot path

    def on_decision(self, decision: d.Decision, now: float) -> None:
        kinds = self._kinds
        kind = type(decision)
        if kind in kinds:
            kinds[kind] += 1
        else:  # a kind the union does not name: resolved (and exported) when first seen
            self._by_kind[kind] = self.decisions.labels(kind.__name__)
            kinds[kind] = 1
        if type(decision) is d.Closed:
            key = (decision.channel, decision.service, decision.outcome)
            counts = self._closed_counts
            if key in counts:
                counts[key] += 1
            else:
                channel = decision.channel.value if decision.channel is not None else UNKNOWN
                self._closed[key] = self.contacts.labels(
                    channel, decision.service or UNKNOWN, decision.outcome
                )
                counts[key] = 1
        elif type(decision) is d.Assigned:
            wait = self._waits.get(decision.service)
            if wait is None:
                wait = self._wait_of(decision.service)
            wait.observe(max(0.0, now - decision.arrived_at))

    def flush(self) -> None:
        """Writes what was counted here into the prometheus children (on every read of
        the registry, before its metrics are collected)."""
        kinds = self._kinds
        for kind, count in kinds.items():
            if count:
                self._by_kind[kind].inc(count)
                kinds[kind] = 0
        counts = self._closed_counts
        for key, count in counts.items():
            if count:
                self._closed[key].inc(count)
                counts[key] = 0
        if self._dispatch is not None:
            self._dispatch.flush()
            for wait in self._waits.values():
                wait.flush()

    def count_refused(self, channel: str, service: str) -> None:
        self.refused.labels(channel, service).inc()

    # ------------------------------------------------------------ exposition

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition in the format the scraper asks for, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        self.flush()  # also done by ``_Flush``; here for a registry read in part
        return encoder(self.registry), content_type
