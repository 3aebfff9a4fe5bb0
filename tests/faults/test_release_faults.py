"""Faults on the reveal path: the node's database failing while it releases a record.

A release consumes the grant's single-use nonce, so a fault here can lose a reveal for
good: the officer must never be told "try again" by a node that has in fact used the
grant up. Every test runs a real node (real gRPC on loopback, its real SQLite database)
and asks it to release with grants signed by a real Ed25519 key; the faults are real
too: a table missing, the database file gone or replaced.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from broker.grants import GrantSigner
from connectors.node import RunningNode, start_node
from connectors.release import ReleaseLedger
from selec.tokens import new_signing_key, write_public_key
from selec.v1 import connector_pb2, connector_pb2_grpc
from tests.federation import node_settings

pytestmark = pytest.mark.integration

Code = grpc.StatusCode
DEADLINE = 5.0


@dataclass
class ReleasingNode:
    """A real RS node that releases records for grants signed by `signer`."""

    node: RunningNode
    signer: GrantSigner
    stub: connector_pb2_grpc.ConnectorServiceStub

    @property
    def database(self) -> Path:
        return self.node.settings.database

    def reference(self) -> str:
        """The reference of a record the node holds."""
        with sqlite3.connect(self.database) as db:
            return db.execute("SELECT reference FROM records ORDER BY reference").fetchone()[0]

    def grant(self, **changes: object) -> connector_pb2.ReleaseRequest:
        """A genuine signed grant for one of the node's records."""
        fields: dict[str, object] = dict(
            request_id="a" * 32,
            country="RS",
            reference=self.reference(),
            requester="officer.gr",
            requester_country="GR",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            handling_code="H1",
            handling_note="",
            purpose="investigation",
        )
        fields.update(changes)
        return self.signer.grant(**fields)[1]  # type: ignore[arg-type]

    async def release(
        self, request: connector_pb2.ReleaseRequest, deadline: float = DEADLINE
    ) -> connector_pb2.ReleaseResponse:
        return await self.stub.Release(request, timeout=deadline)

    async def refused(
        self, request: connector_pb2.ReleaseRequest, deadline: float = DEADLINE
    ) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.release(request, deadline)
        return caught.value

    def releases(self) -> int:
        """Releases in the node's home log."""
        return ReleaseLedger(self.database).count()


@pytest.fixture
async def rs(seeded_dir: Path, tmp_path: Path) -> AsyncIterator[ReleasingNode]:
    """A real RS node over its own copy of the seeded database, releasing for our key."""
    key = new_signing_key()
    write_public_key(key.public_key(), tmp_path / "grant-signing.pub")
    settings = replace(
        node_settings("RS", tmp_path / "rs"), broker_public_key=tmp_path / "grant-signing.pub"
    )
    settings.database.parent.mkdir()
    with (
        sqlite3.connect(node_settings("RS", seeded_dir).database) as source,
        sqlite3.connect(settings.database) as copy,
    ):
        source.backup(copy)
    node = await start_node(settings)
    async with grpc.aio.insecure_channel(node.address) as channel:
        yield ReleasingNode(
            node, GrantSigner(key), connector_pb2_grpc.ConnectorServiceStub(channel)
        )
    await node.stop(0)


def assert_safe(details: str, database: Path) -> None:
    """A storage failure's message: says to retry, names no SQL, table or path."""
    assert "retry" in details, details
    for leak in ("SELECT", "INSERT", "no such", "releases", "records", "sqlite", "/"):
        assert leak not in details, (leak, details)
    assert database.name not in details, details


async def test_a_database_error_is_unavailable_not_a_refused_grant(rs: ReleasingNode) -> None:
    """The ledger's table is dropped behind the node's back (a restore of an old backup).

    The grant is genuine: the failure is the node's, so UNAVAILABLE (try again), never
    PERMISSION_DENIED (which tells the officer the grant is bad). Once the table is back,
    the same grant releases the record exactly once.
    """
    request = rs.grant()
    with sqlite3.connect(rs.database) as db:
        db.execute("ALTER TABLE releases RENAME TO releases_kept")
    error = await rs.refused(request)
    assert error.code() == Code.UNAVAILABLE, error.details()
    assert "database is unavailable" in error.details()
    assert_safe(error.details(), rs.database)
    with sqlite3.connect(rs.database) as db:
        db.execute("ALTER TABLE releases_kept RENAME TO releases")
    released = await rs.release(request)
    assert released.reference == rs.reference() and released.fields
    assert rs.releases() == 1
    again = await rs.refused(request)
    assert again.code() == Code.PERMISSION_DENIED and "already used" in again.details()
    assert rs.releases() == 1
