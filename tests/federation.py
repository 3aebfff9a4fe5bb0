"""Real federations for tests: connector servers and a broker on loopback ports.

Nodes are real `ConnectorService` servers over real SQLite files; the broker is the real
broker. The only fake is `HangingConnector`, a node that never answers, because a real
node cannot be made to hang on demand.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import grpc

from broker.config import (
    BrokerSettings,
    CountrySettings,
    IndexSettings,
    RetryPolicy,
    SuspensionPolicy,
)
from broker.server import RunningBroker, start_broker
from connectors.config import ConnectorSettings
from connectors.importer import import_records
from connectors.node import SERVICE_NAME, RunningNode, make_keyer, open_store, start_node
from connectors.publisher import publish
from connectors.synthetic import generate
from selec.serving import RunningServer, start_server
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2, connector_pb2_grpc

KEY_SECRET = bytes.fromhex("5e1ec0de" * 8)


def node_settings(country: str, data_dir: Path, listen: str = "127.0.0.1:0") -> ConnectorSettings:
    """Settings of a test node whose database lives in data_dir."""
    return ConnectorSettings(
        source="test",
        country=country,
        listen=listen,
        backend="sqlite",
        database=data_dir / f"{country.lower()}.db",
        key_secret=KEY_SECRET,
        reference_secret=(country * 16).encode(),
        grace_seconds=0.5,
    )


def seed_node(settings: ConnectorSettings, persons: int, extra: Iterable[dict] = ()) -> int:
    """Fill a node's database with synthetic records (plus extra ones)."""
    records = [*generate(settings.country, persons=persons, seed=7), *extra]
    return import_records(
        "seed",
        enumerate(records, start=1),
        open_store(settings),
        make_keyer(settings),
        replace_all=True,
    )


class HangingConnector(connector_pb2_grpc.ConnectorServiceServicer):
    """A node that accepts calls and never answers (until cancelled)."""

    def __init__(self) -> None:
        self.calls = 0
        self.cancelled = 0

    async def Match(self, request, context):
        self.calls += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def start_hanging_node(listen: str = "127.0.0.1:0") -> tuple[RunningServer, HangingConnector]:
    """Serve a HangingConnector."""
    servicer = HangingConnector()
    server = await start_server(
        listen,
        lambda s: connector_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, s),
        [SERVICE_NAME],
    )
    return server, servicer


def broker_settings(
    endpoints: Mapping[str, str],
    *,
    deadline_seconds: float = 2.0,
    deadlines: Mapping[str, float] | None = None,
    suspension: SuspensionPolicy | None = None,
    index: IndexSettings | None = None,
    index_only: Iterable[str] = (),
) -> BrokerSettings:
    """Broker settings over the given endpoints."""
    return BrokerSettings(
        source="test",
        listen="127.0.0.1:0",
        key_secret=KEY_SECRET,
        countries=tuple(
            CountrySettings(c, e, (deadlines or {}).get(c, deadline_seconds), c in set(index_only))
            for c, e in endpoints.items()
        ),
        retry=RetryPolicy(attempts=2, backoff_seconds=0.01),
        suspension=suspension or SuspensionPolicy(3, 5.0, 300.0),
        answer_margin_seconds=0.05,
        grace_seconds=0.5,
        index=index or IndexSettings("none"),
    )


@dataclass
class Federation:
    """Running nodes (by country) and a broker, with a client channel to the broker."""

    nodes: dict[str, RunningNode]
    broker: RunningBroker
    channel: grpc.aio.Channel
    extra_servers: list[RunningServer] = field(default_factory=list)

    @property
    def stub(self) -> broker_pb2_grpc.BrokerServiceStub:
        """A client of the broker."""
        return broker_pb2_grpc.BrokerServiceStub(self.channel)

    async def search(
        self, criteria: common_pb2.Criteria, countries: Iterable[str] = (), deadline: float = 10
    ) -> tuple[list[broker_pb2.CountryAnswer], broker_pb2.SearchSummary]:
        """Run a search; return the streamed answers and the summary."""
        answers, summary = [], None
        request = broker_pb2.SearchRequest(
            criteria=criteria,
            purpose="test",
            legal_basis="test",
            countries=list(countries),
        )
        async for event in self.stub.Search(request, timeout=deadline):
            if event.HasField("answer"):
                answers.append(event.answer)
            else:
                summary = event.summary
        assert summary is not None, "the stream ended without a summary"
        return answers, summary

    async def publish(self, country: str) -> broker_pb2.PublishResponse:
        """Publish a running node's references to the broker, as `selec publish` does."""
        node = self.nodes[country]
        return await asyncio.to_thread(
            publish,
            open_store(node.settings),
            country,
            make_keyer(node.settings).scheme.version,
            self.broker.address,
        )

    async def restart_node(self, country: str) -> RunningNode:
        """Start a stopped node again on the same port."""
        old = self.nodes[country]
        node = await start_node(replace(old.settings, listen=old.address))
        self.nodes[country] = node
        return node

    async def close(self) -> None:
        """Stop everything."""
        await self.channel.close()
        await self.broker.stop(0)
        for node in self.nodes.values():
            await node.stop(0)
        for server in self.extra_servers:
            await server.stop(0)


async def start_federation(
    data_dir: Path,
    countries: Iterable[str],
    extra_endpoints: Mapping[str, str] | None = None,
    *,
    metrics: bool = False,
    health_interval: float = 5.0,
    **broker_options: object,
) -> Federation:
    """Start a node per country over the databases in data_dir, and a broker over them.

    metrics: every server also serves /metrics on a free loopback port.
    """
    metrics_listen = "127.0.0.1:0" if metrics else None
    nodes = {}
    for country in countries:
        settings = replace(node_settings(country, data_dir), metrics_listen=metrics_listen)
        nodes[country] = await start_node(settings, health_interval=health_interval)
    endpoints = {c: n.address for c, n in nodes.items()} | dict(extra_endpoints or {})
    settings = replace(
        broker_settings(endpoints, **broker_options),  # type: ignore[arg-type]
        metrics_listen=metrics_listen,
    )
    broker = await start_broker(settings, health_interval=health_interval)
    channel = grpc.aio.insecure_channel(broker.address)
    return Federation(nodes, broker, channel)


def person(given: str, family: str, dob: str = "") -> common_pb2.Criteria:
    """Criteria for a person."""
    return common_pb2.Criteria(
        person=common_pb2.PersonCriteria(given_names=given, family_names=family, date_of_birth=dob)
    )


def random_hex() -> str:
    """A 32-hex-digit digest no record has."""
    return secrets.token_hex(16)
