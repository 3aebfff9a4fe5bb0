"""Faults on the reveal path: the node's database or link failing while it releases.

A release consumes the grant's single-use nonce, so a fault here can lose a reveal for
good: the officer must never be told "try again" by a node that has in fact used the
grant up. Every test runs a real node (real gRPC on loopback, its real SQLite database)
and asks it to release with grants signed by a real Ed25519 key, directly or as the
officer through the real broker over mTLS. The faults are real too: a table missing,
the database file gone or replaced, a real import holding the write lock, and (the one
thing a real node cannot do on demand) a link that delivers the answer too late, made
by `tests.faults.proxy`. Last, the node's publisher must outlive its database going.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from broker.config import IndexSettings
from broker.grants import GrantSigner
from broker.server import start_broker
from broker.workflow_service import RELEASE_DEADLINE_SECONDS
from connectors.config import ConnectorSettings
from connectors.importer import import_records
from connectors.node import RunningNode, make_keyer, open_store, start_node
from connectors.publisher import RETRY_SECONDS, START_DELAY_SECONDS, PublishSchedule
from connectors.release import ReleaseLedger
from connectors.store import StoreError
from connectors.synthetic import generate
from selec.tokens import new_signing_key, write_public_key
from selec.v1 import connector_pb2, connector_pb2_grpc
from tests.faults.proxy import FaultProxy, start_proxy
from tests.federation import broker_settings, node_settings
from tests.secure import SecureFederation, secure_channel, start_secure_federation

pytestmark = pytest.mark.integration

Code = grpc.StatusCode
DEADLINE = 5.0
# Slack for a loaded machine on top of any deadline a test waits out.
SLACK = 3.0


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

    def same_nonce_another_request(
        self, request: connector_pb2.ReleaseRequest
    ) -> connector_pb2.ReleaseRequest:
        """A genuine grant that reuses request's nonce for another request."""
        grant = connector_pb2.Grant.FromString(request.grant)
        grant.request_id = "e" * 32
        return self.signer.sign(grant)

    def record_fields(self, reference: str) -> dict[str, str]:
        """What a release of the record at reference must show: its stored fields."""
        with closing(sqlite3.connect(self.database)) as db:
            (payload,) = db.execute(
                "SELECT payload FROM records WHERE reference = ?", (reference,)
            ).fetchone()
        return {k: str(v) for k, v in json.loads(payload).items() if k not in {"kind", "category"}}

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

    def serves(self, request: connector_pb2.ReleaseRequest) -> int:
        """How often the node served request's grant (its home log of serves)."""
        nonce = connector_pb2.Grant.FromString(request.grant).nonce
        with closing(sqlite3.connect(self.database)) as db:
            query = "SELECT COUNT(*) FROM release_serves WHERE nonce = ?"
            return db.execute(query, (nonce,)).fetchone()[0]


@pytest.fixture
async def rs(seeded_dir: Path, tmp_path: Path) -> AsyncIterator[ReleasingNode]:
    """A real RS node over its own copy of the seeded database, releasing for our key."""
    key = new_signing_key()
    write_public_key(key.public_key(), tmp_path / "grant-signing.pub")
    settings = replace(
        node_settings("RS", tmp_path / "rs"), broker_public_key=tmp_path / "grant-signing.pub"
    )
    settings.database.parent.mkdir()
    keep_a_copy(node_settings("RS", seeded_dir).database, settings.database)
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
    again = await rs.refused(rs.same_nonce_another_request(request))
    assert again.code() == Code.PERMISSION_DENIED and "already used" in again.details()
    assert rs.releases() == 1


def keep_a_copy(database: Path, kept: Path) -> None:
    """A consistent copy of the node's database in one file (a backup to put back)."""
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(kept)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")


def break_database(database: Path, how: str) -> None:
    if how == "file deleted":
        for path in database.parent.glob(database.name + "*"):
            path.unlink()
    elif how == "directory removed":
        shutil.rmtree(database.parent)
    else:  # replaced by a copy that broke half-way: not a database at all
        for path in database.parent.glob(database.name + "-*"):
            path.unlink()
        replaced = database.with_name("partial-copy")
        replaced.write_bytes(b"not an sqlite database, a copy cut short " * 100)
        replaced.replace(database)


@pytest.mark.parametrize("how", ["file deleted", "directory removed", "replaced"])
async def test_a_database_gone_or_replaced_is_unavailable_and_nothing_is_created(
    rs: ReleasingNode, tmp_path: Path, how: str
) -> None:
    """The node's database goes away (or is replaced by a broken copy) while it serves.

    Before, the ledger kept writing into the deleted file through its open connection, or
    opened the path afresh and so created an empty database in its place (which the
    store then answered NO_HIT from). Now the release is UNAVAILABLE, nothing is created,
    and once the database is put back the same grant releases the record exactly once.
    """
    request = rs.grant()
    kept = tmp_path / "kept.db"
    await rs.release(rs.grant(request_id="b" * 32))  # the ledger's connections are open
    assert rs.releases() == 1
    keep_a_copy(rs.database, kept)
    break_database(rs.database, how)
    for _ in range(3):  # whichever worker thread (and connection) takes the call
        error = await rs.refused(request)
        assert error.code() == Code.UNAVAILABLE, error.details()
        assert "database is unavailable" in error.details()
        assert_safe(error.details(), rs.database)
    if how == "replaced":
        assert rs.database.read_bytes().startswith(b"not an sqlite database")
    else:
        assert not rs.database.exists(), "an empty database was created in its place"
    rs.database.parent.mkdir(exist_ok=True)
    shutil.copyfile(kept, rs.database)
    released = await rs.release(request)
    assert released.reference == rs.reference()
    assert rs.releases() == 2


@pytest.mark.parametrize("how", ["file deleted", "directory removed"])
def test_publishing_from_a_database_gone_creates_nothing(
    seeded_dir: Path, tmp_path: Path, how: str
) -> None:
    """What a publication reads: a database gone is a StoreError, and stays gone.

    Opening the path afresh used to create an empty database there, which the node's
    store would then have opened and answered NO_HIT from.
    """
    settings = node_settings("RS", tmp_path / "rs")
    settings.database.parent.mkdir()
    keep_a_copy(node_settings("RS", seeded_dir).database, settings.database)
    store = open_store(settings)
    published = list(store.published_records())
    assert published
    break_database(settings.database, how)
    with pytest.raises(StoreError, match="gone"):
        list(store.published_records())
    assert not settings.database.exists()
    settings.database.parent.mkdir(exist_ok=True)
    keep_a_copy(node_settings("RS", seeded_dir).database, settings.database)
    assert list(store.published_records()) == published


class ImportInProgress:
    """A real import (what `selec import` runs) into the node's database, paused half-way.

    An import is one write transaction for its whole run, so while it is paused the
    database is locked for writers exactly as during a long import; `finish` lets it
    complete (and commit).
    """

    def __init__(self, settings: ConnectorSettings) -> None:
        self._settings = settings
        self._paused = threading.Event()
        self._go = threading.Event()
        self._run: asyncio.Future[int] | None = None

    def _lines(self) -> Iterator[tuple[int, dict[str, object]]]:
        records = list(generate(self._settings.country, persons=3, seed=99))[1:]
        for number, record in enumerate(records, start=1):
            yield number, {**record, "id": f"IMPORTED-{number}"}
            if number == 1:
                self._paused.set()
                self._go.wait(60)

    async def __aenter__(self) -> ImportInProgress:
        store, keyer = open_store(self._settings), make_keyer(self._settings)
        self._run = asyncio.ensure_future(
            asyncio.to_thread(import_records, "import", self._lines(), store, keyer)
        )
        assert await asyncio.to_thread(self._paused.wait, 10), "the import never started"
        return self

    async def finish(self) -> None:
        """Let the import complete; it must have committed its records."""
        assert self._run is not None
        self._go.set()
        assert await self._run > 1

    async def __aexit__(self, *exc_info: object) -> None:
        self._go.set()
        if self._run is not None:
            await asyncio.gather(self._run, return_exceptions=True)


async def test_a_lock_held_past_the_callers_deadline_is_busy_and_consumes_nothing(
    rs: ReleasingNode,
) -> None:
    """A long import holds the database while the broker asks for a release.

    The node used to wait 30 s for the lock, long after its caller had given up: the
    nonce was consumed once the import committed, and the officer's retry was refused as
    "grant already used". Now the node answers UNAVAILABLE "busy; retry" within the
    caller's deadline, with nothing consumed, and the retry releases the record once.
    """
    request = rs.grant()
    deadline = 2.0
    async with ImportInProgress(rs.node.settings) as running_import:
        started = time.monotonic()
        error = await rs.refused(request, deadline)
        assert error.code() == Code.UNAVAILABLE, error.details()
        assert error.details() == "the node's database is busy; retry"
        assert time.monotonic() - started < deadline + SLACK
        await running_import.finish()
    await asyncio.sleep(1.0)  # a wait that outlived the caller would now commit
    assert rs.releases() == 0, "the nonce was consumed after the caller gave up"
    released = await rs.release(request)
    assert released.reference == rs.reference() and released.fields
    assert rs.releases() == 1


async def test_a_lock_released_within_the_callers_deadline_is_waited_for(
    rs: ReleasingNode,
) -> None:
    """An import that commits while the release waits: the release goes through."""
    request = rs.grant()
    async with ImportInProgress(rs.node.settings) as running_import:
        call = asyncio.ensure_future(rs.release(request, deadline=20.0))
        await asyncio.sleep(1.0)
        assert not call.done() and rs.releases() == 0
        await running_import.finish()
        released = await call
    assert released.reference == rs.reference()
    assert rs.releases() == 1


@pytest.fixture
async def secure_rs(tmp_path: Path) -> AsyncIterator[SecureFederation]:
    """The whole reveal path over mTLS: broker (grants, requests, audit) and node RS."""
    index = IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    federation = await start_secure_federation(tmp_path, index, countries=("RS",))
    yield federation
    await federation.close()


async def approved_request(fed: SecureFederation) -> str:
    """The officer asks for Jovan's record in RS and the RS approver approves."""
    pending = await fed.request_details(await fed.hit_reference())
    await fed.approve(pending.request_id)
    return pending.request_id


async def test_the_officer_retries_a_reveal_refused_during_an_import(
    secure_rs: SecureFederation,
) -> None:
    """Through the broker: a reveal during a long import fails as a retryable
    UNAVAILABLE; the officer's retry after the import reveals the record, once."""
    fed = secure_rs
    request_id = await approved_request(fed)
    ledger = ReleaseLedger(fed.nodes["RS"].settings.database)
    async with ImportInProgress(fed.nodes["RS"].settings) as running_import:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await fed.reveal(request_id)
        assert caught.value.code() == Code.UNAVAILABLE, caught.value.details()
        assert "try again" in caught.value.details()
        await running_import.finish()
    await asyncio.sleep(1.0)  # a wait that outlived the broker's would now commit
    assert ledger.count() == 0, "the nonce was consumed after the broker gave up"
    revealed = await fed.reveal(request_id)
    assert revealed.fields["family"] == "Петровић"
    assert ledger.count() == 1
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await fed.reveal(request_id)
    assert again.value.code() == Code.FAILED_PRECONDITION


# ---------------------------------------------------------------- answers that get lost


@pytest.fixture
async def rs_behind_proxy(rs: ReleasingNode) -> AsyncIterator[tuple[ReleasingNode, FaultProxy]]:
    """The RS node reached through a fault proxy (a link that can be made slow)."""
    proxy = await start_proxy(rs.node.address)
    async with grpc.aio.insecure_channel(proxy.address) as channel:
        through = replace(rs, stub=connector_pb2_grpc.ConnectorServiceStub(channel))
        await through.stub.Describe(connector_pb2.DescribeRequest(), timeout=DEADLINE)
        yield through, proxy
    await proxy.close()


async def committed(rs: ReleasingNode, releases: int) -> None:
    """Wait until the node's home log holds this many releases."""
    for _ in range(100):
        if rs.releases() == releases:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the node never logged {releases} releases")


async def test_an_answer_lost_after_the_release_is_served_again_for_the_same_grant(
    rs_behind_proxy: tuple[ReleasingNode, FaultProxy],
) -> None:
    """The node releases and logs, but its answer reaches the caller after its deadline.

    The node cannot know the answer was lost, and the grant is spent; the caller's retry
    with the same grant used to be refused as "grant already used", losing the reveal.
    The same grant now gets the same record again (logged as a second serve); the nonce
    still refuses any other grant.
    """
    rs, proxy = rs_behind_proxy
    request = rs.grant()
    proxy.delay_seconds = 3.0
    error = await rs.refused(request, deadline=1.0)
    assert error.code() == Code.DEADLINE_EXCEEDED
    await committed(rs, 1)
    proxy.delay_seconds = 0.0
    retried = await rs.release(request)
    assert retried.reference == rs.reference()
    assert dict(retried.fields) == rs.record_fields(retried.reference)
    assert (rs.releases(), rs.serves(request)) == (1, 2)
    other = await rs.refused(rs.same_nonce_another_request(request))
    assert other.code() == Code.PERMISSION_DENIED and "already used" in other.details()
    assert (rs.releases(), rs.serves(request)) == (1, 2)


async def test_the_officer_retries_a_reveal_whose_answer_came_too_late(
    secure_rs: SecureFederation,
) -> None:
    """Through the broker: the node released, but the answer came after the broker's
    deadline; the officer's retry reveals the record instead of "grant already used"."""
    fed = secure_rs
    request_id = await approved_request(fed)
    proxy = await start_proxy(fed.nodes["RS"].address)
    try:
        await broker_over(fed, proxy.address)
        await fed.hit_reference()  # the broker's link to RS is up before it turns slow
        ledger = ReleaseLedger(fed.nodes["RS"].settings.database)
        proxy.delay_seconds = RELEASE_DEADLINE_SECONDS + 1.5
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await fed.reveal(request_id)
        assert caught.value.code() == Code.UNAVAILABLE, caught.value.details()
        assert "try again" in caught.value.details()
        assert ledger.count() == 1  # released at home, the answer still on its way
        proxy.delay_seconds = 0.0
        revealed = await fed.reveal(request_id)
        assert revealed.fields["family"] == "Петровић"
        assert ledger.count() == 1
        with pytest.raises(grpc.aio.AioRpcError) as again:
            await fed.reveal(request_id)
        assert again.value.code() == Code.FAILED_PRECONDITION
    finally:
        await proxy.close()


async def broker_over(fed: SecureFederation, rs_endpoint: str) -> None:
    """Restart fed's broker (same stores, same port) reaching RS at rs_endpoint."""
    settings = fed.broker.settings
    countries = tuple(replace(c, endpoint=rs_endpoint) for c in settings.countries)
    settings = replace(settings, countries=countries, listen=fed.broker.address)
    await fed.channel.close()
    await fed.broker.stop(0)
    fed.broker = await start_broker(settings)
    fed.channel = secure_channel(fed.pki, fed.broker.address)


# ---------------------------------------------------------------- publishing


async def test_a_publisher_outlives_its_database_going_away(
    seeded_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database is gone when a scheduled publication is due: that publication fails
    (and creates nothing), but the publisher goes on, and publishes once it is back."""
    index = IndexSettings("sqlite", sqlite_path=tmp_path / "refs.db")
    broker = await start_broker(
        broker_settings({"RS": "127.0.0.1:1"}, index=index, index_only=["RS"])
    )
    schedule = PublishSchedule(broker=broker.address, interval_seconds=3600, on_start=True)
    settings = replace(node_settings("RS", tmp_path / "rs"), publish=schedule)
    settings.database.parent.mkdir()
    kept = tmp_path / "kept.db"
    keep_a_copy(node_settings("RS", seeded_dir).database, kept)
    shutil.copyfile(kept, settings.database)
    node = await start_node(settings)
    try:
        await asyncio.sleep(0.5)  # the publisher waits for its first publication
        break_database(settings.database, "file deleted")
        for _ in range(int(START_DELAY_SECONDS + SLACK) * 20):
            if "publish failed" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert "publish failed" in caplog.text
        assert node.publisher is not None and not node.publisher.done()
        assert not settings.database.exists()
        shutil.copyfile(kept, settings.database)
        store = open_store(settings)
        for _ in range(int(RETRY_SECONDS + SLACK) * 20):
            if store.last_publication(broker.address) is not None:
                break
            await asyncio.sleep(0.05)
        assert store.last_publication(broker.address) is not None, "never published"
    finally:
        await node.stop(0)
        await broker.stop(0)
