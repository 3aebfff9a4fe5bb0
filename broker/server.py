"""The broker assembled from its settings: key scheme, node clients, gRPC server."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import grpc
from prometheus_client import CollectorRegistry

from broker.audit import AuditLog, open_audit_log
from broker.audit_service import AuditServicer
from broker.audit_trail import AuditTrail
from broker.auth import AuthInterceptor
from broker.config import BrokerSettings, IndexSettings, LimitsSettings
from broker.criteria import CriteriaLimits
from broker.grants import GrantSigner
from broker.index import ReferenceIndexError, open_reference_index
from broker.indexing import IndexView
from broker.limits import RateLimiter, RateLimitInterceptor
from broker.metrics import BrokerMetrics
from broker.nodes import NodeClient
from broker.screening import ScreeningLimits
from broker.service import BrokerServicer
from broker.workflow import RequestStore, open_request_store
from broker.workflow.audit_events import settle_recent
from broker.workflow_service import RequestServicer
from connectors.keys import KeyScheme
from selec.observability import MetricsEndpoint, serve_metrics
from selec.serving import (
    RunningServer,
    ServeError,
    bound_address,
    start_server,
    watch_health,
)
from selec.tls import TlsError
from selec.tokens import TokenVerifier, load_private_key, load_public_key
from selec.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    broker_pb2,
    broker_pb2_grpc,
    requests_pb2,
    requests_pb2_grpc,
)

log = logging.getLogger(__name__)

HEALTH_INTERVAL_SECONDS = 5.0
STORE_PREPARE_WAIT_SECONDS = 2.0
REQUEST_SERVICE = requests_pb2.DESCRIPTOR.services_by_name["RequestService"].full_name
AUDIT_SERVICE = audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name
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
    audit: AuditTrail | None = None
    requests: RequestStore | None = None
    preparing: asyncio.Task[None] | None = None
    settling: asyncio.Task[int] | None = None

    @property
    def address(self) -> str:
        """HOST:PORT the broker listens on."""
        return bound_address(self.settings.listen, self.server.port)

    async def stop(self, grace: float | None = None) -> None:
        """Drain in-flight searches, then close the node channels."""
        for task in (self.health_task, self.preparing, self.settling):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.server.stop(self.settings.grace_seconds if grace is None else grace)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        for client in self.clients.values():
            await client.close()
        if self.index is not None:
            await asyncio.to_thread(self.index.close)
        if self.audit is not None:
            await self.audit.close()
        if self.requests is not None:
            await asyncio.to_thread(self.requests.close)


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


@dataclass
class Security:
    """What the broker's security settings resolve to at start."""

    server_credentials: grpc.ServerCredentials | None
    node_credentials: grpc.ChannelCredentials | None
    verifier: TokenVerifier | None
    signer: GrantSigner | None


def load_security(settings: BrokerSettings) -> Security:
    """Read TLS files and keys now: an unreadable one fails the start with one line."""
    security = settings.security
    try:
        return Security(
            server_credentials=security.tls.server_credentials(require_client_auth=False)
            if security.tls
            else None,
            node_credentials=security.tls.channel_credentials() if security.tls else None,
            verifier=TokenVerifier(
                load_public_key(security.token_public_key), security.token_audience
            )
            if security.token_public_key
            else None,
            signer=GrantSigner(load_private_key(security.grant_signing_key))
            if security.grant_signing_key
            else None,
        )
    except (TlsError, ValueError) as exc:
        raise ServeError(str(exc)) from None


async def open_workflow(settings: IndexSettings) -> tuple[RequestStore, AuditLog] | None:
    """The request store and the audit log, on the index's backend (None without one)."""
    if not settings.enabled:
        return None
    requests = open_request_store(
        settings.backend,
        sqlite_path=settings.sqlite_beside("requests"),
        opensearch_url=settings.opensearch_url,
        prefix=settings.prefix,
    )
    audit = open_audit_log(
        settings.backend,
        sqlite_path=settings.sqlite_beside("audit"),
        opensearch_url=settings.opensearch_url,
        prefix=settings.prefix,
    )
    return requests, audit


async def prepare_until_ready(stores: list[RequestStore | AuditLog], interval: float) -> None:
    """Prepare each store; retry the ones whose backend is not reachable yet.

    A broker whose OpenSearch is still starting must come up (live search needs no
    store); until a store is prepared, calls that need it answer UNAVAILABLE.
    """
    waiting = list(stores)
    while waiting:
        for store in list(waiting):
            try:
                await asyncio.to_thread(store.prepare)
                waiting.remove(store)
            except ReferenceIndexError as exc:
                log.error("store not ready (%s): %s; retrying", type(store).__name__, exc)
        if waiting:
            await asyncio.sleep(interval)


def size_limits(limits: LimitsSettings) -> tuple[CriteriaLimits, ScreeningLimits]:
    """What one search and one screening may ask, from the `limits:` settings."""
    criteria = CriteriaLimits(
        max_name_parts=limits.max_name_parts, max_keys=limits.max_keys_per_search
    )
    return criteria, ScreeningLimits(
        max_subjects=limits.max_subjects_per_screening, criteria=criteria
    )


async def start_broker(
    settings: BrokerSettings, health_interval: float = HEALTH_INTERVAL_SECONDS
) -> RunningBroker:
    """Create the node channels (once, for every search) and start serving."""
    security = load_security(settings)
    registry = CollectorRegistry()
    metrics = BrokerMetrics(registry)
    clients = {
        entry.country: NodeClient(
            entry,
            settings.retry,
            settings.suspension,
            on_retry=lambda country: metrics.retries.labels(country).inc(),
            credentials=security.node_credentials,
        )
        for entry in settings.countries
    }
    metrics.watch_suspensions(
        (c, lambda client=client: client.suspension.state().suspended)
        for c, client in clients.items()
    )
    index = await open_index(settings.index, metrics)
    workflow = await open_workflow(settings.index)
    preparing = (
        asyncio.create_task(prepare_until_ready(list(workflow), health_interval))
        if workflow
        else None
    )
    if preparing is not None:
        await asyncio.wait([preparing], timeout=STORE_PREPARE_WAIT_SECONDS)
    trail = AuditTrail(workflow[1]) if workflow else None
    if workflow is not None:
        store = workflow[0]
        metrics.watch_requests(lambda: store.count_overdue(dt.datetime.now(dt.UTC)))
    criteria_limits, screening_limits = size_limits(settings.limits)
    servicer = BrokerServicer(
        KeyScheme(settings.key_secret),
        clients,
        settings.answer_margin_seconds,
        metrics,
        index=index,
        index_only=frozenset(c.country for c in settings.countries if c.index_only),
        audit=trail,
        publishers_need_identity=security.verifier is not None,
        criteria_limits=criteria_limits,
        screening_limits=screening_limits,
    )
    countries = {c.country: c for c in settings.countries}

    def register(server: grpc.aio.Server) -> None:
        broker_pb2_grpc.add_BrokerServiceServicer_to_server(servicer, server)
        if workflow is not None and trail is not None:
            requests_pb2_grpc.add_RequestServiceServicer_to_server(
                RequestServicer(
                    workflow[0], countries, clients, security.signer, audit=trail, metrics=metrics
                ),
                server,
            )
            audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(trail), server)

    names = [SERVICE_NAME] + ([REQUEST_SERVICE, AUDIT_SERVICE] if workflow else [])
    try:
        server = await start_server(
            settings.listen,
            register,
            names,
            registry=registry,
            reuse_port=settings.workers > 1,
            credentials=security.server_credentials,
            interceptors=[
                AuthInterceptor(
                    security.verifier, lambda reason: metrics.refused.labels(reason).inc()
                ),
                RateLimitInterceptor(RateLimiter(settings.limits), registry),
            ],
            max_receive_message_bytes=settings.limits.max_receive_message_bytes,
            max_send_message_bytes=settings.limits.max_send_message_bytes,
        )
    except BaseException:
        for client in clients.values():
            await client.close()
        if index is not None:
            index.close()
        if trail is not None:
            await trail.close()
        raise
    broker = RunningBroker(settings, server, clients, metrics, index, audit=trail)
    broker.preparing = preparing
    if workflow is not None and trail is not None:
        broker.requests = workflow[0]
        # Steps a crashed broker stored without their audit events get them now.
        broker.settling = asyncio.create_task(
            settle_recent(workflow[0], trail, dt.datetime.now(dt.UTC), health_interval)
        )
    if settings.metrics_listen is not None:
        broker.metrics_endpoint = serve_metrics(settings.metrics_listen, registry)
    if index is not None:
        broker.health_task = asyncio.create_task(watch_health(server, index.ping, health_interval))
    if security.verifier is None:
        log.warning("broker runs WITHOUT authentication (development mode)")
    log.info("broker serving address=%s countries=%d", broker.address, len(clients))
    return broker
