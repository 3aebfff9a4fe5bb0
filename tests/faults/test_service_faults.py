"""Faults of the broker's own dependencies and of the broker itself, on real servers.

The reference index's OpenSearch is a real node of our own (on a port of `OWN_PORTS` held
for the module alone, never the shared node), stopped and started again for real; "slow"
is the one fault a real node cannot produce on demand, so a TCP proxy
(`tests.faults.proxy`) delays its answers. The broker is restarted as a real server on the
same port over the same stores: stopped with grace 0 while a search, a publication or a
decision is in flight, and once as a separate process killed with SIGKILL while its audit
append waits, which is the crash between the request store and the audit log that no
orderly stop can produce.

Each test asserts what the officer sees (statuses, codes, details), that the caller's
deadline is kept, and that nothing is lost or doubled afterwards: references in the
index, approvals, audit events.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import os
import pickle
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opensearchpy import OpenSearch

from broker.audit import open_audit_log
from broker.config import BrokerSettings, IndexSettings
from broker.index import ReferenceIndexError, open_reference_index
from broker.index.queries import refs_alias
from broker.server import start_broker
from broker.workflow import RequestState, open_request_store, transitions
from connectors.node import make_keyer, open_store
from connectors.publisher import publication_stream, publish
from connectors.release import ReleaseLedger
from selec.v1 import audit_pb2, broker_pb2, requests_pb2
from tests.faults.proxy import start_proxy
from tests.federation import (
    Federation,
    node_settings,
    person,
    seed_node,
    start_federation,
    start_hanging_node,
)
from tests.secure import SecureFederation, secure_channel, start_secure_federation

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "opensearch"
OWN_PORTS = range(9210, 9220)
OWN_HEAP = "384m"
JOVAN = person("Jovan", "Petrovic", "1985-03-14")
PERSONS = 30
UNUSED_ENDPOINT = "127.0.0.1:9"  # index-only countries are never called

HIT = broker_pb2.COUNTRY_STATUS_HIT
NO_HIT = broker_pb2.COUNTRY_STATUS_NO_HIT
UNAVAILABLE = broker_pb2.COUNTRY_STATUS_UNAVAILABLE
TIMEOUT = broker_pb2.COUNTRY_STATUS_TIMEOUT
INDEXED_HIT = broker_pb2.COUNTRY_STATUS_INDEXED_HIT
INDEXED_NO_HIT = broker_pb2.COUNTRY_STATUS_INDEXED_NO_HIT
NEVER_FOR_A_SILENT_COUNTRY = {NO_HIT, INDEXED_NO_HIT, HIT, INDEXED_HIT}
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


# ---------------------------------------------------------------------- our own OpenSearch


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def exclusive_port() -> Iterator[int]:
    """A port of `OWN_PORTS` that nothing listens on, locked for as long as the node runs.

    The lock (a file lock, released even if this process is killed) keeps another test run
    on this machine off the port, including while our node is stopped on purpose: that run
    would otherwise start its own node there, and our restart would find it answering and
    use it, an empty cluster where nothing was ever published.
    """
    for port in OWN_PORTS:
        # Closing the file releases the lock.
        with open(Path(tempfile.gettempdir()) / f"selec-faults-os-{port}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another run holds it
            if _listening(port):
                continue  # a node someone started by hand
            yield port
            return
    pytest.fail(f"every port of {OWN_PORTS} is taken by another run or another node")


class OwnOpenSearch:
    """A real OpenSearch node on a port of our own that these tests may stop and start."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def _run(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        options = ["--port", str(self.port)]
        if command == "start":
            options += ["--data", str(self.data)]
        return subprocess.run(
            [str(SCRIPT), command, *options],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={
                **os.environ,
                "OPENSEARCH_HEAP": OWN_HEAP,
                # C1 only: a node that starts in about half the time, fast enough for tests.
                "OPENSEARCH_JAVA_OPTS": f"{os.environ.get('OPENSEARCH_JAVA_OPTS', '')} "
                "-XX:TieredStopAtLevel=1",
            },
        )

    def start(self) -> None:
        """Start the node (same data directory every time) and wait until it is healthy."""
        done = self._run("start", 600)
        if done.returncode != 0:
            pytest.fail(f"could not start OpenSearch:\n{done.stdout}\n{done.stderr}")
        self._check_ours()

    def _check_ours(self) -> None:
        """Fail unless the node answering runs on our data directory.

        The script reuses any node that already answers on the port; one of another run's
        would serve these tests a cluster without their publications.
        """
        client = OpenSearch([self.url], timeout=30)
        try:
            nodes = client.nodes.info(node_id="_local", metric="settings")["nodes"]
        finally:
            client.close()
        (node,) = nodes.values()
        data = node["settings"]["path"]["data"]
        paths = [data] if isinstance(data, str) else data
        if [Path(path).resolve() for path in paths] != [self.data.resolve()]:
            pytest.fail(f"the node on {self.url} is not ours: its data is in {paths}")

    def stop(self) -> None:
        """Stop the node (SIGTERM, as an operator or an orchestrator would)."""
        done = self._run("stop", 120)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def own_opensearch() -> Iterator[OwnOpenSearch]:
    """Our own node for the module: started once, stopped at the end whatever happened."""
    # Not under pytest's private temporary root: as root, the script runs the node as an
    # unprivileged user, who must reach the data directory.
    data = Path(tempfile.mkdtemp(prefix="selec-faults-opensearch-"))
    with exclusive_port() as port:
        node = OwnOpenSearch(data, port)
        try:
            node.start()
            yield node
        finally:
            node.stop()
            shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def nodes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Node databases of RS, BG and MD (Jovan is in RS and BG, not in MD)."""
    data_dir = tmp_path_factory.mktemp("fault-nodes")
    for country in ("RS", "BG", "MD"):
        seed_node(node_settings(country, data_dir), PERSONS)
    return data_dir


def opensearch_index(url: str, **options: float) -> IndexSettings:
    """Index settings with a prefix of this run's own."""
    return IndexSettings(
        "opensearch",
        opensearch_url=url,
        prefix=f"selec-faults-{uuid.uuid4().hex[:8]}",
        **options,  # type: ignore[arg-type]
    )


def drop_index(settings: IndexSettings) -> None:
    """Delete what a test created on our node (if the node is up: a failed test may have
    left it stopped, and its own failure is the one to report)."""
    index = open_reference_index(
        "opensearch", opensearch_url=settings.opensearch_url, prefix=settings.prefix
    )
    with contextlib.suppress(ReferenceIndexError):
        index.drop()
    index.close()


# ---------------------------------------------------------------------- helpers


def statuses(summary: broker_pb2.SearchSummary) -> dict[str, int]:
    return {r.country: r.status for r in summary.results}


def detail(summary: broker_pb2.SearchSummary, country: str) -> str:
    return next(r.detail for r in summary.results if r.country == country)


def publish_node(nodes_dir: Path, country: str, broker: str) -> broker_pb2.PublishResponse:
    """What `selec publish` does for one node (blocking)."""
    settings = node_settings(country, nodes_dir)
    return publish(open_store(settings), country, make_keyer(settings).scheme.version, broker, 30.0)


def record_count(nodes_dir: Path, country: str) -> int:
    return sum(1 for _ in open_store(node_settings(country, nodes_dir)).published_records())


async def timed_search(
    fed: Federation, deadline: float, countries: tuple[str, ...] = ()
) -> tuple[broker_pb2.SearchSummary, float]:
    started = time.monotonic()
    _, summary = await fed.search(JOVAN, countries, deadline=deadline)
    return summary, time.monotonic() - started


async def health_becomes(channel: grpc.aio.Channel, wanted: int, within: float) -> int:
    """Poll the broker's health until it reports wanted (or the time is up); the last status."""
    stub = health_pb2_grpc.HealthStub(channel)
    status = -1
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        status = answer.status
        if status == wanted:
            break
        await asyncio.sleep(0.2)
    return status


async def recovered(fed: Federation, within: float = 60) -> None:
    """Search until BG is answered from the index again; until then it must be flagged."""
    give_up = time.monotonic() + within
    while True:
        summary, _ = await timed_search(fed, 10)
        found = statuses(summary)
        assert found["RS"] == HIT and found["MD"] == NO_HIT, found
        if found["BG"] == INDEXED_HIT:
            return
        assert found["BG"] in (TIMEOUT, UNAVAILABLE), found
        assert "reference index" in detail(summary, "BG")
        assert time.monotonic() < give_up, detail(summary, "BG")
        await asyncio.sleep(0.5)


async def searches_logged(
    settings: IndexSettings, search_ids: list[str], within: float = 30
) -> dict[str, int]:
    """How many search events the audit log holds for each search id, once it holds all
    (or the time is up)."""
    audit = open_audit_log(
        "opensearch", opensearch_url=settings.opensearch_url, prefix=settings.prefix
    )
    try:
        for _ in range(int(within / 0.5)):
            counts = dict.fromkeys(search_ids, 0)
            for event in await asyncio.to_thread(lambda: list(audit.events())):
                if event.action == "search" and event.search_id in counts:
                    counts[event.search_id] += 1
            if all(counts.values()):
                break
            await asyncio.sleep(0.5)
    finally:
        audit.close()
    return counts


def opensearch_references(settings: IndexSettings, country: str) -> tuple[int, int]:
    """(references served for country, reference documents of country in ALL generations)."""
    client = OpenSearch([settings.opensearch_url], timeout=30)
    try:
        client.indices.refresh(index=f"{settings.prefix}-*")
        served = client.count(
            index=refs_alias(settings.prefix), body={"query": {"term": {"country": country}}}
        )["count"]
    finally:
        client.close()
    index = open_reference_index(
        "opensearch", opensearch_url=settings.opensearch_url, prefix=settings.prefix
    )
    try:
        stored = sum(
            1 for d in index.documents() if d.get("country") == country and "reference" in d
        )
    finally:
        index.close()
    return served, stored


def sqlite_references(settings: IndexSettings, country: str) -> int:
    index = open_reference_index("sqlite", sqlite_path=settings.sqlite_path)
    try:
        return sum(
            1
            for d in index.documents()
            if d["_table"] == "index_references" and d["country"] == country
        )
    finally:
        index.close()


def served_references(settings: IndexSettings, country: str) -> int:
    """References of country the index serves now, and checks nothing else is stored."""
    if settings.backend == "sqlite":
        return sqlite_references(settings, country)
    served, stored = opensearch_references(settings, country)
    assert stored == served, f"{country}: {stored} reference documents, {served} served"
    return served


async def restart(fed: Federation) -> None:
    """Stop the broker at once (grace 0) and start a new one on the same port and stores."""
    settings = replace(fed.broker.settings, listen=fed.broker.address)
    await fed.broker.stop(0)
    fed.broker = await start_broker(settings, health_interval=0.3)


async def open_publish_stream(
    fed: Federation, nodes_dir: Path, country: str
) -> tuple[asyncio.Queue[broker_pb2.PublishRequest | None], grpc.aio.StreamUnaryCall, object]:
    """A Publish call whose messages the test sends one by one: (queue, call, end message)."""
    settings = node_settings(country, nodes_dir)
    messages = list(
        publication_stream(
            country,
            make_keyer(settings).scheme.version,
            open_store(settings).published_records(),
            dt.datetime.now(dt.UTC),
            batch_size=10,
        )
    )
    queue: asyncio.Queue[broker_pb2.PublishRequest | None] = asyncio.Queue()

    async def stream() -> AsyncIterator[broker_pb2.PublishRequest]:
        while (message := await queue.get()) is not None:
            yield message

    for message in messages[:-1]:
        queue.put_nowait(message)
    call = fed.stub.Publish(stream(), timeout=60)
    return queue, call, messages[-1]


async def rpc_error(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


# ---------------------------------------------------------------------- broker restarts


async def test_broker_restarted_during_a_search(nodes_dir: Path, tmp_path: Path) -> None:
    """The stream is cut with a clear status and no summary; the next search works."""
    hanging, servicer = await start_hanging_node()
    fed = await start_federation(
        nodes_dir,
        ["RS"],
        extra_endpoints={"MD": f"127.0.0.1:{hanging.port}"},
        deadlines={"MD": 30.0},
        index=IndexSettings("sqlite", sqlite_path=tmp_path / "index.db"),
        health_interval=0.3,
    )
    fed.extra_servers.append(hanging)
    try:
        request = broker_pb2.SearchRequest(criteria=JOVAN, purpose="t", legal_basis="t")
        call = fed.stub.Search(request, timeout=30)
        events: list[broker_pb2.SearchEvent] = []

        async def read() -> None:
            async for event in call:
                events.append(event)

        reader = asyncio.create_task(read())
        for _ in range(500):  # until RS has answered and MD holds the search open
            if servicer.calls and events:
                break
            await asyncio.sleep(0.02)
        assert servicer.calls == 1 and len(events) == 1, "the search is not in flight"
        await restart(fed)
        error = await rpc_error(reader)
        # What the officer sees: RS's answer, then a cut stream with a clear status.
        assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
        assert not any(e.HasField("summary") for e in events), "a summary of a cut search"
        assert [e.answer.result.country for e in events] == ["RS"]
        assert events[0].answer.result.status == HIT
        for _ in range(250):
            if servicer.cancelled:
                break
            await asyncio.sleep(0.02)
        assert servicer.cancelled == 1, "the old broker left its call to MD running"
        # The restarted broker on the same port answers the officer's next search.
        answers = [
            e
            async for e in fed.stub.Search(
                broker_pb2.SearchRequest(
                    criteria=JOVAN, purpose="t", legal_basis="t", countries=["RS"]
                ),
                timeout=10,
                wait_for_ready=True,
            )
        ]
        assert statuses(answers[-1].summary) == {"RS": HIT}
    finally:
        await fed.close()


@pytest.mark.parametrize("backend", ["sqlite", "opensearch"])
async def test_broker_restarted_during_a_publish(
    backend: str, nodes_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A publication cut by a restart changes nothing; the next one lands whole, once."""
    if backend == "sqlite":
        index = IndexSettings("sqlite", sqlite_path=tmp_path / "index.db")
    else:
        index = opensearch_index(request.getfixturevalue("own_opensearch").url)
    fed = await start_federation(nodes_dir, ["RS"], index=index, health_interval=0.3)
    try:
        expected = record_count(nodes_dir, "RS")
        first = await asyncio.to_thread(publish_node, nodes_dir, "RS", fed.broker.address)
        assert first.reference_count == expected
        assert served_references(index, "RS") == expected
        before = (await fed.broker.index.publications())["RS"]  # type: ignore[union-attr]

        queue, call, _ = await open_publish_stream(fed, nodes_dir, "RS")
        await asyncio.sleep(0.5)  # the broker is reading the references, no end yet
        await restart(fed)
        error = await rpc_error(call)
        assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
        queue.put_nowait(None)

        # Nothing changed: the same publication, the same references, nothing half-written.
        now = (await fed.broker.index.publications())["RS"]  # type: ignore[union-attr]
        assert (now.as_of, now.reference_count) == (before.as_of, before.reference_count)
        assert served_references(index, "RS") == expected
        # The node's next publication lands whole, exactly once.
        again = await asyncio.to_thread(publish_node, nodes_dir, "RS", fed.broker.address)
        assert again.reference_count == expected
        assert served_references(index, "RS") == expected
        after = (await fed.broker.index.publications())["RS"]  # type: ignore[union-attr]
        assert after.as_of > before.as_of
        await fed.nodes["RS"].stop(0)
        summary, _ = await timed_search(fed, 10)
        assert statuses(summary) == {"RS": INDEXED_HIT}
    finally:
        await fed.close()
        if backend == "opensearch":
            await asyncio.to_thread(drop_index, index)


# ---------------------------------------------------------------------- decisions


def decision_events(fed: SecureFederation, request_id: str) -> list[str]:
    """Actions of the audit events about request_id, read from the store itself."""
    audit = open_audit_log(
        fed.index.backend,
        sqlite_path=fed.index.sqlite_beside("audit"),
        opensearch_url=fed.index.opensearch_url,
        prefix=fed.index.prefix,
    )
    try:
        return [e.action for e in audit.events() if e.request_id == request_id]
    finally:
        audit.close()


async def verify_audit(fed: SecureFederation) -> None:
    verdict = await fed.audit.VerifyAudit(
        audit_pb2.VerifyAuditRequest(), timeout=30, metadata=fed.auth("auditor.ro")
    )
    assert verdict.ok, verdict.problem


async def restart_secure(fed: SecureFederation) -> None:
    settings = replace(fed.broker.settings, listen=fed.broker.address)
    await fed.channel.close()
    await fed.broker.stop(0)
    fed.broker = await start_broker(settings)
    fed.channel = secure_channel(fed.pki, fed.broker.address)


async def settled_actions(fed: SecureFederation, request_id: str, within: float = 10) -> list[str]:
    """The request's audit actions once the restarted broker had time to settle them."""
    give_up = time.monotonic() + within
    actions = decision_events(fed, request_id)
    while "decision" not in actions and time.monotonic() < give_up:
        await asyncio.sleep(0.1)
        actions = decision_events(fed, request_id)
    return actions


async def approve_retrying(fed: SecureFederation, request_id: str) -> requests_pb2.DetailsRequest:
    """The approver's client after a broken call: try again, waiting for the broker."""
    return await fed.requests.Decide(
        requests_pb2.DecideRequest(
            request_id=request_id, approve=True, handling_code=requests_pb2.HANDLING_CODE_H1
        ),
        timeout=20,
        metadata=fed.auth("approver.rs"),
        wait_for_ready=True,
    )


async def the_approval_stands_once(fed: SecureFederation, request_id: str) -> None:
    """Retrying gives one approval and one decision event; the reveal works once."""
    retried = await approve_retrying(fed, request_id)
    assert retried.state == requests_pb2.REQUEST_STATE_APPROVED
    assert retried.decided_by == "approver.rs"
    assert decision_events(fed, request_id).count("decision") == 1
    # A different approver cannot decide it again.
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await fed.approve(request_id, person="approver2.rs")
    assert other.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    revealed = await fed.reveal(request_id)
    assert revealed.request_id == request_id
    actions = decision_events(fed, request_id)
    assert [a for a in actions if a != "refused"] == ["request", "decision", "reveal"]
    assert ReleaseLedger(fed.nodes["RS"].settings.database).count() == 1
    await verify_audit(fed)


@pytest.fixture
async def secure_sqlite(tmp_path: Path) -> AsyncIterator[SecureFederation]:
    fed = await start_secure_federation(
        tmp_path,
        IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db"),
        countries=("RS",),
    )
    yield fed
    await fed.close()


BROKER_PROCESS = """
import asyncio, pickle, sys
from broker.server import start_broker

async def main() -> None:
    broker = await start_broker(pickle.loads(sys.stdin.buffer.read()))
    print(broker.address, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def broker_process(settings: BrokerSettings) -> asyncio.subprocess.Process:
    """The real broker in a process of its own (so it can be killed), serving settings."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BROKER_PROCESS,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(pickle.dumps(settings))
    await process.stdin.drain()
    process.stdin.close()
    started = await asyncio.wait_for(process.stdout.readline(), 60)
    assert started.decode().strip() == settings.listen, "the broker process did not start"
    return process


async def state_becomes(database: Path, request_id: str, wanted: str, within: float) -> str:
    """Poll the request store's file for the request's state; the last one read."""
    db = sqlite3.connect(database)
    try:
        for _ in range(int(within / 0.05)):
            (state,) = db.execute(
                "SELECT state FROM details_requests WHERE request_id = ?", (request_id,)
            ).fetchone()
            if state == wanted:
                break
            await asyncio.sleep(0.05)
    finally:
        db.close()
    return state


async def test_broker_killed_between_the_approval_and_its_audit_event(
    secure_sqlite: SecureFederation,
) -> None:
    """SIGKILL while the decision's audit append waits: the approval is stored, its event
    is not. After the restart the event is there once, a retry is one approval, and the
    chain verifies."""
    fed = secure_sqlite
    pending = await fed.request_details(await fed.hit_reference())
    settings = replace(fed.broker.settings, listen=fed.broker.address)
    await fed.channel.close()
    await fed.broker.stop(0)
    process = await broker_process(settings)
    blocker: sqlite3.Connection | None = None
    try:
        fed.channel = secure_channel(fed.pki, settings.listen)
        listed = await fed.requests.ListRequests(
            requests_pb2.ListRequestsRequest(pending_for_my_country=True),
            timeout=10,
            metadata=fed.auth("approver.rs"),
        )
        assert [r.request_id for r in listed.requests] == [pending.request_id]
        # Hold the audit log's write lock: the decision is stored, its event must wait.
        blocker = sqlite3.connect(settings.index.sqlite_beside("audit"), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        deciding = asyncio.create_task(fed.approve(pending.request_id))
        requests_db = settings.index.sqlite_beside("requests")
        assert requests_db is not None
        state = await state_becomes(requests_db, pending.request_id, "approved", 20)
        assert state == "approved", "the decision never reached the request store"
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 30)
        error = await rpc_error(deciding)
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # the approver was told nothing
        blocker.execute("ROLLBACK")
        blocker.close()
        blocker = None
        # The fault is what it should be: an approval in the store, no decision event.
        assert "decision" not in decision_events(fed, pending.request_id)
        await fed.channel.close()
        fed.broker = await start_broker(settings)
        fed.channel = secure_channel(fed.pki, fed.broker.address)
        actions = await settled_actions(fed, pending.request_id)
        assert actions.count("decision") == 1, actions
        assert actions.count("request") == 1, actions  # the call that returned OK kept it
        await the_approval_stands_once(fed, pending.request_id)
    finally:
        if blocker is not None:
            blocker.close()
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 30)


async def test_approval_stored_without_its_audit_event_is_settled(
    secure_sqlite: SecureFederation,
) -> None:
    """The state such a crash leaves, written straight into the request store: the
    restarted broker logs the decision once, and the approver's retry is one approval."""
    fed = secure_sqlite
    pending = await fed.request_details(await fed.hit_reference())
    store = open_request_store("sqlite", sqlite_path=fed.index.sqlite_beside("requests"))
    try:
        current = store.get(pending.request_id)
        decided = transitions.approve(
            current,
            by="approver.rs",
            by_country="RS",
            at=dt.datetime.now(dt.UTC),
            handling_code="H1",
            handling_note="",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            grant_nonce=uuid.uuid4().hex,
        )
        assert store.update(decided, current.version).state is RequestState.APPROVED
    finally:
        store.close()
    assert "decision" not in decision_events(fed, pending.request_id)
    await restart_secure(fed)
    actions = await settled_actions(fed, pending.request_id)
    assert actions.count("decision") == 1, actions
    await the_approval_stands_once(fed, pending.request_id)


async def test_broker_stopped_right_after_a_decision_is_sent(
    secure_sqlite: SecureFederation,
) -> None:
    """Grace 0 at several moments of a decision: each approval is recorded with its event,
    or not at all, and a retry always ends in one approval and one decision event."""
    fed = secure_sqlite
    reference = await fed.hit_reference()
    for pause in (0.0, 0.002, 0.01, 0.03):
        pending = await fed.request_details(reference)
        deciding = asyncio.create_task(fed.approve(pending.request_id))
        await asyncio.sleep(pause)
        settings = replace(fed.broker.settings, listen=fed.broker.address)
        await fed.broker.stop(0)
        try:
            answered = await deciding
        except grpc.aio.AioRpcError as exc:
            assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
            answered = None
        await fed.channel.close()
        fed.broker = await start_broker(settings)
        fed.channel = secure_channel(fed.pki, fed.broker.address)
        actions = await settled_actions(fed, pending.request_id, within=3)
        if answered is not None:  # it returned OK: its event must be there
            assert actions.count("decision") == 1, (pause, actions)
        assert actions.count("decision") <= 1, (pause, actions)
        retried = await approve_retrying(fed, pending.request_id)
        assert retried.state == requests_pb2.REQUEST_STATE_APPROVED
        assert decision_events(fed, pending.request_id).count("decision") == 1, pause
    await verify_audit(fed)


# ---------------------------------------------------------------------- OpenSearch faults


async def test_opensearch_slow(own_opensearch: OwnOpenSearch, nodes_dir: Path) -> None:
    """Answers held 4 s: the search keeps the caller's deadline, live countries answer,
    the index-only country is flagged as not answered in time (never NO_HIT)."""
    proxy = await start_proxy(f"127.0.0.1:{own_opensearch.port}")
    index = opensearch_index(f"http://{proxy.address}", lookup_timeout_seconds=1.0)
    fed = await start_federation(
        nodes_dir,
        ["RS", "MD"],
        extra_endpoints={"BG": UNUSED_ENDPOINT},
        index=index,
        index_only=["BG"],
        health_interval=0.3,
    )
    try:
        for country in ("RS", "BG"):
            await asyncio.to_thread(publish_node, nodes_dir, country, fed.broker.address)
        summary, _ = await timed_search(fed, 10)
        assert statuses(summary) == {"RS": HIT, "MD": NO_HIT, "BG": INDEXED_HIT}

        proxy.delay_seconds = 4.0  # slow, not dead: below the driver's own 5 s timeout
        fed.broker.index.forget_publications()  # type: ignore[union-attr]
        for late in ("the publications", "the lookup"):
            summary, elapsed = await timed_search(fed, 3.5)
            found = statuses(summary)
            assert elapsed < 3.5
            assert found["RS"] == HIT and found["MD"] == NO_HIT, (late, found)
            assert found["BG"] == TIMEOUT, (late, found)
            assert detail(summary, "BG") == "reference index did not answer in time", late
            await asyncio.sleep(4.5)  # the late publications fill the cache meanwhile

        proxy.heal()
        summary, _ = await timed_search(fed, 10)
        assert statuses(summary) == {"RS": HIT, "MD": NO_HIT, "BG": INDEXED_HIT}
    finally:
        await fed.close()
        await proxy.close()
        await asyncio.to_thread(drop_index, replace(index, opensearch_url=own_opensearch.url))


async def test_opensearch_stopped_then_restarted(
    own_opensearch: OwnOpenSearch, nodes_dir: Path
) -> None:
    """Stopped: live countries answer, the index-only one is UNAVAILABLE, the broker
    reports NOT_SERVING, publications fail clearly and change nothing. Started again: the
    same broker recovers and each node's next publication lands exactly once."""
    index = opensearch_index(own_opensearch.url, lookup_timeout_seconds=1.0)
    fed = await start_federation(
        nodes_dir,
        ["RS", "MD"],
        extra_endpoints={"BG": UNUSED_ENDPOINT},
        index=index,
        index_only=["BG"],
        health_interval=0.3,
    )
    expected = {c: record_count(nodes_dir, c) for c in ("RS", "BG", "MD")}
    try:
        for country in ("RS", "BG"):
            reply = await asyncio.to_thread(publish_node, nodes_dir, country, fed.broker.address)
            assert reply.reference_count == expected[country]
        summary, _ = await timed_search(fed, 10)
        assert statuses(summary) == {"RS": HIT, "MD": NO_HIT, "BG": INDEXED_HIT}
        assert await health_becomes(fed.channel, SERVING, 5) == SERVING
        # MD starts publishing; OpenSearch stops before its end message.
        queue, cut_call, end = await open_publish_stream(fed, nodes_dir, "MD")
        await asyncio.sleep(0.5)

        await asyncio.to_thread(own_opensearch.stop)
        queue.put_nowait(end)  # type: ignore[arg-type]
        queue.put_nowait(None)
        cut = await rpc_error(cut_call)
        assert cut.code() == grpc.StatusCode.UNAVAILABLE, cut.details()
        assert "reference index" in (cut.details() or "")

        answered_while_down = []
        for cached in (True, False):  # which countries published: known, then unknown
            if not cached:
                fed.broker.index.forget_publications()  # type: ignore[union-attr]
            summary, elapsed = await timed_search(fed, 5)
            answered_while_down.append(summary.search_id)
            found = statuses(summary)
            assert found["RS"] == HIT and found["MD"] == NO_HIT, found
            assert found["BG"] == UNAVAILABLE, found
            assert detail(summary, "BG") == "reference index unavailable", cached
            assert elapsed < 5
        assert await health_becomes(fed.channel, NOT_SERVING, 10) == NOT_SERVING
        status = await fed.stub.GetStatus(broker_pb2.GetStatusRequest(), timeout=5)
        assert not status.index_reachable
        with pytest.raises(grpc.RpcError) as refused:
            await asyncio.to_thread(publish_node, nodes_dir, "RS", fed.broker.address)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert "reference index" in refused.value.details()  # type: ignore[attr-defined]

        await asyncio.to_thread(own_opensearch.start)
        assert await health_becomes(fed.channel, SERVING, 30) == SERVING
        # The same broker recovers: a cold node may still be late for a search or two.
        await recovered(fed)
        # Nothing was half-written: RS and BG as before, MD's cut publication is absent.
        publications = await fed.broker.index.publications()  # type: ignore[union-attr]
        assert sorted(publications) == ["BG", "RS"]
        for country in ("RS", "BG"):
            assert served_references(index, country) == expected[country]
        assert served_references(index, "MD") == 0
        # The searches answered while the audit log (on the same OpenSearch) was down
        # kept their events: each is logged once, now that it is back.
        assert await searches_logged(index, answered_while_down) == dict.fromkeys(
            answered_while_down, 1
        )
        # Each node's next publication lands exactly once.
        for country in ("RS", "BG", "MD"):
            reply = await asyncio.to_thread(publish_node, nodes_dir, country, fed.broker.address)
            assert reply.reference_count == expected[country]
            assert served_references(index, country) == expected[country]
    finally:
        await fed.close()
        await asyncio.to_thread(drop_index, index)


async def test_request_service_while_its_stores_are_unreachable(
    own_opensearch: OwnOpenSearch, tmp_path: Path
) -> None:
    """The request store and audit log on OpenSearch, the link to it refused (a proxy: the
    node itself is restarted by the test above): officers and approvers get UNAVAILABLE
    with a reason, not UNKNOWN; once it is back, the approval is taken and logged once."""
    proxy = await start_proxy(f"127.0.0.1:{own_opensearch.port}")
    index = opensearch_index(f"http://{proxy.address}")
    fed = await start_secure_federation(tmp_path, index, countries=("RS",))
    try:
        pending = await fed.request_details(await fed.hit_reference())
        await proxy.refuse()
        for call in (fed.approve(pending.request_id), fed.request_details("RS-P-000001")):
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            assert "request store" in (error.details() or ""), error.details()
        await proxy.listen()
        approved = await approve_retrying(fed, pending.request_id)
        assert approved.state == requests_pb2.REQUEST_STATE_APPROVED
        actions = decision_events(
            replace(fed, index=replace(index, opensearch_url=own_opensearch.url)),
            pending.request_id,
        )
        assert actions.count("decision") == 1, actions
        await verify_audit(fed)
    finally:
        await fed.close()
        await proxy.close()
        await asyncio.to_thread(drop_index, replace(index, opensearch_url=own_opensearch.url))
