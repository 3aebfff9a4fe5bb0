"""One member-state node assembled from its settings: store, keyer and gRPC server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from connectors.config import ConnectorSettings
from connectors.keying import RecordKeyer
from connectors.keys import KeyScheme
from connectors.metrics import NodeMetrics
from connectors.publisher import BrokerAccess, publish_on_schedule
from connectors.release import GrantVerifier, ReleaseLedger, Releaser
from connectors.service import ConnectorServicer
from connectors.store import RecordStore, SqliteRecordStore
from selec.observability import MetricsEndpoint, serve_metrics
from selec.serving import RunningServer, ServeError, bound_address, start_server, watch_health
from selec.tls import TlsError
from selec.tokens import load_public_key
from selec.v1 import connector_pb2, connector_pb2_grpc

log = logging.getLogger(__name__)

HEALTH_INTERVAL_SECONDS = 5.0
SERVICE_NAME = connector_pb2.DESCRIPTOR.services_by_name["ConnectorService"].full_name


def open_store(settings: ConnectorSettings) -> RecordStore:
    """The backend named in the settings."""
    return SqliteRecordStore(settings.database)


def make_keyer(settings: ConnectorSettings) -> RecordKeyer:
    """The node's keyer (federation key scheme + its own reference secret)."""
    return RecordKeyer(settings.country, KeyScheme(settings.key_secret), settings.reference_secret)


def make_releaser(settings: ConnectorSettings) -> Releaser | None:
    """What answers Release: None (refusing) without the broker's grant key in config."""
    if settings.broker_public_key is None:
        return None
    try:
        key = load_public_key(settings.broker_public_key)
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    return Releaser(
        GrantVerifier(settings.country, key),
        ReleaseLedger(settings.database),
        tls_peer_required=settings.tls is not None,
    )


def broker_access(settings: ConnectorSettings) -> BrokerAccess:
    """TLS and token for calls to the broker (publishing), read now: fail fast if unreadable."""
    token = None
    if settings.publish is not None and settings.publish.token_file is not None:
        try:
            token = settings.publish.token_file.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise ServeError(f"cannot read {settings.publish.token_file}: {exc.strerror}") from None
    try:
        credentials = settings.tls.channel_credentials() if settings.tls else None
    except TlsError as exc:
        raise ServeError(str(exc)) from None
    return BrokerAccess(credentials, token)


@dataclass
class RunningNode:
    """A node that is serving (and publishing, if its settings say so)."""

    settings: ConnectorSettings
    server: RunningServer
    publisher: asyncio.Task[None] | None = None
    health_task: asyncio.Task[None] | None = None
    metrics_endpoint: MetricsEndpoint | None = None

    @property
    def address(self) -> str:
        """HOST:PORT the node listens on."""
        return bound_address(self.settings.listen, self.server.port)

    async def stop(self, grace: float | None = None) -> None:
        """Stop publishing, drain and stop."""
        for task in (self.publisher, self.health_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.server.stop(self.settings.grace_seconds if grace is None else grace)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()


async def start_node(
    settings: ConnectorSettings,
    store: RecordStore | None = None,
    health_interval: float = HEALTH_INTERVAL_SECONDS,
) -> RunningNode:
    """Open the store and start serving Match and Describe on the settings' address."""
    store = store or open_store(settings)
    keyer = make_keyer(settings)
    registry = CollectorRegistry()
    servicer = ConnectorServicer(
        settings.country,
        keyer.scheme.version,
        store,
        NodeMetrics(registry, store),
        releaser=make_releaser(settings),
    )
    credentials = None
    if settings.tls is not None:
        try:
            credentials = settings.tls.server_credentials(require_client_auth=True)
        except TlsError as exc:
            raise ServeError(str(exc)) from None
    server = await start_server(
        settings.listen,
        lambda s: connector_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, s),
        [SERVICE_NAME],
        registry=registry,
        credentials=credentials,
    )
    node = RunningNode(settings, server)
    if settings.metrics_listen is not None:
        node.metrics_endpoint = serve_metrics(settings.metrics_listen, registry)

    async def database_usable() -> bool:
        await asyncio.to_thread(store.counts)
        return True

    node.health_task = asyncio.create_task(watch_health(server, database_usable, health_interval))
    if settings.publish is not None:
        node.publisher = asyncio.create_task(
            publish_on_schedule(
                store,
                settings.country,
                keyer.scheme.version,
                settings.publish,
                broker_access(settings),
            )
        )
    log.info("node serving country=%s address=%s", settings.country, node.address)
    return node
