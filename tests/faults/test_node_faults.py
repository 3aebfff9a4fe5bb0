"""The fault matrix of the member-state nodes, as the officer sees it through the broker.

Every test runs a real broker over real nodes (real gRPC, real SQLite files) and breaks
one country's node: RS, which holds Jovan Petrovic, so a healthy RS answers HIT and a
NO_HIT from a broken RS would be a visible lie. BG and GR are healthy witnesses whose
answers must not change. The breakage is real where it can be (a stopped listener, a
certificate from another CA, a database file deleted, an exclusive lock held by another
connection); where a real node cannot misbehave on demand, `tests.faults.proxy` breaks
the link in front of a real node, and `tests.faults.faulty_node` spoils a real node's
answers.

Each test asserts what the officer sees (the country's status and detail in the stream
and the summary), that the witnesses are unaffected, that the search ends before the
caller's deadline, and, for failures that repeat, that the node is suspended and comes
back once it is healthy. Timing assertions have wide margins: the machine is shared.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker.config import IndexSettings, RetryPolicy, SuspensionPolicy
from broker.suspension import Suspension
from connectors.node import SERVICE_NAME, RunningNode, start_node
from selec.serving import RunningServer
from selec.tls import TlsFiles, files_for, node_name
from selec.v1 import broker_pb2
from tests.faults.faulty_node import Fault, FaultyNode, start_faulty_node
from tests.faults.proxy import FaultProxy, start_proxy
from tests.federation import (
    Federation,
    node_settings,
    person,
    start_federation,
    start_hanging_node,
)
from tests.secure import SecureFederation, start_secure_federation

pytestmark = pytest.mark.integration

HIT = broker_pb2.COUNTRY_STATUS_HIT
NO_HIT = broker_pb2.COUNTRY_STATUS_NO_HIT
UNAVAILABLE = broker_pb2.COUNTRY_STATUS_UNAVAILABLE
TIMEOUT = broker_pb2.COUNTRY_STATUS_TIMEOUT
ERROR = broker_pb2.COUNTRY_STATUS_ERROR
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

JOVAN = person("Jovan", "Petrovic", "1985-03-14")
WITNESSES = ("BG", "GR")
CALLER_DEADLINE = 10.0
# Two failures in a row suspend; the first suspension is short, so recovery is quick.
SUSPENSION = SuspensionPolicy(after_failures=2, initial_seconds=0.5, max_seconds=4.0)
# Slack for a loaded machine on top of any deadline a test waits out.
SLACK = 3.0


@dataclass
class Seen:
    """What the officer saw of one search."""

    answers: dict[str, broker_pb2.CountryAnswer]
    summary: broker_pb2.SearchSummary
    elapsed: float

    def status(self, country: str) -> int:
        return self.result(country).status

    def result(self, country: str) -> broker_pb2.CountryResult:
        return next(r for r in self.summary.results if r.country == country)

    def name(self, country: str) -> str:
        return broker_pb2.CountryStatus.Name(self.status(country)).removeprefix("COUNTRY_STATUS_")


async def search(federation: Federation, deadline: float = CALLER_DEADLINE) -> Seen:
    """Search Jovan everywhere; every asked country streamed once and is in the summary."""
    started = time.monotonic()
    answers, summary = await federation.search(JOVAN, deadline=deadline)
    elapsed = time.monotonic() - started
    assert elapsed < deadline, f"the search ran past the caller's deadline ({elapsed:.2f} s)"
    streamed = {a.result.country: a for a in answers}
    assert len(streamed) == len(answers), "a country was streamed twice"
    assert set(streamed) == {r.country for r in summary.results}
    for result in summary.results:
        assert streamed[result.country].result.status == result.status
        assert streamed[result.country].result.detail == result.detail
    return Seen(streamed, summary, elapsed)


def assert_failed_not_no_hit(seen: Seen, status: int, *detail: str) -> None:
    """RS failed with status (never NO_HIT, no hits passed on), detail naming the cause."""
    rs = seen.result("RS")
    assert rs.status == status, f"RS was {seen.name('RS')}: {rs.detail}"
    assert rs.hit_count == 0 and not seen.answers["RS"].hits
    for words in detail:
        assert words in rs.detail, f"{words!r} not in {rs.detail!r}"


def assert_witnesses(seen: Seen, baseline: Seen) -> None:
    """The healthy countries answered exactly as before the fault."""
    for country in WITNESSES:
        assert seen.status(country) == baseline.status(country), seen.result(country)
        assert [h.reference for h in seen.answers[country].hits] == [
            h.reference for h in baseline.answers[country].hits
        ]


async def node_status(federation: Federation, country: str = "RS") -> broker_pb2.NodeStatus:
    """RS's line of GetStatus, as `selec status` shows it."""
    response = await federation.stub.GetStatus(broker_pb2.GetStatusRequest(), timeout=10)
    return next(n for n in response.nodes if n.country == country)


async def suspended_then_recovered(
    federation: Federation, baseline: Seen, heal: Callable[[], Awaitable[None]]
) -> None:
    """After SUSPENSION.after_failures failures: suspended, not called; healed: HIT again."""
    seen = await search(federation)
    assert_failed_not_no_hit(seen, UNAVAILABLE, "suspended")
    assert seen.result("RS").latency_seconds < 0.5, "a suspended node was called"
    assert_witnesses(seen, baseline)
    status = await node_status(federation)
    assert status.consecutive_failures >= SUSPENSION.after_failures
    assert status.suspended or status.suspended_for_seconds == 0  # a hung Describe outlasts it
    await heal()
    await asyncio.sleep(SUSPENSION.initial_seconds + 0.1)
    for _ in range(20):  # the first call after the suspension may still meet a reconnecting link
        seen = await search(federation)
        if seen.status("RS") == HIT:
            break
        await asyncio.sleep(0.3)
    assert seen.status("RS") == HIT, seen.result("RS")
    assert [h.reference for h in seen.answers["RS"].hits] == [
        h.reference for h in baseline.answers["RS"].hits
    ]
    status = await node_status(federation)
    assert not status.suspended and status.consecutive_failures == 0 and status.reachable


@asynccontextmanager
async def broker_over(
    seeded_dir: Path, rs_endpoint: str, **options: object
) -> AsyncIterator[Federation]:
    """A broker over real BG and GR nodes and whatever serves RS at rs_endpoint."""
    options.setdefault("suspension", SUSPENSION)
    federation = await start_federation(
        seeded_dir, WITNESSES, extra_endpoints={"RS": rs_endpoint}, **options
    )
    try:
        yield federation
    finally:
        await federation.close()


@pytest.fixture
async def rs_node(seeded_dir: Path) -> AsyncIterator[RunningNode]:
    """A real RS node."""
    node = await start_node(node_settings("RS", seeded_dir))
    yield node
    await node.stop(0)


@pytest.fixture
async def rs_proxy(rs_node: RunningNode) -> AsyncIterator[FaultProxy]:
    """A fault proxy in front of the real RS node."""
    proxy = await start_proxy(rs_node.address)
    yield proxy
    await proxy.close()


async def healthy_baseline(federation: Federation) -> Seen:
    """A search before any fault: RS hits Jovan; what the witnesses say."""
    seen = await search(federation)
    assert seen.status("RS") == HIT and seen.answers["RS"].hits
    return seen


# ---------------------------------------------------------------- the link


async def test_refused_connections_are_unavailable_then_suspended_then_recovered(
    seeded_dir: Path, rs_proxy: FaultProxy
) -> None:
    async with broker_over(seeded_dir, rs_proxy.address) as federation:
        baseline = await healthy_baseline(federation)
        await rs_proxy.refuse()
        for _ in range(SUSPENSION.after_failures):
            seen = await search(federation)
            assert_failed_not_no_hit(seen, UNAVAILABLE, "unreachable", "refused")
            assert "suspended" not in seen.result("RS").detail
            assert_witnesses(seen, baseline)
        assert not (await node_status(federation)).reachable
        await suspended_then_recovered(federation, baseline, rs_proxy.listen)


@dataclass
class HangingRs:
    """What makes RS hang, and what heals it."""

    endpoint: str
    hang: Callable[[], Awaitable[None]]
    heal: Callable[[], Awaitable[None]]


@pytest.fixture(params=["link goes silent", "node process hangs"])
async def hanging_rs(request: pytest.FixtureRequest, seeded_dir: Path) -> AsyncIterator[HangingRs]:
    """RS hangs: its link blackholes every byte, or its server takes calls and never answers.

    Healing: the link forwards again; the hanging server is replaced by a real node on
    the same port.
    """
    if request.param == "link goes silent":
        node = await start_node(node_settings("RS", seeded_dir))
        proxy = await start_proxy(node.address)

        async def silence() -> None:
            proxy.hang()

        async def forward() -> None:
            proxy.heal()

        yield HangingRs(proxy.address, silence, forward)
        await proxy.close()
        await node.stop(0)
        return
    settings = node_settings("RS", seeded_dir)
    running: list[RunningNode | RunningServer] = [await start_node(settings)]
    address = running[0].address  # type: ignore[union-attr]

    async def swap_for_hanging_server() -> None:
        await running[-1].stop(0)
        running.append((await start_hanging_node(address))[0])

    async def swap_for_real_node() -> None:
        await running[-1].stop(0)
        running.append(await start_node(replace(settings, listen=address)))

    yield HangingRs(address, swap_for_hanging_server, swap_for_real_node)
    await running[-1].stop(0)


async def test_a_hanging_node_times_out_at_its_deadline_then_suspended_then_recovered(
    seeded_dir: Path, hanging_rs: HangingRs
) -> None:
    deadline = 0.8
    async with broker_over(seeded_dir, hanging_rs.endpoint, deadlines={"RS": deadline}) as fed:
        baseline = await healthy_baseline(fed)
        await hanging_rs.hang()
        for _ in range(SUSPENSION.after_failures):
            seen = await search(fed)
            assert_failed_not_no_hit(seen, TIMEOUT, f"no answer within {deadline:.2f} s")
            assert deadline <= seen.elapsed < deadline + SLACK
            # The witnesses streamed before the straggler, not after it.
            assert all(seen.result(c).latency_seconds < deadline for c in WITNESSES)
            assert_witnesses(seen, baseline)
        await suspended_then_recovered(fed, baseline, hanging_rs.heal)


async def test_a_caller_deadline_shorter_than_a_hung_node_ends_the_search_in_time(
    seeded_dir: Path, rs_proxy: FaultProxy
) -> None:
    async with broker_over(seeded_dir, rs_proxy.address, deadlines={"RS": 60.0}) as federation:
        baseline = await healthy_baseline(federation)
        rs_proxy.hang()
        for _ in range(3):
            seen = await search(federation, deadline=1.5)
            assert_failed_not_no_hit(seen, TIMEOUT, "no answer within")
            assert_witnesses(seen, baseline)
        # The caller's own deadline is not the node's fault: it is not suspended for it.
        status = await node_status(federation)
        assert not status.suspended and status.consecutive_failures == 0


@pytest.mark.parametrize(
    ("delay", "answers"),
    [(0.6, True), (2.4, False)],
    ids=["just inside its deadline", "just outside its deadline"],
)
async def test_a_slow_node_counts_inside_its_deadline_and_times_out_outside(
    seeded_dir: Path, rs_proxy: FaultProxy, delay: float, answers: bool
) -> None:
    deadline = 1.5
    async with broker_over(seeded_dir, rs_proxy.address, deadlines={"RS": deadline}) as fed:
        baseline = await healthy_baseline(fed)  # also opens the connection: no handshake below
        rs_proxy.delay_seconds = delay
        seen = await search(fed)
        assert_witnesses(seen, baseline)
        rs = seen.result("RS")
        if answers:
            assert rs.status == HIT, rs
            assert delay <= rs.latency_seconds < deadline
            assert [h.reference for h in seen.answers["RS"].hits] == [
                h.reference for h in baseline.answers["RS"].hits
            ]
        else:
            assert_failed_not_no_hit(seen, TIMEOUT, f"no answer within {deadline:.2f} s")
            assert deadline <= seen.elapsed < delay, "the search waited for the late answer"
            assert (await node_status(fed)).consecutive_failures == 1


# ---------------------------------------------------------------- flapping


@asynccontextmanager
async def faulty_rs(seeded_dir: Path, fault: Fault, **options: object):
    """A broker whose RS is a real node spoiled by fault."""
    node: FaultyNode = await start_faulty_node(node_settings("RS", seeded_dir), fault)
    try:
        async with broker_over(seeded_dir, node.address, **options) as federation:
            yield federation, node
    finally:
        await node.stop(0)


async def test_a_node_failing_every_other_call_unavailable_is_recovered_by_the_retry(
    seeded_dir: Path,
) -> None:
    """With the default policy (attempts: 2), each failed first try is retried and hits.

    The officer sees HIT every time; the node is never suspended; each search cost two
    calls.
    """
    async with faulty_rs(seeded_dir, Fault.NONE) as (federation, node):
        baseline = await healthy_baseline(federation)
        node.connector.fault = Fault.FLAP_UNAVAILABLE
        node.connector.calls.clear()
        for _ in range(4):
            seen = await search(federation)
            assert seen.status("RS") == HIT, seen.result("RS")
            assert_witnesses(seen, baseline)
        assert node.connector.calls["Match"] == 8
        status = await node_status(federation)
        assert not status.suspended and status.consecutive_failures == 0
        assert federation.broker.metrics.retries.labels("RS")._value.get() == 4


async def test_without_retries_a_flapping_node_is_unavailable_every_other_search(
    seeded_dir: Path,
) -> None:
    """attempts: 1 (no retry): every other search says UNAVAILABLE, never NO_HIT.

    Failures never come twice in a row, so the node is never suspended.
    """
    async with faulty_rs(seeded_dir, Fault.NONE) as (federation, node):
        for client in federation.broker.clients.values():
            client._retry = RetryPolicy(attempts=1, backoff_seconds=0.01)
        baseline = await healthy_baseline(federation)
        node.connector.fault = Fault.FLAP_UNAVAILABLE
        node.connector.calls.clear()
        seen_statuses = []
        for _ in range(4):
            seen = await search(federation)
            seen_statuses.append(seen.status("RS"))
            if seen.status("RS") != HIT:
                assert_failed_not_no_hit(seen, UNAVAILABLE, "flapping (injected)")
            assert_witnesses(seen, baseline)
        assert seen_statuses == [UNAVAILABLE, HIT, UNAVAILABLE, HIT]
        assert not (await node_status(federation)).suspended


async def test_a_node_failing_every_other_call_internal_is_an_error_every_other_search(
    seeded_dir: Path,
) -> None:
    """INTERNAL is not retried (the call may have reached the node's logic): ERROR."""
    async with faulty_rs(seeded_dir, Fault.NONE) as (federation, node):
        baseline = await healthy_baseline(federation)
        node.connector.fault = Fault.FLAP_INTERNAL
        node.connector.calls.clear()
        seen_statuses = []
        for _ in range(4):
            seen = await search(federation)
            seen_statuses.append(seen.status("RS"))
            if seen.status("RS") != HIT:
                assert_failed_not_no_hit(seen, ERROR, "INTERNAL", "flapping (injected)")
            assert_witnesses(seen, baseline)
        assert seen_statuses == [ERROR, HIT, ERROR, HIT]
        assert node.connector.calls["Match"] == 4
        assert not (await node_status(federation)).suspended


async def test_a_link_dropping_every_other_connection_is_recovered_by_the_retry(
    seeded_dir: Path, rs_proxy: FaultProxy
) -> None:
    """Each search meets a dropped link (cut) and a reconnect that is reset every other time."""
    async with broker_over(seeded_dir, rs_proxy.address) as federation:
        baseline = await healthy_baseline(federation)
        rs_proxy.flap_connections = True
        outcomes = []
        for _ in range(4):
            rs_proxy.cut()
            await asyncio.sleep(0.05)
            seen = await search(federation)
            outcomes.append((seen.name("RS"), seen.result("RS").detail))
            assert seen.status("RS") in (HIT, UNAVAILABLE), seen.result("RS")
            assert_witnesses(seen, baseline)
        print(outcomes)
        assert all(status == "HIT" for status, _ in outcomes), outcomes
        assert not (await node_status(federation)).suspended


# ---------------------------------------------------------------- spoiled answers


@pytest.mark.parametrize(
    ("fault", "status", "detail"),
    [
        (Fault.TRUNCATED, ERROR, "could not be decoded"),
        (Fault.BAD_UTF8, ERROR, "could not be decoded"),
        (Fault.OVERSIZED, ERROR, "larger than"),
        (Fault.OTHER_COUNTRY, ERROR, "node answered as 'BG', expected RS"),
        (Fault.FOREIGN_REFERENCES, ERROR, "another country"),
        (Fault.UNREADABLE_REFERENCES, ERROR, "reference"),
        (Fault.UNASKED_KEY_TYPES, ERROR, "key type the search did not send"),
    ],
    ids=lambda value: value.name.lower() if isinstance(value, Fault) else None,
)
async def test_a_spoiled_answer_is_an_error_never_hits_or_no_hit(
    seeded_dir: Path, fault: Fault, status: int, detail: str
) -> None:
    async with faulty_rs(seeded_dir, Fault.NONE) as (federation, node):
        baseline = await healthy_baseline(federation)
        node.connector.fault = fault
        for _ in range(SUSPENSION.after_failures):
            seen = await search(federation)
            assert_failed_not_no_hit(seen, status, detail)
            assert_witnesses(seen, baseline)
        assert node.connector.calls["Match"] == 1 + SUSPENSION.after_failures  # no retries

        async def repair() -> None:
            node.connector.fault = Fault.NONE

        await suspended_then_recovered(federation, baseline, repair)


# ---------------------------------------------------------------- screening (MatchBatch)


async def screen_jovan(federation: Federation, subjects: int = 6) -> broker_pb2.ScreenSummary:
    """Screen Jovan among others; the summary. Every subject got exactly one result."""
    nobody = person("Zzyzx", "Qwertyuiop", "1901-01-01")
    messages = [
        broker_pb2.ScreenRequest(
            header=broker_pb2.ScreenHeader(purpose="border list", legal_basis="SELEC art. 2")
        ),
        *(
            broker_pb2.ScreenRequest(
                subject=broker_pb2.ScreenSubject(
                    subject_id=str(i), criteria=JOVAN if i % 2 else nobody
                )
            )
            for i in range(subjects)
        ),
    ]

    async def stream() -> AsyncIterator[broker_pb2.ScreenRequest]:
        for message in messages:
            yield message

    results, summary = [], None
    async for event in federation.stub.Screen(stream(), timeout=CALLER_DEADLINE):
        if event.HasField("subject"):
            results.append(event.subject)
        else:
            summary = event.summary
    assert summary is not None
    assert [r.subject_id for r in results] == [str(i) for i in range(subjects)]
    for result in results[1::2]:  # Jovan's: RS's hit only where RS answered
        rs_hits = [h for h in result.hits if h.country == "RS"]
        rs = next(r for r in summary.results if r.country == "RS")
        assert bool(rs_hits) == (rs.status == HIT), rs
    return summary


def screened(summary: broker_pb2.ScreenSummary, country: str) -> broker_pb2.CountryResult:
    return next(r for r in summary.results if r.country == country)


async def test_screening_a_refusing_node_is_unavailable_never_no_hit(
    seeded_dir: Path, rs_proxy: FaultProxy
) -> None:
    async with broker_over(seeded_dir, rs_proxy.address) as federation:
        baseline = await screen_jovan(federation)
        assert screened(baseline, "RS").status == HIT
        await rs_proxy.refuse()
        summary = await screen_jovan(federation)
        rs = screened(summary, "RS")
        assert rs.status == UNAVAILABLE and "connection refused" in rs.detail, rs
        for c in WITNESSES:
            assert screened(summary, c).status == screened(baseline, c).status
            assert screened(summary, c).hit_count == screened(baseline, c).hit_count
        await rs_proxy.listen()
        await asyncio.sleep(SUSPENSION.initial_seconds + 0.1)
        assert screened(await screen_jovan(federation), "RS").status == HIT


async def test_screening_a_hanging_node_times_out_never_no_hit(
    seeded_dir: Path, rs_proxy: FaultProxy
) -> None:
    async with broker_over(seeded_dir, rs_proxy.address, deadlines={"RS": 0.8}) as federation:
        baseline = await screen_jovan(federation)
        assert screened(baseline, "RS").status == HIT
        rs_proxy.hang()
        started = time.monotonic()
        summary = await screen_jovan(federation)
        assert time.monotonic() - started < 0.8 + SLACK
        rs = screened(summary, "RS")
        assert rs.status == TIMEOUT and "no answer within 0.80 s" in rs.detail, rs
        for c in WITNESSES:
            assert screened(summary, c).status == screened(baseline, c).status
            assert screened(summary, c).hit_count == screened(baseline, c).hit_count
        rs_proxy.heal()
        await asyncio.sleep(SUSPENSION.initial_seconds + 0.1)
        assert screened(await screen_jovan(federation), "RS").status == HIT


async def test_screening_a_flapping_node_is_recovered_by_the_retry(seeded_dir: Path) -> None:
    async with faulty_rs(seeded_dir, Fault.FLAP_UNAVAILABLE) as (federation, node):
        for _ in range(3):
            summary = await screen_jovan(federation)
            assert screened(summary, "RS").status == HIT, screened(summary, "RS")
        assert node.connector.calls["MatchBatch"] == 6
        assert not (await node_status(federation)).suspended


async def test_screening_spoiled_answers_are_an_error_never_no_hit(seeded_dir: Path) -> None:
    async with faulty_rs(seeded_dir, Fault.FOREIGN_REFERENCES) as (federation, _):
        rs = screened(await screen_jovan(federation), "RS")
        assert rs.status == ERROR and "names another country" in rs.detail, rs
    async with faulty_rs(seeded_dir, Fault.TRUNCATED) as (federation, _):
        rs = screened(await screen_jovan(federation), "RS")
        assert rs.status == ERROR and "could not be decoded" in rs.detail, rs


# ---------------------------------------------------------------- the node's database


@pytest.fixture
async def rs_own_db(seeded_dir: Path, tmp_path: Path) -> AsyncIterator[RunningNode]:
    """A real RS node over its own copy of the seeded database, health checked often."""
    source = sqlite3.connect(node_settings("RS", seeded_dir).database)
    settings = node_settings("RS", tmp_path / "rs")
    settings.database.parent.mkdir()
    copy = sqlite3.connect(settings.database)
    source.backup(copy)
    copy.close()
    source.close()
    node = await start_node(settings, health_interval=0.05)
    yield node
    await node.stop(0)


async def node_health(node: RunningNode) -> int:
    async with grpc.aio.insecure_channel(node.address) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5
        )
    return response.status


async def health_becomes(node: RunningNode, wanted: int) -> None:
    for _ in range(100):
        if await node_health(node) == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the node's health never became {wanted}")


async def test_a_write_lock_held_past_the_deadline_does_not_stop_look_ups(
    seeded_dir: Path, rs_own_db: RunningNode
) -> None:
    """Another connection holds an exclusive write transaction for longer than the deadline.

    The node's database is in WAL mode, where a writer never blocks readers: searches and
    screenings go on answering, from the last committed state, within the deadline.
    """
    deadline = 1.0
    async with broker_over(seeded_dir, rs_own_db.address, deadlines={"RS": deadline}) as fed:
        baseline = await healthy_baseline(fed)
        locker = sqlite3.connect(rs_own_db.settings.database, isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            locker.execute("DELETE FROM record_keys")  # uncommitted: must not be seen
            for _ in range(3):
                seen = await search(fed)
                assert seen.status("RS") == HIT, seen.result("RS")
                assert seen.result("RS").latency_seconds < deadline
                assert_witnesses(seen, baseline)
            assert screened(await screen_jovan(fed), "RS").status == HIT
            assert await node_health(rs_own_db) == SERVING
        finally:
            locker.execute("ROLLBACK")
            locker.close()


@pytest.mark.parametrize("how", ["file deleted", "directory removed"])
async def test_a_database_gone_is_unavailable_not_serving_then_recovered(
    seeded_dir: Path, rs_own_db: RunningNode, tmp_path: Path, how: str
) -> None:
    database = rs_own_db.settings.database
    kept = tmp_path / "kept.db"
    async with broker_over(seeded_dir, rs_own_db.address) as federation:
        baseline = await healthy_baseline(federation)
        shutil.copyfile(database, kept)
        if how == "file deleted":
            for path in database.parent.glob(database.name + "*"):
                path.unlink()
        else:
            shutil.rmtree(database.parent)
        for _ in range(SUSPENSION.after_failures):
            seen = await search(federation)
            assert_failed_not_no_hit(seen, UNAVAILABLE, "node database unavailable")
            assert_witnesses(seen, baseline)
        await health_becomes(rs_own_db, NOT_SERVING)
        assert not database.exists(), "the node created an empty database in its place"

        async def restore() -> None:
            database.parent.mkdir(exist_ok=True)
            shutil.copyfile(kept, database)
            await health_becomes(rs_own_db, SERVING)

        await suspended_then_recovered(federation, baseline, restore)


# ---------------------------------------------------------------- TLS on the node link


def certificate(
    directory: Path,
    name: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    *,
    expired: bool = False,
) -> tuple[Path, Path]:
    """A certificate for name (valid for 127.0.0.1) signed by issuer; (cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (now - dt.timedelta(minutes=5), now + dt.timedelta(days=1))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName(name)]
            ),
            critical=False,
        )
        .sign(issuer[1], hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory / f"{name}.pem", directory / f"{name}.key"


def other_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    """A CA the federation does not know; (cert, key, cert file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Someone else's CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "other-ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, directory / "other-ca.pem"


def bad_tls(pki: Path, problem: str) -> TlsFiles:
    """RS's TLS files with one thing wrong."""
    good = files_for(pki, node_name("RS"))
    bad = pki / "bad"
    if problem == "certificate from another CA":
        ca_cert, ca_key, _ = other_ca(bad)
        cert, key = certificate(bad, node_name("RS"), (ca_cert, ca_key))
        return TlsFiles(good.ca_file, cert, key)
    if problem == "certificate expired":
        federation_ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
        ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        cert, key = certificate(bad, node_name("RS"), (federation_ca, ca_key), expired=True)
        return TlsFiles(good.ca_file, cert, key)
    assert problem == "node trusts another CA"
    _, _, ca_file = other_ca(bad)
    return TlsFiles(ca_file, good.cert_file, good.key_file)


async def secure_search(federation: SecureFederation) -> Seen:
    """Search Jovan as officer.gr over the broker's TLS channel."""
    started = time.monotonic()
    request = broker_pb2.SearchRequest(criteria=JOVAN, purpose="t", legal_basis="t")
    answers, summary = {}, None
    async for event in federation.search_stub.Search(
        request, timeout=CALLER_DEADLINE, metadata=federation.auth("officer.gr")
    ):
        if event.HasField("answer"):
            answers[event.answer.result.country] = event.answer
        else:
            summary = event.summary
    assert summary is not None
    return Seen(answers, summary, time.monotonic() - started)


@pytest.mark.parametrize(
    ("problem", "cause"),
    [
        ("certificate from another CA", "TLS handshake failed"),
        ("certificate expired", "TLS handshake failed"),
        # TLS 1.3: the client learns of its refused certificate only as a reset after its
        # side of the handshake; the node's log names the certificate.
        ("node trusts another CA", "connection reset"),
    ],
)
async def test_a_bad_certificate_on_the_node_link_is_unavailable_naming_tls(
    tmp_path: Path, problem: str, cause: str
) -> None:
    federation = await start_secure_federation(
        tmp_path, IndexSettings("none"), countries=("RS", *WITNESSES), persons=20
    )
    try:
        for client in federation.broker.clients.values():
            client.suspension = Suspension(SUSPENSION)
        baseline = await secure_search(federation)
        assert baseline.status("RS") == HIT
        good = federation.nodes["RS"]
        await good.stop(0)
        federation.nodes["RS"] = await start_node(
            replace(good.settings, listen=good.address, tls=bad_tls(federation.pki, problem))
        )
        for _ in range(SUSPENSION.after_failures):
            seen = await secure_search(federation)
            assert seen.elapsed < CALLER_DEADLINE
            assert_failed_not_no_hit(seen, UNAVAILABLE, cause)
            assert_witnesses(seen, baseline)
        seen = await secure_search(federation)
        assert_failed_not_no_hit(seen, UNAVAILABLE, "suspended", cause)
        await federation.nodes["RS"].stop(0)
        federation.nodes["RS"] = await start_node(replace(good.settings, listen=good.address))
        await asyncio.sleep(SUSPENSION.initial_seconds + 0.1)
        for _ in range(20):
            seen = await secure_search(federation)
            if seen.status("RS") == HIT:
                break
            await asyncio.sleep(0.3)
        assert seen.status("RS") == HIT, seen.result("RS")
    finally:
        await federation.close()
