"""SQL injection and wildcard abuse in every string field that reaches a store.

A corpus of classic payloads (quote breaking, stacked statements, UNION SELECT, comment
markers, LIKE and OpenSearch wildcards, query-string syntax, NUL, very long strings) goes
into the node's import, the node's Match/MatchBatch, the broker's reference index through
Publish, the request store through RequestService (including the officer's id, which comes
from a token and filters ListRequests) and the audit log with its export filter. The
property: no extra rows come back or become visible, the tables are intact (counts
unchanged but for what was legitimately added), and a refusal is a clear status whose
message quotes no SQL. The broker-side stores run on both backends (SQLite and the real
OpenSearch node).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import grpc
import pytest

from broker.config import IndexSettings
from connectors.importer import ImportRejected, import_records
from connectors.node import make_keyer, open_store
from connectors.store import StoreError
from selec.tokens import issue_token, load_private_key
from selec.v1 import audit_pb2, broker_pb2, common_pb2, connector_pb2, requests_pb2
from tests.federation import node_settings, seed_node, start_federation
from tests.secure import JOVAN, start_secure_federation

pytestmark = pytest.mark.integration

PAYLOADS = (
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "'; DROP TABLE records;--",
    "'; DROP TABLE requests; --",
    "1; DELETE FROM record_keys",
    "' UNION SELECT reference, kind, category, payload FROM records --",
    "x' UNION SELECT name, 1, 1, 1 FROM sqlite_master --",
    "Robert'); DROP TABLE Students;--",
    "' AND 1=(SELECT COUNT(*) FROM records) --",
    "'||(SELECT payload FROM records LIMIT 1)||'",
    "%",
    "%%",
    "_",
    "%_%",
    "a%",
    "\\",
    "\\%",
    "\\_",
    "[a-z]%",
    "*",
    "?",
    "officer*",
    "*:*",
    "actor:*",
    "officer.gr OR approver.rs",
    "/.*/",
    '{"match_all": {}}',
    "a\x00b",
    "\x00",
    "--",
    "/* x */",
    "#",
    "';--",
    "ʼ OR 1=1 --",  # a modifier letter apostrophe
    "＇ OR ＇1＇=＇1",  # fullwidth apostrophes
    "x" * 10_000,
)
WILDCARDS = (
    "*",
    "?",
    "%",
    "_",
    "*:*",
    "/.*/",
    "' OR '1'='1",
    "officer.gr OR approver.rs",
    "x" * 10_000,
)
SQL_TEXT = re.compile(
    r"SELECT\s|INSERT\s|DELETE\s|UPDATE\s|DROP\s|constraint|sqlite|syntax|near \"|"
    r"records\.|record_keys|Traceback|Error\(",
    re.IGNORECASE,
)
# Every string field of an import line, by kind, with a valid value for the others.
RECORDS = {
    "person": {
        "given": "Ana",
        "family": "Kovač",
        "dob": "1980-01-02",
        "sex": "F",
        "nationality": "RS",
    },
    "document": {
        "doc_type": "passport",
        "number": "AB123456",
        "issuing_country": "RS",
        "person_id": "p1",
    },
    "vehicle": {"plate": "BG1234AB", "plate_country": "RS", "vin": "1M8GDM9AXKP042788"},
    "phone": {"number": "+381641234567", "region": "RS"},
}
CATEGORY = {"person": "wanted", "document": "stolen", "vehicle": "stolen", "phone": "monitored"}


def leaks(message: str, payload: str = "") -> bool:
    """Whether an error message quotes SQL, a table or an exception (other than by echoing
    the payload it refuses, which may well hold SQL)."""
    return any(
        match.group(0).lower() not in payload.lower() for match in SQL_TEXT.finditer(message)
    )


def table_counts(database: Path) -> dict[str, int]:
    """Rows of every table of a SQLite file (so a dropped or emptied table shows)."""
    with sqlite3.connect(database) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


# ---------------------------------------------------------------- the node's import and store


def test_payloads_in_every_imported_field_are_data_not_sql(tmp_path: Path) -> None:
    settings = node_settings("RS", tmp_path)
    seed_node(settings, 10)
    store, keyer = open_store(settings), make_keyer(settings)
    jovan = keyer.scheme.person_query_keys("Jovan", "Petrovic", dt.date(1985, 3, 14), 1985)
    before_match = sorted(m.reference for m in store.match([k.digest for k in jovan]))
    before = table_counts(settings.database)
    accepted: set[str] = set()
    for kind, fields in RECORDS.items():
        for field in ["id", *fields]:
            for number, payload in enumerate(PAYLOADS):
                line = {"id": f"{kind}-{field}-{number}", "kind": kind, "category": CATEGORY[kind]}
                line |= fields | {field: payload}
                try:
                    import_records("t", [(1, line)], store, keyer)
                    accepted.add(line["id"])  # an id imported again replaces its record
                except ImportRejected as exc:
                    for error in exc.errors:
                        assert not leaks(error.message, payload), error.message
                except StoreError as exc:  # pragma: no cover (shown by the assertion)
                    pytest.fail(f"{kind}.{field}={payload[:40]!r}: store error {exc}")
    after = table_counts(settings.database)
    assert set(after) == set(before), "a table appeared or disappeared"
    assert after["records"] == before["records"] + len(accepted)
    assert accepted, "no payload was stored at all: the corpus tests nothing"
    with sqlite3.connect(settings.database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT payload FROM records")}
    assert any("' OR '1'='1" in payload for payload in stored), "payloads must be kept verbatim"
    # The look-up of a seeded subject finds exactly what it found before.
    assert sorted(m.reference for m in store.match([k.digest for k in jovan])) == before_match


def test_reimporting_a_payload_id_replaces_that_record_only(tmp_path: Path) -> None:
    settings = node_settings("RS", tmp_path)
    seed_node(settings, 5)
    store, keyer = open_store(settings), make_keyer(settings)
    line = {
        "id": "' OR '1'='1",
        "kind": "phone",
        "category": "monitored",
        "number": "+381641234567",
    }
    assert import_records("t", [(1, line)], store, keyer) == 1
    before = table_counts(settings.database)
    assert import_records("t", [(1, line | {"number": "+381641234568"})], store, keyer) == 1
    assert table_counts(settings.database) == before
    with sqlite3.connect(settings.database) as db:
        (payload,) = db.execute(
            "SELECT payload FROM records WHERE record_id = ?", (line["id"],)
        ).fetchone()
    assert "+381641234568" in payload


# ---------------------------------------------------------------- the node's Match and MatchBatch


async def test_match_and_match_batch_take_payloads_as_opaque_values(tmp_path: Path) -> None:
    settings = node_settings("RS", tmp_path)
    seed_node(settings, 10)
    federation = await start_federation(tmp_path, ["RS"])
    try:
        node = federation.nodes["RS"]
        channel = grpc.aio.insecure_channel(node.address)
        match = channel.unary_unary(
            "/selec.v1.ConnectorService/Match",
            connector_pb2.MatchRequest.SerializeToString,
            connector_pb2.MatchResponse.FromString,
        )
        batch = channel.unary_unary(
            "/selec.v1.ConnectorService/MatchBatch",
            connector_pb2.MatchBatchRequest.SerializeToString,
            connector_pb2.MatchBatchResponse.FromString,
        )
        version = make_keyer(settings).scheme.version
        before = table_counts(settings.database)
        for payload in PAYLOADS:
            key = common_pb2.BlindKey(key_type=payload, digest=payload)
            for call, request in (
                (
                    match,
                    connector_pb2.MatchRequest(
                        scheme_version=version, keys=[key], search_id=payload
                    ),
                ),
                (
                    batch,
                    connector_pb2.MatchBatchRequest(
                        scheme_version=version,
                        sets=[connector_pb2.KeySet(id=payload[:64], keys=[key])],
                        search_id=payload,
                    ),
                ),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call(request, timeout=10)
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert not leaks(refused.value.details() or "", payload)
            # A well-formed digest with a hostile key type and search id: no hit, no error.
            clean = common_pb2.BlindKey(key_type=payload, digest="0" * 32)
            answer = await match(
                connector_pb2.MatchRequest(scheme_version=version, keys=[clean], search_id=payload),
                timeout=10,
            )
            assert not answer.hits
        assert table_counts(settings.database) == before
        await channel.close()
    finally:
        await federation.close()


# ---------------------------------------------------------------- the broker's reference index


def _publication(country: str, scheme: str, references: list[broker_pb2.PublishedReference]):
    header = broker_pb2.PublishHeader(country=country, scheme_version=scheme)
    header.as_of.FromDatetime(dt.datetime.now(dt.UTC))
    return [
        broker_pb2.PublishRequest(header=header),
        broker_pb2.PublishRequest(references=broker_pb2.PublishedReferences(references=references)),
        broker_pb2.PublishRequest(end=broker_pb2.PublishEnd(reference_count=len(references))),
    ]


def _reference(reference: str, key_type: str, digest: str) -> broker_pb2.PublishedReference:
    return broker_pb2.PublishedReference(
        reference=reference,
        kind=common_pb2.RECORD_KIND_PERSON,
        category=common_pb2.CATEGORY_WANTED,
        keys=[
            broker_pb2.PublishedKey(
                key_type=key_type, strength=common_pb2.MATCH_STRENGTH_STRONG, digest=digest
            )
        ],
    )


async def test_publish_payloads_never_reach_other_rows(
    tmp_path: Path, backend: IndexSettings
) -> None:
    for country in ("RS", "BG"):
        seed_node(node_settings(country, tmp_path), 10)
    federation = await start_federation(tmp_path, ["RS", "BG"], index=backend)
    try:
        await federation.publish("BG")
        await federation.publish("RS")
        index = federation.broker.index
        assert index is not None
        baseline = await index.publications()
        _, summary = await federation.search(JOVAN, ["RS", "BG"])
        statuses = {r.country: r.status for r in summary.results}
        publish = federation.channel.stream_unary(
            "/selec.v1.BrokerService/Publish",
            broker_pb2.PublishRequest.SerializeToString,
            broker_pb2.PublishResponse.FromString,
        )
        scheme = make_keyer(federation.nodes["RS"].settings).scheme.version
        # On OpenSearch each refused publication costs an index created and deleted (about
        # half a second), so there the corpus is cut to its wildcard and quoting core.
        corpus = PAYLOADS if backend.backend == "sqlite" else WILDCARDS
        for payload in corpus:
            attempts = [
                _publication("RS", scheme, [_reference(payload, "person.fold.dob", "a" * 32)]),
                _publication("RS", scheme, [_reference("RS-OK", payload, "a" * 32)]),
                _publication("RS", scheme, [_reference("RS-OK", "person.fold.dob", payload)]),
                _publication(payload, scheme, [_reference("RS-OK", "person.fold.dob", "a" * 32)]),
                _publication("RS", payload, [_reference("RS-OK", "person.fold.dob", "a" * 32)]),
            ]
            for stream in attempts:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await publish(iter(stream), timeout=20)
                assert refused.value.code() in (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.FAILED_PRECONDITION,
                ), refused.value
                assert not leaks(refused.value.details() or "", payload), refused.value.details()
        index.forget_publications()
        after = await index.publications()
        assert {c: p.reference_count for c, p in after.items()} == {
            c: p.reference_count for c, p in baseline.items()
        }
        # Every payload was refused, so the index still answers exactly as before.
        _, summary = await federation.search(JOVAN, ["RS", "BG"])
        assert {r.country: r.status for r in summary.results} == statuses
        # Wildcards where a digest belongs match nothing (or are refused), on either backend.
        for digest in ("%" * 32, "_" * 32, "*" * 32, "?" * 32, "' OR '1'='1"):
            try:
                assert not await index.lookup([digest], ["RS", "BG"]), digest
            except ValueError as exc:
                assert not leaks(str(exc), digest), exc
    finally:
        await federation.close()


# ---------------------------------------------------------------- requests and the audit log


async def test_workflow_and_audit_take_payloads_as_data(
    tmp_path: Path, backend: IndexSettings
) -> None:
    secure = await start_secure_federation(tmp_path, backend, ("RS", "BG"), persons=20)
    try:
        reference = await secure.hit_reference()
        mine = await secure.request_details(reference)
        issuer = load_private_key(secure.pki / "token-issuer.key")
        store = secure.broker.requests
        assert store is not None
        before = len(store.list(limit=500))
        created = 0
        # OpenSearch writes wait for a refresh (about a second each): the wildcard core there.
        corpus = PAYLOADS if backend.backend == "sqlite" else WILDCARDS
        for payload in corpus:
            fields = {
                "country": "RS",
                "reference": reference,
                "purpose": "investigation",
                "legal_basis": "SELEC art. 2",
                "justification": "case",
            }
            for field in fields:
                request = requests_pb2.RequestDetailsRequest(**(fields | {field: payload}))
                try:
                    await secure.requests.RequestDetails(
                        request, timeout=10, metadata=secure.auth("officer2.gr")
                    )
                    created += 1
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, exc
                    assert not leaks(exc.details() or "", payload), exc.details()
            for call, request, person in (
                (
                    secure.requests.Decide,
                    requests_pb2.DecideRequest(request_id=payload, approve=False, reason="x"),
                    "approver.rs",
                ),
                (
                    secure.requests.Decide,
                    requests_pb2.DecideRequest(
                        request_id=mine.request_id, approve=False, reason=payload
                    ),
                    "approver.bg",
                ),
                (
                    secure.requests.Withdraw,
                    requests_pb2.WithdrawRequest(request_id=payload),
                    "officer.gr",
                ),
                (
                    secure.requests.Reveal,
                    requests_pb2.RevealRequest(request_id=payload),
                    "officer.gr",
                ),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call(request, timeout=10, metadata=secure.auth(person))
                assert refused.value.code() in (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.NOT_FOUND,
                ), refused.value
                assert not leaks(refused.value.details() or "", payload), refused.value.details()
            # An officer whose id is the payload sees none of the others' requests.
            officer = payload[:128]
            try:
                token = issue_token(issuer, officer, "GR", ["officer", "approver", "auditor"])
            except ValueError:
                continue  # not an officer id the issuer would sign
            metadata = (("authorization", f"Bearer {token}"),)
            try:
                listed = await secure.requests.ListRequests(
                    requests_pb2.ListRequestsRequest(mine=True), timeout=10, metadata=metadata
                )
                assert not listed.requests, (officer, listed.requests)
                events = [
                    e
                    async for e in secure.audit.ExportAudit(
                        audit_pb2.ExportAuditRequest(officer=payload), timeout=30, metadata=metadata
                    )
                ]
                assert all(e.actor == payload for e in events), (payload, events[:1])
            except grpc.aio.AioRpcError as exc:  # a token the broker refuses is fine; no leak
                assert exc.code() in (
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.INVALID_ARGUMENT,
                ), exc
                assert not leaks(exc.details() or "", payload), exc.details()
        assert len(store.list(limit=500)) == before + created
        assert store.get(mine.request_id).state.value == "pending"
        verify = await secure.audit.VerifyAudit(
            audit_pb2.VerifyAuditRequest(), timeout=30, metadata=secure.auth("auditor.ro")
        )
        assert verify.ok, verify.problem
    finally:
        await secure.close()
