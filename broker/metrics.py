"""The broker's Prometheus metrics, in the broker's own registry.

Names follow Prometheus conventions (`selec_` prefix, base units, `_total` counters,
`_seconds` histograms). Labels are bounded: countries and outcomes, never references,
officers or criteria.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from selec.observability import LATENCY_BUCKETS

SEARCH_OUTCOMES = ("hit", "no_hit", "incomplete")


class _OverdueRequests(Collector):
    """Pending requests past their owner's deadline, by owning country."""

    def __init__(self, count_overdue: Callable[[], dict[str, int]]) -> None:
        self._count = count_overdue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "selec_requests_overdue",
            "Requests pending longer than the owning country's decision deadline.",
            labels=["country"],
        )
        try:
            counts = self._count()
        except Exception:  # a store that cannot answer must not break the scrape
            counts = {}
        for country, count in sorted(counts.items()):
            family.add_metric([country], count)
        yield family


class BrokerMetrics:
    """Every metric the broker exports."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.searches = Counter(
            "selec_searches",
            "Searches answered, by outcome: hit (some country hit), no_hit (every asked "
            "country answered, none hit), incomplete (some country did not answer).",
            ["outcome"],
            registry=registry,
        )
        self.country_call_seconds = Histogram(
            "selec_country_call_duration_seconds",
            "Time from the start of a search to one country's answer.",
            ["country"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.country_calls = Counter(
            "selec_country_calls",
            "Country answers by outcome (hit, no_hit, unavailable, timeout, error, "
            "indexed_hit, indexed_no_hit).",
            ["country", "outcome"],
            registry=registry,
        )
        self.country_suspended = Gauge(
            "selec_country_suspended",
            "1 while the broker does not call a country's node after repeated failures.",
            ["country"],
            registry=registry,
        )
        self.retries = Counter(
            "selec_country_call_retries",
            "Match calls retried after a transient failure.",
            ["country"],
            registry=registry,
        )
        self.unpublished_hits = Counter(
            "selec_country_hits_not_in_publication",
            "Live hits whose reference the country's publication does not hold for the "
            "search's keys: recorded since it, or never issued by the node.",
            ["country"],
            registry=registry,
        )
        self.index_lookup_seconds = Histogram(
            "selec_index_lookup_duration_seconds",
            "Reference-index look-ups of one search's keys.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.index_lookups = Counter(
            "selec_index_lookups",
            "Reference-index look-ups by outcome (ok, error, timeout).",
            ["outcome"],
            registry=registry,
        )
        self.publish_seconds = Histogram(
            "selec_index_publish_duration_seconds",
            "Time to receive and store one country's publication.",
            ["country"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=registry,
        )
        self.publishes = Counter(
            "selec_index_publishes",
            "Publications by country and outcome (ok, refused, failed).",
            ["country", "outcome"],
            registry=registry,
        )
        self.indexed_references = Gauge(
            "selec_index_references",
            "References a country's current publication holds.",
            ["country"],
            registry=registry,
        )
        self.requests = Counter(
            "selec_requests",
            "Approval requests entering a state (pending, approved, denied, withdrawn, "
            "expired, revealed), by owning country.",
            ["country", "state"],
            registry=registry,
        )
        self.reveals = Counter(
            "selec_reveals",
            "Reveals by owning country and outcome (released, refused, unavailable).",
            ["country", "outcome"],
            registry=registry,
        )
        self.refused = Counter(
            "selec_refused_calls",
            "Calls refused before any work, by reason (invalid_argument, ...).",
            ["reason"],
            registry=registry,
        )

    def watch_requests(self, count_overdue: Callable[[], dict[str, int]]) -> None:
        """selec_requests_overdue{country}, read from the request store at scrape time."""
        self.registry.register(_OverdueRequests(count_overdue))

    def watch_suspensions(self, suspended: Iterable[tuple[str, Callable[[], bool]]]) -> None:
        """Read each country's suspension state at scrape time."""
        for country, is_suspended in suspended:
            self.country_suspended.labels(country).set_function(
                lambda check=is_suspended: 1.0 if check() else 0.0
            )
