"""A federation with everything on: mTLS, tokens, grants, the request store and audit.

Real servers on loopback, a real demo PKI in a temporary directory, real Ed25519 keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from broker.config import IndexSettings, SecuritySettings
from broker.server import RunningBroker, start_broker
from connectors.node import RunningNode, start_node
from selec.cli.keys_cmd import create_demo_security
from selec.tls import files_for, node_name
from selec.tokens import issue_token, load_private_key
from selec.v1 import (
    audit_pb2_grpc,
    broker_pb2,
    broker_pb2_grpc,
    common_pb2,
    requests_pb2,
    requests_pb2_grpc,
)
from tests.federation import broker_settings, node_settings, seed_node

JOVAN = common_pb2.Criteria(
    person=common_pb2.PersonCriteria(
        given_names="Jovan", family_names="Petrovic", date_of_birth="1985-03-14"
    )
)

# name -> (country, roles)
PEOPLE = {
    "officer.gr": ("GR", ["officer"]),
    "officer2.gr": ("GR", ["officer"]),
    "officer.rs": ("RS", ["officer"]),
    "approver.rs": ("RS", ["approver"]),
    "approver2.rs": ("RS", ["approver"]),
    "approver.bg": ("BG", ["approver"]),
    "officer-approver.rs": ("RS", ["officer", "approver"]),
    "auditor.ro": ("RO", ["auditor"]),
    "admin.ro": ("RO", ["admin"]),
    "node.rs": ("RS", ["node"]),
    "node.bg": ("BG", ["node"]),
}


@dataclass
class SecureFederation:
    """Nodes, a broker and one client channel; tokens by person."""

    pki: Path
    nodes: dict[str, RunningNode]
    broker: RunningBroker
    channel: grpc.aio.Channel
    tokens: dict[str, str]
    index: IndexSettings

    def auth(self, person: str) -> tuple[tuple[str, str], ...]:
        """Call metadata for person."""
        return (("authorization", f"Bearer {self.tokens[person]}"),)

    @property
    def search_stub(self) -> broker_pb2_grpc.BrokerServiceStub:
        return broker_pb2_grpc.BrokerServiceStub(self.channel)

    @property
    def requests(self) -> requests_pb2_grpc.RequestServiceStub:
        return requests_pb2_grpc.RequestServiceStub(self.channel)

    @property
    def audit(self) -> audit_pb2_grpc.AuditServiceStub:
        return audit_pb2_grpc.AuditServiceStub(self.channel)

    async def hit_reference(self, person: str = "officer.gr", country: str = "RS") -> str:
        """Search Jovan as person; the reference of his hit in country."""
        request = broker_pb2.SearchRequest(
            criteria=JOVAN,
            purpose="investigation",
            legal_basis="SELEC art. 2",
            countries=[country],
        )
        async for event in self.search_stub.Search(request, timeout=10, metadata=self.auth(person)):
            if event.HasField("answer") and event.answer.hits:
                return event.answer.hits[0].reference
        raise AssertionError("no hit")

    async def request_details(
        self, reference: str, person: str = "officer.gr", country: str = "RS"
    ) -> requests_pb2.DetailsRequest:
        return await self.requests.RequestDetails(
            requests_pb2.RequestDetailsRequest(
                country=country,
                reference=reference,
                purpose="investigation",
                legal_basis="SELEC art. 2",
                justification="case 17/2026",
            ),
            timeout=10,
            metadata=self.auth(person),
        )

    async def approve(
        self, request_id: str, person: str = "approver.rs", hours: int = 0
    ) -> requests_pb2.DetailsRequest:
        return await self.requests.Decide(
            requests_pb2.DecideRequest(
                request_id=request_id,
                approve=True,
                handling_code=requests_pb2.HANDLING_CODE_H1,
                valid_hours=hours,
            ),
            timeout=10,
            metadata=self.auth(person),
        )

    async def reveal(
        self, request_id: str, person: str = "officer.gr"
    ) -> requests_pb2.RevealResponse:
        return await self.requests.Reveal(
            requests_pb2.RevealRequest(request_id=request_id),
            timeout=10,
            metadata=self.auth(person),
        )

    async def restart_broker(self) -> None:
        """Stop the broker and start a new one on the same stores and port."""
        settings = replace(self.broker.settings, listen=self.broker.address)
        await self.channel.close()
        await self.broker.stop(0)
        self.broker = await start_broker(settings)
        self.channel = secure_channel(self.pki, self.broker.address)

    async def close(self) -> None:
        await self.channel.close()
        await self.broker.stop(0)
        for node in self.nodes.values():
            await node.stop(0)


def secure_channel(pki: Path, address: str) -> grpc.aio.Channel:
    """A client channel trusting the demo CA."""
    credentials = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.pem").read_bytes())
    return grpc.aio.secure_channel(address, credentials)


def make_tokens(pki: Path, lifetime: dt.timedelta = dt.timedelta(hours=1)) -> dict[str, str]:
    key = load_private_key(pki / "token-issuer.key")
    return {
        name: issue_token(key, name, c, roles, lifetime=lifetime)
        for name, (c, roles) in PEOPLE.items()
    }


async def start_secure_federation(
    data_dir: Path,
    index: IndexSettings,
    countries: Iterable[str] = ("RS", "BG"),
    persons: int = 30,
    pki: Path | None = None,
) -> SecureFederation:
    """Seed and start TLS nodes and a broker with auth, grants, index, requests, audit."""
    pki = pki or data_dir / "pki"
    create_demo_security(data_dir if pki == data_dir / "pki" else pki.parent)
    nodes = {}
    for country in countries:
        settings = replace(
            node_settings(country, data_dir),
            tls=files_for(pki, node_name(country)),
            broker_public_key=pki / "grant-signing.pub",
        )
        if not settings.database.exists():
            seed_node(settings, persons)
        nodes[country] = await start_node(settings)
    settings = replace(
        broker_settings({c: n.address for c, n in nodes.items()}, index=index),
        security=SecuritySettings(
            tls=files_for(pki, "broker"),
            token_public_key=pki / "token-issuer.pub",
            grant_signing_key=pki / "grant-signing.key",
        ),
    )
    broker = await start_broker(settings)
    return SecureFederation(
        pki, nodes, broker, secure_channel(pki, broker.address), make_tokens(pki), index
    )
