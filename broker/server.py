"""The broker assembled from its settings: key scheme, node clients, gRPC server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from broker.config import BrokerSettings, IndexSettings
from broker.index import ReferenceIndexError, open_reference_index
from broker.indexing import IndexView
from broker.metrics import BrokerMetrics
from broker.nodes import NodeClient
from broker.service import BrokerServicer
from connectors.keys import KeyScheme
from selec.observability import MetricsEndpoint, serve_metrics
from selec.serving import RunningServer, bound_address, start_server, watch_health
from selec.v1 import broker_pb2, broker_pb2_grpc

log = logging.getLogger(__name__)

HEALTH_INTERVAL_SECONDS = 5.0
SERVICE_NAME = broker_pb2.DESCRIPTOR.services_by_name["BrokerService"].full_name


@dataclass
class RunningBroker:
    """A broker that is serving, with its node clients and index (for status reports)."""

    settings: BrokerSettings
    server: RunningServer
    clients: dict[str, NodeClient]
    metrics: BrokerMetrics
    index: IndexView | None = None
    metrics_endpoint: MetricsEndpoint | None = None
    health_task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """HOST:PORT the broker listens on."""
        return bound_address(self.settings.listen, self.server.port)

    async def stop(self, grace: float | None = None) -> None:
        """Drain in-flight searches, then close the node channels."""
        if self.health_task is not None:
            self.health_task.cancel()
            await asyncio.gather(self.health_task, return_exceptions=True)
        await self.server.stop(self.settings.grace_seconds if grace is None else grace)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        for client in self.clients.values():
            await client.close()
        if self.index is not None:
            await asyncio.to_thread(self.index.close)


async def open_index(settings: IndexSettings, metrics: BrokerMetrics) -> IndexView | None:
    """The configured reference index, prepared; None when the broker runs without one.

    An index that cannot be prepared now (OpenSearch still starting) does not stop the
    broker: live search works without it, and countries that need it are reported
    UNAVAILABLE until it answers.
    """
    if not settings.enabled:
        return None
    index = open_reference_index(
        settings.backend,
        sqlite_path=settings.sqlite_path,
        opensearch_url=settings.opensearch_url,
        prefix=settings.prefix,
    )
    try:
        await asyncio.to_thread(index.prepare)
    except ReferenceIndexError as exc:
        log.error("reference index not ready backend=%s: %s", settings.backend, exc)
    return IndexView(index, settings.lookup_timeout_seconds, metrics)


async def start_broker(
    settings: BrokerSettings, health_interval: float = HEALTH_INTERVAL_SECONDS
) -> RunningBroker:
    """Create the node channels (once, for every search) and start serving."""
    registry = CollectorRegistry()
    metrics = BrokerMetrics(registry)
    clients = {
        entry.country: NodeClient(
            entry,
            settings.retry,
            settings.suspension,
            on_retry=lambda country: metrics.retries.labels(country).inc(),
        )
        for entry in settings.countries
    }
    metrics.watch_suspensions(
        (c, lambda client=client: client.suspension.state().suspended)
        for c, client in clients.items()
    )
    index = await open_index(settings.index, metrics)
    servicer = BrokerServicer(
        KeyScheme(settings.key_secret),
        clients,
        settings.answer_margin_seconds,
        metrics,
        index=index,
        index_only=frozenset(c.country for c in settings.countries if c.index_only),
    )
    try:
        server = await start_server(
            settings.listen,
            lambda s: broker_pb2_grpc.add_BrokerServiceServicer_to_server(servicer, s),
            [SERVICE_NAME],
            registry=registry,
            reuse_port=settings.workers > 1,
        )
    except BaseException:
        for client in clients.values():
            await client.close()
        if index is not None:
            index.close()
        raise
    broker = RunningBroker(settings, server, clients, metrics, index)
    if settings.metrics_listen is not None:
        broker.metrics_endpoint = serve_metrics(settings.metrics_listen, registry)
    if index is not None:
        broker.health_task = asyncio.create_task(watch_health(server, index.ping, health_interval))
    log.info("broker serving address=%s countries=%d", broker.address, len(clients))
    return broker
