"""A node's Prometheus metrics, in the node's own registry."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connectors.store import RecordStore, StoreError
from selec.observability import LATENCY_BUCKETS


class _RecordCounts(Collector):
    """selec_node_records{kind}, read from the store at scrape time."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "selec_node_records", "Records the node holds, by kind.", labels=["kind"]
        )
        try:
            counts = self._store.counts()
        except StoreError:
            counts = {}
        for kind in ("person", "document", "vehicle", "phone"):
            family.add_metric([kind], counts.get(kind, 0))
        yield family


class NodeMetrics:
    """Every metric a member-state node exports."""

    def __init__(self, registry: CollectorRegistry, store: RecordStore) -> None:
        self.registry = registry
        self.match_seconds = Histogram(
            "selec_node_match_duration_seconds",
            "Time to look up one Match call's keys in the node's store.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.matches = Counter(
            "selec_node_matches",
            "Match calls by outcome (hit, no_hit, error).",
            ["outcome"],
            registry=registry,
        )
        registry.register(_RecordCounts(store))
