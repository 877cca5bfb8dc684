"""The audit's size against its bound in ``/metrics`` (``yhteys_audit_records``,
``yhteys_audit_bound``, ``yhteys_audit_dropped_early_total``), read when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from router.service.audit.store import AuditStore


class AuditCollector:
    """The audit's size against its bound, read when scraped (O(1))."""

    def __init__(self, audit: AuditStore) -> None:
        self.audit = audit

    def describe(self) -> list[Metric]:
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        audit = self.audit
        yield GaugeMetricFamily(
            "yhteys_audit_records",
            "Contact records the audit keeps (above the bound only while open contacts "
            "alone exceed it: an open contact's record is never dropped)",
            value=audit.count,
        )
        yield GaugeMetricFamily(
            "yhteys_audit_bound",
            "The audit's size bound (YHTEYS_AUDIT_MAX_CONTACTS)",
            value=audit.settings.max_contacts,
        )
        yield CounterMetricFamily(
            "yhteys_audit_dropped_early",
            "Closed records dropped for the size bound before their retention ended",
            value=audit.evicted,
        )
