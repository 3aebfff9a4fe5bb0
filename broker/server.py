"""The broker assembled from its settings: key scheme, node clients, gRPC server."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from broker.config import BrokerSettings
from broker.nodes import NodeClient
from broker.service import BrokerServicer
from connectors.keys import KeyScheme
from selec.serving import RunningServer, bound_address, start_server
from selec.v1 import broker_pb2, broker_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = broker_pb2.DESCRIPTOR.services_by_name["BrokerService"].full_name


@dataclass
class RunningBroker:
    """A broker that is serving, with its node clients (for status reports)."""

    settings: BrokerSettings
    server: RunningServer
    clients: dict[str, NodeClient]

    @property
    def address(self) -> str:
        """HOST:PORT the broker listens on."""
        return bound_address(self.settings.listen, self.server.port)

    async def stop(self, grace: float | None = None) -> None:
        """Drain in-flight searches, then close the node channels."""
        await self.server.stop(self.settings.grace_seconds if grace is None else grace)
        for client in self.clients.values():
            await client.close()


async def start_broker(settings: BrokerSettings) -> RunningBroker:
    """Create the node channels (once, for every search) and start serving."""
    clients = {
        entry.country: NodeClient(entry, settings.retry, settings.suspension)
        for entry in settings.countries
    }
    servicer = BrokerServicer(
        KeyScheme(settings.key_secret), clients, settings.answer_margin_seconds
    )
    try:
        server = await start_server(
            settings.listen,
            lambda s: broker_pb2_grpc.add_BrokerServiceServicer_to_server(servicer, s),
            [SERVICE_NAME],
        )
    except BaseException:
        for client in clients.values():
            await client.close()
        raise
    broker = RunningBroker(settings, server, clients)
    log.info("broker serving address=%s countries=%d", broker.address, len(clients))
    return broker
