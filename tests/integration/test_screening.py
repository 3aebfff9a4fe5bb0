"""Batch screening (`BrokerService.Screen` over `ConnectorService.MatchBatch`), real servers.

Nodes are real ConnectorService servers over real SQLite files. The only stand-ins are a
node that never answers (a real one cannot be made to hang) and a gate in front of a real
node that holds its MatchBatch calls, to watch how many batches the broker has in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry

from broker.config import IndexSettings
from broker.screening import (
    BATCHES_IN_FLIGHT,
    MAX_RESULTS_EVENT_BYTES,
    MAX_SUBJECT_ID,
    MAX_SUBJECTS_PER_MESSAGE,
    _grouped,
)
from connectors.importer import import_records
from connectors.metrics import NodeMetrics
from connectors.node import SERVICE_NAME, make_keyer, open_store, start_node
from connectors.service import MAX_KEYS_PER_BATCH, MAX_SETS_PER_BATCH, ConnectorServicer
from connectors.store import KeyMatch, RecordStore
from connectors.synthetic import DEMO_SUBJECTS
from selec.countries import MEMBER_STATES
from selec.serving import start_server
from selec.v1 import audit_pb2, broker_pb2, common_pb2, connector_pb2, connector_pb2_grpc
from tests.federation import (
    Federation,
    HangingConnector,
    node_settings,
    person,
    random_hex,
    seed_node,
    start_federation,
)
from tests.secure import start_secure_federation

pytestmark = pytest.mark.integration

HIT = broker_pb2.COUNTRY_STATUS_HIT
NO_HIT = broker_pb2.COUNTRY_STATUS_NO_HIT
UNAVAILABLE = broker_pb2.COUNTRY_STATUS_UNAVAILABLE
TIMEOUT = broker_pb2.COUNTRY_STATUS_TIMEOUT

JOVAN = person("Jovan", "Petrovic", "1985-03-14")
NOBODY = person("Zzyzx", "Qwertyuiop", "1901-01-01")
HEADER = broker_pb2.ScreenHeader(purpose="border list", legal_basis="SELEC Convention, art. 2")


def subject(subject_id: str, criteria: common_pb2.Criteria) -> broker_pb2.ScreenRequest:
    return broker_pb2.ScreenRequest(
        subject=broker_pb2.ScreenSubject(subject_id=subject_id, criteria=criteria)
    )


def several(*messages: broker_pb2.ScreenRequest) -> broker_pb2.ScreenRequest:
    """The subjects of single-subject messages, in one ScreenSubjects message."""
    return broker_pb2.ScreenRequest(
        subjects=broker_pb2.ScreenSubjects(subjects=[m.subject for m in messages])
    )


def document(number: str, issuer: str = "") -> common_pb2.Criteria:
    return common_pb2.Criteria(
        document=common_pb2.DocumentCriteria(number=number, issuing_country=issuer)
    )


async def stream(
    messages: Iterable[broker_pb2.ScreenRequest],
) -> AsyncIterator[broker_pb2.ScreenRequest]:
    for message in messages:
        yield message


async def screen(
    federation: Federation,
    subjects: Iterable[broker_pb2.ScreenRequest],
    header: broker_pb2.ScreenHeader = HEADER,
    *,
    batch: int | None = None,
    deadline: float = 30,
    kinds: list[str] | None = None,
) -> tuple[list[broker_pb2.SubjectResult], broker_pb2.ScreenSummary]:
    """Screen; the results in the order they came (grouped ones flattened), and the summary
    (which must be last). `kinds` collects each event's kind (subject, results, summary)."""
    results: list[broker_pb2.SubjectResult] = []
    summary = None
    metadata = () if batch is None else (("selec-screen-batch", str(batch)),)
    messages = [broker_pb2.ScreenRequest(header=header), *subjects]
    call = federation.stub.Screen(stream(messages), timeout=deadline, metadata=metadata)
    async for event in call:
        assert summary is None, "an event came after the summary"
        kind = event.WhichOneof("event")
        if kinds is not None:
            kinds.append(kind or "")
        if kind == "subject":
            results.append(event.subject)
        elif kind == "results":
            assert event.results.results, "an empty results event"
            results.extend(event.results.results)
        else:
            summary = event.summary
    assert summary is not None, "the stream ended without a summary"
    return results, summary


def statuses(summary: broker_pb2.ScreenSummary) -> dict[str, int]:
    return {r.country: r.status for r in summary.results}


def hit_countries(result: broker_pb2.SubjectResult) -> set[str]:
    return {h.country for h in result.hits}


async def then_hold(
    messages: Iterable[broker_pb2.ScreenRequest],
) -> AsyncIterator[broker_pb2.ScreenRequest]:
    """Send messages, then neither send nor half-close until the call ends.

    For refusals: a grpc.aio client still writing when the server ends the call may report
    INTERNAL instead of the server's status (grpc/grpc#36066), so these tests send nothing
    after the message that is refused.
    """
    for message in messages:
        yield message
    await asyncio.Event().wait()


async def refused(federation: Federation, messages: list[broker_pb2.ScreenRequest]) -> str:
    """Screen expecting INVALID_ARGUMENT; its message."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in federation.stub.Screen(then_hold(messages), timeout=10):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value.details() or ""


# ---------------------------------------------------------------- results


async def test_results_come_in_input_order_with_the_demo_subjects_hits(
    federation: Federation,
) -> None:
    demo = [s for s in DEMO_SUBJECTS if s["record"]["kind"] == "person"]
    subjects = [subject("jovan", JOVAN), subject("nobody", NOBODY)]
    for index, entry in enumerate(demo):
        record = entry["record"]
        subjects.append(
            subject(f"demo-{index}", person(record["given"], record["family"], record["dob"]))
        )
    subjects.append(subject("passport", document("012345678", "RS")))
    results, summary = await screen(federation, subjects)
    assert [r.subject_id for r in results] == [s.subject.subject_id for s in subjects]
    assert hit_countries(results[0]) >= {"RS", "BG", "RO"}
    assert not results[1].hits and not results[1].error
    for entry, result in zip(demo, results[2:-1], strict=True):
        assert entry["country"] in hit_countries(result), entry
    assert hit_countries(results[-1]) == {"RS"}
    strengths = [h.hit.strength for h in results[0].hits]
    assert strengths == sorted(strengths, reverse=True)
    assert all(h.hit.reference.startswith(h.country + "-") for r in results for h in r.hits)
    assert [r.country for r in summary.results] == list(MEMBER_STATES)
    assert set(statuses(summary).values()) <= {HIT, NO_HIT}
    assert statuses(summary)["RS"] == HIT
    assert summary.subjects == len(subjects)
    assert summary.subjects_with_hits == len(subjects) - 1
    assert summary.subjects_with_errors == 0
    assert summary.screening_id


async def test_a_bad_subject_in_the_middle_gets_its_own_error(federation: Federation) -> None:
    bad = person("Jovan", "Petrovic", "14.03.1985")
    long_id = "x" * (MAX_SUBJECT_ID + 1)
    subjects = [
        subject("first", JOVAN),
        subject("bad-date", bad),
        subject("empty", common_pb2.Criteria()),
        subject(long_id, JOVAN),
        broker_pb2.ScreenRequest(),
        subject("last", JOVAN),
    ]
    results, summary = await screen(federation, subjects, batch=500)
    assert len(results) == 6
    assert results[0].hits and not results[0].error
    assert results[1].subject_id == "bad-date"
    assert "date_of_birth" in results[1].error and not results[1].hits
    assert results[2].error.startswith("criteria: empty")
    assert results[3].error.startswith("subject_id:")
    assert results[3].subject_id == long_id[:MAX_SUBJECT_ID]
    assert results[4].error == "subject: required"
    assert results[5].hits and not results[5].error
    assert summary.subjects == 6
    assert summary.subjects_with_errors == 4
    assert summary.subjects_with_hits == 2


GROUPED = broker_pb2.ScreenHeader(
    purpose="passenger manifest", legal_basis="SELEC Convention, art. 2", grouped_results=True
)


async def test_several_subjects_per_message_come_back_grouped_in_input_order(
    federation: Federation,
) -> None:
    """Multi-subject messages, mixed with single ones; a bad subject inside a message gets
    its own error and the subjects around it are screened; batches cut across messages."""
    long_id = "x" * (MAX_SUBJECT_ID + 1)
    messages = [
        several(
            subject("jovan", JOVAN),
            subject("bad-date", person("Jovan", "Petrovic", "14.03.1985")),
            subject("empty", common_pb2.Criteria()),
            subject("nobody", NOBODY),
        ),
        subject("alone", JOVAN),
        several(subject(long_id, JOVAN), subject("passport", document("012345678", "RS"))),
        several(),  # no subjects: nothing to screen, no error
    ]
    kinds: list[str] = []
    results, summary = await screen(federation, messages, GROUPED, batch=3, kinds=kinds)
    assert [r.subject_id for r in results] == [
        "jovan",
        "bad-date",
        "empty",
        "nobody",
        "alone",
        long_id[:MAX_SUBJECT_ID],
        "passport",
    ]
    assert set(kinds) == {"results", "summary"}
    assert 1 < kinds.count("results") <= 3  # grouped, at most one event per batch of 3
    assert {"RS", "BG", "RO"} <= hit_countries(results[0])
    assert "date_of_birth" in results[1].error and not results[1].hits
    assert results[2].error.startswith("criteria: empty")
    assert not results[3].hits and not results[3].error
    assert "RS" in hit_countries(results[4])
    assert results[5].error.startswith("subject_id:")
    assert "RS" in hit_countries(results[6]) and not results[6].error
    assert summary.subjects == 7
    assert summary.subjects_with_errors == 3
    assert summary.subjects_with_hits == 3
    assert statuses(summary)["RS"] == HIT


async def test_without_grouped_results_each_subject_of_a_message_is_its_own_event(
    federation: Federation,
) -> None:
    messages = [several(subject("a", JOVAN), subject("b", NOBODY), subject("c", JOVAN))]
    kinds: list[str] = []
    results, summary = await screen(federation, messages, kinds=kinds)
    assert kinds == ["subject", "subject", "subject", "summary"]
    assert [bool(r.hits) for r in results] == [True, False, True]
    assert summary.subjects == 3


def test_grouped_results_stay_under_the_event_size_limit() -> None:
    """A result with many hits is large; an event takes results until about 1 MB."""
    hit = broker_pb2.CountryHit(
        country="RS",
        hit=common_pb2.Hit(reference="RS-" + "r" * 60, matched_key_types=["person.typo.dob"] * 9),
    )
    big = broker_pb2.SubjectResult(subject_id="big", hits=[hit] * 2000)
    small = broker_pb2.SubjectResult(subject_id="small")
    results = [small, big, big, small, *[big] * 5, small]
    events = _grouped(results)
    flat = [r.subject_id for e in events for r in e.results.results]
    assert flat == [r.subject_id for r in results]
    assert len(events) > 2
    for event in events:
        assert event.ByteSize() <= MAX_RESULTS_EVENT_BYTES + 64 or len(event.results.results) == 1
    assert [len(e.results.results) for e in _grouped([small] * 2500)] == [1000, 1000, 500]


async def test_grouped_results_are_audited_like_single_ones(tmp_path: Path) -> None:
    """One search event for the screening and one hit event per hit, grouped or not."""
    fed = await start_secure_federation(
        tmp_path, IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    )
    try:
        header = broker_pb2.ScreenHeader(
            purpose="border check", legal_basis="SELEC art. 2", grouped_results=True
        )
        messages = [
            broker_pb2.ScreenRequest(header=header),
            several(subject("1", JOVAN), subject("2", NOBODY), subject("3", JOVAN)),
        ]
        events = [
            e
            async for e in fed.search_stub.Screen(
                iter(messages), timeout=20, metadata=fed.auth("officer.gr")
            )
        ]
        assert events[-1].summary.subjects_with_hits == 2
        returned = [
            (h.country, h.hit.reference)
            for e in events
            if e.HasField("results")
            for r in e.results.results
            for h in r.hits
        ]
        audit = [
            e
            async for e in fed.audit.ExportAudit(
                audit_pb2.ExportAuditRequest(), timeout=30, metadata=fed.auth("auditor.ro")
            )
        ]
        screening = [e for e in audit if e.action == "search" and "screening" in e.detail]
        assert len(screening) == 1
        hits = [e for e in audit if e.action == "hit" and e.search_id == screening[0].search_id]
        assert len(hits) == len(returned) >= 4  # both JOVANs, in RS and BG at least
    finally:
        await fed.close()


async def test_a_list_of_only_bad_subjects_asks_no_node_and_claims_nothing(
    federation: Federation,
) -> None:
    results, summary = await screen(federation, [subject("e", common_pb2.Criteria())])
    assert results[0].error
    for result in summary.results:
        assert result.status == NO_HIT
        assert "nothing to ask" in result.detail


async def test_an_empty_list_ends_with_a_summary(federation: Federation) -> None:
    results, summary = await screen(
        federation,
        [],
        broker_pb2.ScreenHeader(purpose="p", legal_basis="l", countries=["rs", "BG"]),
    )
    assert results == []
    assert [r.country for r in summary.results] == ["RS", "BG"]
    assert summary.subjects == 0


async def test_the_linger_answers_a_caller_that_waits_for_each_result(
    federation: Federation,
) -> None:
    """A batch is sent when the stream pauses, not only when it is full."""
    queue: asyncio.Queue[broker_pb2.ScreenRequest | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[broker_pb2.ScreenRequest]:
        yield broker_pb2.ScreenRequest(header=HEADER)
        while (message := await queue.get()) is not None:
            yield message

    call = federation.stub.Screen(requests(), timeout=10)
    for index in range(3):
        await queue.put(subject(str(index), JOVAN))
        event = await call.read()
        assert event.subject.subject_id == str(index)
        assert "RS" in hit_countries(event.subject)
    await queue.put(None)
    event = await call.read()
    assert event.summary.subjects == 3


# ---------------------------------------------------------------- countries that fail


async def test_a_stopped_node_is_unavailable_and_never_no_hit(federation: Federation) -> None:
    await federation.nodes["BG"].stop(0)
    subjects = [subject(str(i), JOVAN if i % 2 else NOBODY) for i in range(40)]
    results, summary = await screen(federation, subjects, batch=10)
    found = statuses(summary)
    assert found["BG"] == UNAVAILABLE
    bg = next(r for r in summary.results if r.country == "BG")
    assert "batches unanswered" in bg.detail
    assert bg.hit_count == 0
    assert found["RS"] == HIT
    assert len(results) == 40
    assert all("BG" not in hit_countries(r) for r in results)
    assert all("RS" in hit_countries(r) for r in results[1::2])


async def test_a_hanging_node_times_out_each_batch_within_its_deadline(seeded_dir: Path) -> None:
    hanging = HangingBatches()
    server = await start_server(
        "127.0.0.1:0",
        lambda s: connector_pb2_grpc.add_ConnectorServiceServicer_to_server(hanging, s),
        [SERVICE_NAME],
    )
    federation = await start_federation(
        seeded_dir,
        ["RS"],
        extra_endpoints={"TR": f"127.0.0.1:{server.port}"},
        deadlines={"TR": 0.6},
    )
    federation.extra_servers.append(server)
    try:
        started = time.monotonic()
        results, summary = await screen(federation, [subject("j", JOVAN)])
        elapsed = time.monotonic() - started
        assert statuses(summary) == {"RS": HIT, "TR": TIMEOUT}
        assert 0.6 <= elapsed < 1.5
        assert "within 0.60 s" in next(r for r in summary.results if r.country == "TR").detail
        assert hit_countries(results[0]) == {"RS"}
        assert hanging.calls == 1
        for _ in range(50):
            if hanging.cancelled:
                break
            await asyncio.sleep(0.02)
        assert hanging.cancelled == 1  # the straggler's call was cancelled, not abandoned
    finally:
        await federation.close()


# ---------------------------------------------------------------- refusals


async def test_a_stream_without_a_header_is_refused(federation: Federation) -> None:
    call = federation.stub.Screen(stream([]), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("header:")
    assert (await refused(federation, [subject("a", JOVAN)])).startswith("header:")


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (broker_pb2.ScreenHeader(legal_basis="l"), "header.purpose"),
        (broker_pb2.ScreenHeader(purpose="p", legal_basis=" "), "header.legal_basis"),
        (broker_pb2.ScreenHeader(purpose="p\x01q", legal_basis="l"), "header.purpose"),
        (
            broker_pb2.ScreenHeader(purpose="p", legal_basis="l", countries=["XX"]),
            "header.countries",
        ),
    ],
)
async def test_a_bad_header_is_refused_naming_the_field(
    federation: Federation, header: broker_pb2.ScreenHeader, field: str
) -> None:
    message = await refused(federation, [broker_pb2.ScreenRequest(header=header)])
    assert message.startswith(field + ":")


async def test_a_second_header_is_refused_after_the_results_before_it(
    federation: Federation,
) -> None:
    messages = [
        broker_pb2.ScreenRequest(header=HEADER),
        subject("a", JOVAN),
        broker_pb2.ScreenRequest(header=HEADER),
    ]
    seen = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for event in federation.stub.Screen(then_hold(messages), timeout=10):
            seen.append(event.subject.subject_id)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "only the first message may be a header" in (caught.value.details() or "")
    assert seen == ["a"]


async def test_a_message_of_too_many_subjects_is_refused_after_the_results_before_it(
    federation: Federation,
) -> None:
    too_many = [subject(str(i), NOBODY) for i in range(MAX_SUBJECTS_PER_MESSAGE + 1)]
    messages = [
        broker_pb2.ScreenRequest(header=HEADER),
        several(subject("a", JOVAN), subject("b", NOBODY)),
        several(*too_many),
    ]
    seen = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for event in federation.stub.Screen(then_hold(messages), timeout=10):
            seen.append(event.subject.subject_id)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"at most {MAX_SUBJECTS_PER_MESSAGE} per message" in (caught.value.details() or "")
    assert seen == ["a", "b"]


async def test_a_batch_size_out_of_range_is_refused(federation: Federation) -> None:
    messages = [broker_pb2.ScreenRequest(header=HEADER)]
    for value in ("0", str(MAX_SETS_PER_BATCH + 1), "many"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            call = federation.stub.Screen(
                then_hold(messages), timeout=10, metadata=(("selec-screen-batch", value),)
            )
            async for _ in call:
                pass
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "selec-screen-batch" in (caught.value.details() or "")


# ---------------------------------------------------------------- MatchBatch at the node


async def test_match_batch_limits_and_scheme_are_checked_at_the_node(
    federation: Federation,
) -> None:
    node = federation.nodes["RS"]
    channel = grpc.aio.insecure_channel(node.address)
    stub = connector_pb2_grpc.ConnectorServiceStub(channel)
    version = make_keyer(node.settings).scheme.version

    def key_set(set_id: str, count: int = 1, digest: str = "") -> connector_pb2.KeySet:
        return connector_pb2.KeySet(
            id=set_id,
            keys=[
                common_pb2.BlindKey(key_type="doc.number", digest=digest or random_hex())
                for _ in range(count)
            ],
        )

    async def code_of(request: connector_pb2.MatchBatchRequest) -> tuple[grpc.StatusCode, str]:
        try:
            await stub.MatchBatch(request, timeout=10)
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
        return grpc.StatusCode.OK, ""

    try:
        wrong = connector_pb2.MatchBatchRequest(scheme_version="bk0", sets=[key_set("a")])
        assert (await code_of(wrong))[0] == grpc.StatusCode.FAILED_PRECONDITION
        cases = {
            "sets: at least one": [],
            "sets: at most": [key_set(str(i)) for i in range(MAX_SETS_PER_BATCH + 1)],
            "keys per call in all": [
                key_set(str(i), 500) for i in range(MAX_KEYS_PER_BATCH // 500 + 1)
            ],
            "sets[1].keys: at least one": [key_set("a"), connector_pb2.KeySet(id="b")],
            "sets[1].id:": [key_set("a"), key_set("a")],
            "sets[0].keys[0].digest": [key_set("a", digest="ABC" * 10 + "ab")],
            "sets[1].digests: expected a multiple of 16 bytes, got 17": [
                key_set("a"),
                connector_pb2.KeySet(id="b", digests=bytes(17)),
            ],
            "sets[0]: keys or digests, not both": [
                connector_pb2.KeySet(
                    id="a", keys=key_set("a").keys, digests=bytes.fromhex(random_hex())
                )
            ],
            "sets[0].keys: at most": [connector_pb2.KeySet(id="a", digests=bytes(16 * 513))],
            f"at most {MAX_KEYS_PER_BATCH} keys per call": [
                connector_pb2.KeySet(id=str(i), digests=bytes(16 * 500))
                for i in range(MAX_KEYS_PER_BATCH // 500 + 1)
            ],
        }
        for expected, sets in cases.items():
            code, details = await code_of(
                connector_pb2.MatchBatchRequest(scheme_version=version, sets=sets)
            )
            assert code == grpc.StatusCode.INVALID_ARGUMENT, expected
            assert expected in details, (expected, details)
        # The answer leaves out sets without hits and keeps the caller's ids.
        scheme = make_keyer(node.settings).scheme
        passport = scheme.document_keys("012345678", "", "RS")
        request = connector_pb2.MatchBatchRequest(
            scheme_version=version,
            sets=[
                key_set("none"),
                connector_pb2.KeySet(
                    id="passport",
                    keys=[
                        common_pb2.BlindKey(key_type=k.key_type, digest=k.digest) for k in passport
                    ],
                ),
            ],
        )
        answer = await stub.MatchBatch(request, timeout=10)
        assert answer.country == "RS"
        assert [r.id for r in answer.results] == ["passport"]
        assert answer.results[0].hits[0].kind == common_pb2.RECORD_KIND_DOCUMENT
        # The compact form (what the broker sends) answers the same, and the two forms mix;
        # the hit names the stored key's type although no type travelled.
        packed = b"".join(bytes.fromhex(k.digest) for k in passport)
        compact = connector_pb2.MatchBatchRequest(
            scheme_version=version,
            sets=[
                connector_pb2.KeySet(id="nothing", digests=bytes.fromhex(random_hex()) * 3),
                connector_pb2.KeySet(id="packed", digests=packed),
                request.sets[1],
                connector_pb2.KeySet(id="again", digests=packed[16:] + packed[:16]),
            ],
        )
        answer = await stub.MatchBatch(compact, timeout=10)
        assert [r.id for r in answer.results] == ["packed", "passport", "again"]
        for result in answer.results:
            assert result.hits[0] == answer.results[1].hits[0]
        assert set(answer.results[0].hits[0].matched_key_types) == {k.key_type for k in passport}
    finally:
        await channel.close()


async def test_a_match_with_a_malformed_digest_is_refused_naming_it(
    federation: Federation,
) -> None:
    """Match checks its digests in bulk, as MatchBatch does, and still names the bad one."""
    channel = grpc.aio.insecure_channel(federation.nodes["RS"].address)
    stub = connector_pb2_grpc.ConnectorServiceStub(channel)
    version = make_keyer(federation.nodes["RS"].settings).scheme.version
    try:
        for bad in ("ABC" * 10 + "ab", "0" * 31, "g" * 32, "é" * 32):
            keys = [common_pb2.BlindKey(key_type="doc.number", digest=random_hex())] * 3
            keys.append(common_pb2.BlindKey(key_type="doc.number", digest=bad))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Match(
                    connector_pb2.MatchRequest(scheme_version=version, keys=keys), timeout=10
                )
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details() == "keys[3].digest: expected 32 lowercase hex digits"
    finally:
        await channel.close()


async def test_a_record_imported_into_a_running_node_is_found_by_the_next_batch(
    tmp_path: Path,
) -> None:
    """The node's in-memory set of held digests is read again after any commit."""
    settings = node_settings("RS", tmp_path)
    seed_node(settings, 20)
    federation = await start_federation(tmp_path, ["RS"])
    newcomer = person("Radmila", "Zzyzxić", "1971-02-03")
    try:
        results, _ = await screen(federation, [subject("r", newcomer)])
        assert not results[0].hits  # the node has now read its set of held digests
        record = {
            "id": "RS-P-NEW",
            "kind": "person",
            "given": "Radmila",
            "family": "Zzyzxić",
            "dob": "1971-02-03",
            "category": "missing",
        }
        stored = import_records(
            "test", [(1, record)], open_store(settings), make_keyer(settings), replace_all=False
        )
        assert stored == 1
        results, summary = await screen(federation, [subject("r", newcomer)])
        assert hit_countries(results[0]) == {"RS"}
        assert statuses(summary) == {"RS": HIT}
    finally:
        await federation.close()


class MatchOnly:
    """A record store that offers `match` but no batch look-up (a state's own backend)."""

    def __init__(self, store: RecordStore) -> None:
        self.inner = store
        self.calls = 0

    def match(self, digests: Sequence[str]) -> list[KeyMatch]:
        self.calls += 1
        return self.inner.match(digests)

    def __getattr__(self, name: str) -> object:
        if name == "match_packed":
            raise AttributeError(name)
        return getattr(self.inner, name)


async def test_a_store_without_a_batch_look_up_is_asked_per_subject(seeded_dir: Path) -> None:
    store = MatchOnly(open_store(node_settings("RS", seeded_dir)))
    node = await start_node(node_settings("RS", seeded_dir), store=store)  # type: ignore[arg-type]
    federation = await start_federation(seeded_dir, [], extra_endpoints={"RS": node.address})
    try:
        results, summary = await screen(
            federation, [subject("j", JOVAN), subject("n", NOBODY), subject("j2", JOVAN)]
        )
        assert [bool(r.hits) for r in results] == [True, False, True]
        assert statuses(summary) == {"RS": HIT}
        assert store.calls == 3
    finally:
        await federation.close()
        await node.stop(0)


# ---------------------------------------------------------------- bounded memory


class HangingBatches(HangingConnector):
    """A node whose MatchBatch never answers (until cancelled)."""

    async def MatchBatch(self, request, context):  # type: ignore[no-untyped-def]
        return await self.Match(request, context)


class Gate(connector_pb2_grpc.ConnectorServiceServicer):
    """A real node's servicer behind a gate that can hold MatchBatch calls; counts them."""

    def __init__(self, inner: ConnectorServicer) -> None:
        self.inner = inner
        self.open = asyncio.Event()
        self.open.set()
        self.calls = 0
        self.running = 0
        self.most = 0

    async def MatchBatch(self, request, context):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.open.wait()
            return await self.inner.MatchBatch(request, context)
        finally:
            self.running -= 1


async def gated_federation(seeded_dir: Path) -> tuple[Federation, Gate]:
    settings = node_settings("RS", seeded_dir)
    store = open_store(settings)
    inner = ConnectorServicer(
        "RS",
        make_keyer(settings).scheme.version,
        store,
        NodeMetrics(CollectorRegistry(), store),
    )
    gate = Gate(inner)
    server = await start_server(
        "127.0.0.1:0",
        lambda s: connector_pb2_grpc.add_ConnectorServiceServicer_to_server(gate, s),
        [SERVICE_NAME],
    )
    federation = await start_federation(
        seeded_dir, [], extra_endpoints={"RS": f"127.0.0.1:{server.port}"}, deadline_seconds=30
    )
    federation.extra_servers.append(server)
    return federation, gate


def passports(count: int, pulled: list[int]) -> Iterator[broker_pb2.ScreenRequest]:
    """Cheap subjects (a document number each); every 100th is the demo passport (a hit)."""
    for index in range(count):
        pulled[0] += 1
        number = "012345678" if index % 100 == 99 else f"X{index:08d}"
        yield subject(f"S{index}", document(number, "RS"))


async def test_thousands_of_subjects_stream_through_with_bounded_batches(
    seeded_dir: Path,
) -> None:
    federation, gate = await gated_federation(seeded_dir)
    pulled = [0]
    try:
        results, summary = await screen(federation, passports(3000, pulled), batch=25, deadline=120)
    finally:
        await federation.close()
    assert [r.subject_id for r in results] == [f"S{i}" for i in range(3000)]
    assert [i for i, r in enumerate(results) if r.hits] == list(range(99, 3000, 100))
    assert summary.subjects == 3000
    assert statuses(summary) == {"RS": HIT}
    assert gate.calls >= 3000 // 25
    assert gate.most <= BATCHES_IN_FLIGHT  # reached exactly when the node is held (below)


async def test_a_held_federation_stops_reading_the_list(seeded_dir: Path) -> None:
    """Back-pressure, not buffering: while the node holds its calls, the broker asks no
    more than BATCHES_IN_FLIGHT batches and stops reading, so the sender stops too.

    What the sender gets through beyond the broker's batches and inbox is what HTTP/2 flow
    control lets through: gRPC's transport takes up to a few MB per stream (its window
    grows with BDP probing) whether or not the broker reads. After the first 2,000
    subjects, each carries a 4 KB id, so that window fills in a moment rather than after a
    hundred thousand small subjects (the broker never reads those: it is held).
    """
    federation, gate = await gated_federation(seeded_dir)
    gate.open.clear()
    pulled = [0]
    total = 1_000_000
    padding = "p" * 4096

    async def requests() -> AsyncIterator[broker_pb2.ScreenRequest]:
        yield broker_pb2.ScreenRequest(header=HEADER)
        for message in passports(total, pulled):
            if pulled[0] > 2000:
                message.subject.subject_id += padding
            yield message

    call = federation.stub.Screen(requests(), timeout=60, metadata=(("selec-screen-batch", "50"),))
    try:
        for _ in range(500):
            if gate.calls >= BATCHES_IN_FLIGHT:
                break
            await asyncio.sleep(0.02)
        assert gate.calls == BATCHES_IN_FLIGHT
        # Let the sender run until flow control stops it: the count settles.
        settled = -1
        while settled != pulled[0]:
            settled = pulled[0]
            await asyncio.sleep(0.5)
        assert gate.calls == BATCHES_IN_FLIGHT  # no batch beyond the bound was asked
        # Held: 2,000 small subjects and at most a few thousand of 4 KB, not the million
        # that a broker reading without back-pressure would have taken by now.
        assert pulled[0] < 20_000
        gate.open.set()
        first = await call.read()
        assert first.subject.subject_id == "S0"
    finally:
        call.cancel()
        gate.open.set()
        await federation.close()
