"""The contract of `AuditLog`: one suite, run against SQLite and a real OpenSearch."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from opensearchpy import OpenSearch

from broker.audit import (
    EVENT_FIELDS,
    GENESIS,
    AuditEvent,
    AuditLog,
    ChainHead,
    OpenSearchAuditLog,
    chain,
    event_hash,
    queries,
)
from tests.workflow import tamper
from tests.workflow.builders import SECRET_NAME, T0, record
from tests.workflow.conftest import Backend

THREADS = 4
PER_THREAD = 50


def seed(log: AuditLog, count: int = 10) -> list[AuditEvent]:
    """``count`` events: the first six as one batch, the rest one by one (so only the last
    event is in OpenSearch's head, and tampering earlier ones is not masked by it)."""
    records = [record(n) for n in range(count)]
    return [*log.append_many(records[:6]), *(log.append(r) for r in records[6:])]


# ---------------------------------------------------------------- appending


def test_is_an_audit_log(audit: AuditLog) -> None:
    assert isinstance(audit, AuditLog)
    assert audit.ping() is True


def test_a_log_never_prepared_prepares_itself(logs: Backend[AuditLog]) -> None:
    assert list(logs.open(prepare=False).events()) == []
    appended = logs.open(prepare=False).append(record(0))

    assert list(logs.open(prepare=False).events()) == [appended]
    assert logs.open(prepare=False).verify().ok


def test_appends_are_numbered_and_chained(audit: AuditLog) -> None:
    first = audit.append(record(1))
    second = audit.append(record(2))

    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == event_hash(record(1), 1, GENESIS)
    assert second.record == record(2)


def test_append_many_continues_the_chain_as_consecutive_events(audit: AuditLog) -> None:
    single = audit.append(record(0))

    batch = audit.append_many([record(n) for n in range(1, 6)])

    assert [event.seq for event in batch] == [2, 3, 4, 5, 6]
    assert batch[0].prev_hash == single.hash
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(batch))
    assert audit.append_many([]) == []


def test_both_backends_write_the_chain_the_pure_functions_compute(audit: AuditLog) -> None:
    records = [record(n) for n in range(8)]

    appended = audit.append_many(records[:3]) + [audit.append(r) for r in records[3:]]

    assert appended == chain(records)
    assert list(audit.events()) == appended


def test_a_bad_item_appends_nothing(audit: AuditLog) -> None:
    audit.append(record(0))

    with pytest.raises(ValueError):
        audit.append_many([record(1), "not a record"])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        audit.append_many(record(1))  # type: ignore[arg-type]

    assert [event.seq for event in audit.events()] == [1]


def test_events_survive_a_restart_and_the_chain_continues(logs: Backend[AuditLog]) -> None:
    first = logs.open()
    before = seed(first, 5)
    first.close()

    restarted = logs.open()
    after = restarted.append(record(5))

    assert list(restarted.events()) == [*before, after]
    assert after.prev_hash == before[-1].hash
    assert restarted.verify().ok


# ---------------------------------------------------------------- export


def test_events_streams_in_seq_order_with_filters(audit: AuditLog) -> None:
    officers = ["officer-ro-1", "officer-bg-7"]
    appended = audit.append_many(
        [record(n, actor=officers[n % 2], at=T0 + timedelta(minutes=n)) for n in range(12)]
    )
    since, until = T0 + timedelta(minutes=3), T0 + timedelta(minutes=9)

    everything = list(audit.events())
    window = list(audit.events(since=since, until=until))
    one_officer = list(audit.events(actor="officer-bg-7"))
    both = list(audit.events(since=since, until=until, actor="officer-ro-1"))

    assert everything == appended
    assert window == [e for e in appended if since <= e.at < until]
    assert [e.seq for e in window] == [4, 5, 6, 7, 8, 9]  # since inclusive, until exclusive
    assert one_officer == [e for e in appended if e.actor == "officer-bg-7"]
    assert both == [e for e in appended if since <= e.at < until and e.actor == "officer-ro-1"]
    assert list(audit.events(actor="nobody")) == []


def test_events_of_an_empty_log(audit: AuditLog) -> None:
    assert list(audit.events()) == []


def test_events_refuses_naive_times(audit: AuditLog) -> None:
    with pytest.raises(ValueError):
        list(audit.events(since=T0.replace(tzinfo=None)))


# ---------------------------------------------------------------- verify, untouched


def test_verify_an_intact_chain(audit: AuditLog) -> None:
    appended = seed(audit)

    report = audit.verify()

    assert report.ok, report.problem
    assert (report.checked, report.problem, report.at_seq) == (10, "", None)
    assert report.head == ChainHead(10, appended[-1].hash)


def test_verify_an_empty_log(audit: AuditLog) -> None:
    report = audit.verify()

    assert report.ok
    assert report.checked == 0


def test_verify_against_an_anchor(audit: AuditLog) -> None:
    seed(audit)
    anchor = audit.verify().head
    audit.append(record(99))

    assert audit.verify(anchor=anchor).ok
    forged = audit.verify(anchor=ChainHead(anchor.seq, "f" * 64))
    assert not forged.ok and forged.at_seq == anchor.seq


# ---------------------------------------------------------------- verify, tampered


def _assert_broken(audit: AuditLog, at_seq: int, *words: str) -> None:
    report = audit.verify()
    assert not report.ok
    assert report.at_seq == at_seq, report.problem
    for word in words:
        assert word in report.problem, report.problem
    assert report.checked == at_seq - 1
    assert SECRET_NAME not in report.problem


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcome", "no_hit"),
        ("actor", "officer-rs-9"),
        ("purpose", "curiosity"),
        ("at", "2025-03-01T07:00:00.000000Z"),
    ],
)
def test_an_edited_event_is_found(logs: Backend[AuditLog], field: str, value: str) -> None:
    audit = logs.open()
    seed(audit)

    tamper.write(logs, 4, {field: value})

    _assert_broken(audit, 4, "event 4", "changed")


def test_an_edited_list_is_found(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    seed(audit)
    countries = ["RS", "BG"]

    tamper.write(
        logs, 8, {"countries": json.dumps(countries) if logs.name == "sqlite" else countries}
    )

    _assert_broken(audit, 8, "changed")


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link(
    logs: Backend[AuditLog],
) -> None:
    audit = logs.open()
    appended = seed(audit)
    forged = replace(appended[4].record, outcome="no_hit")

    tamper.write(logs, 5, {"outcome": "no_hit", "hash": event_hash(forged, 5, appended[3].hash)})

    _assert_broken(audit, 6, "event 6", "prev_hash")


def test_a_removed_event_is_found(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    seed(audit)

    tamper.delete(logs, 3)

    _assert_broken(audit, 3, "event 3 missing")


def test_two_swapped_events_are_found(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    seed(audit)

    tamper.swap(logs, 5, 6)

    _assert_broken(audit, 5, "event 5", "changed")


def test_a_removed_first_event_is_found(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    seed(audit)

    tamper.delete(logs, 1)

    _assert_broken(audit, 1, "event 1 missing")


def test_a_cut_off_end_is_found_against_an_anchor(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    appended = seed(audit)
    anchor = audit.verify().head

    for seq in (10, 9):
        tamper.delete(logs, seq)
    tamper.set_head(logs, 8, appended[7].hash)

    assert audit.verify().ok  # a consistently shortened chain looks younger, not broken
    report = audit.verify(anchor=anchor)
    assert not report.ok
    assert report.at_seq == 9
    assert "removed from the end" in report.problem


def test_a_head_moved_elsewhere_is_found(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    appended = seed(audit)

    tamper.set_head(logs, 7, appended[6].hash)

    report = audit.verify()
    assert not report.ok
    assert report.at_seq == 8
    assert "beyond the store's head" in report.problem


def test_appending_after_tampering_keeps_the_damage_visible(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    seed(audit)
    tamper.write(logs, 2, {"outcome": "no_hit"})

    audit.append(record(50))

    assert audit.verify().at_seq == 2


# ---------------------------------------------------------------- one chain, many writers


def test_concurrent_appends_from_two_instances_keep_one_chain(logs: Backend[AuditLog]) -> None:
    one, two = logs.open(), logs.open()
    writers: list[tuple[AuditLog, int]] = [(one, 1), (two, 1), (one, 5), (two, 5)]
    assert len(writers) == THREADS
    returned: list[list[AuditEvent]] = [[] for _ in writers]
    failures: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def write(slot: int, log: AuditLog, batch: int) -> None:
        try:
            barrier.wait()
            for start in range(0, PER_THREAD, batch):
                records = [
                    record(slot * 1000 + n, actor=f"officer-{slot}")
                    for n in range(start, start + batch)
                ]
                returned[slot].extend(log.append_many(records))
        except BaseException as exc:  # reported below, with the thread's slot
            failures.append(exc)

    threads = [
        threading.Thread(target=write, args=(slot, log, batch))
        for slot, (log, batch) in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not failures, failures
    stored = list(one.events())
    total = THREADS * PER_THREAD
    assert [event.seq for event in stored] == list(range(1, total + 1))
    assert sorted(e.seq for events in returned for e in events) == list(range(1, total + 1))
    assert {e.seq: e for events in returned for e in events} == {e.seq: e for e in stored}
    for slot, (_, batch) in enumerate(writers):
        mine = returned[slot]
        for start in range(0, PER_THREAD, batch):
            seqs = [e.seq for e in mine[start : start + batch]]
            assert seqs == list(range(seqs[0], seqs[0] + batch))  # a batch is never split
    assert one.verify().ok
    assert two.verify() == one.verify()


# ---------------------------------------------------------------- what is stored


def _allowed(backend: str) -> dict[str, set[str]]:
    """Every field each kind of stored row or document may have."""
    event = set(EVENT_FIELDS)
    if backend == "sqlite":
        return {
            "audit_events": {"_table", *event},
            "audit_head": {"_table", "id", "seq", "hash"},
            "audit_meta": {"_table", "name", "value"},
        }
    return {"event": {"_index", "_id", *event}, "head": {"_index", "_id", "seq", "hash", "pending"}}


def _kind(document: dict[str, object]) -> str:
    if "_table" in document:
        return str(document["_table"])
    return "head" if document.get("_id") == "head" else "event"


def test_stores_hold_blind_keys_and_documented_fields_only(logs: Backend[AuditLog]) -> None:
    audit = logs.open()
    seed(audit, 7)
    allowed = _allowed(logs.name)

    documents = list(audit.documents())

    assert {_kind(d) for d in documents} == set(allowed)
    for document in documents:
        assert set(document) <= allowed[_kind(document)], document
        for pending in document.get("pending", []):  # type: ignore[attr-defined]
            assert set(pending) == set(EVENT_FIELDS)
    text = json.dumps(documents, default=str)
    for plaintext in (SECRET_NAME, "PETROVIC", "JOVAN", "1980"):
        assert plaintext not in text
    assert record(0).blind_keys[0] in text


def test_a_record_with_plaintext_criteria_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        record(0, blind_keys=("person.name:PETROVIC JOVAN",))

    assert "PETROVIC" not in str(caught.value)


# ---------------------------------------------------------------- backend-specific promises


def test_sqlite_refuses_updates_and_deletes_of_events(sqlite_logs: Backend[AuditLog]) -> None:
    logs = sqlite_logs
    audit = logs.open()
    seed(audit, 3)

    assert logs.path is not None
    db = sqlite3.connect(logs.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit_events SET outcome = 'no_hit' WHERE seq = 2")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit_events WHERE seq = 2")
        db.execute("DROP TRIGGER audit_events_no_update")
        db.commit()
    finally:
        db.close()

    report = audit.verify()
    assert not report.ok
    assert "triggers" in report.problem
    assert report.problem.startswith("audit store altered")


def test_sqlite_the_last_event_removed_is_found_by_the_head(sqlite_logs: Backend[AuditLog]) -> None:
    logs = sqlite_logs
    audit = logs.open()
    seed(audit)

    tamper.delete(logs, 10)

    _assert_broken(audit, 10, "event 10 missing", "head")


def test_opensearch_a_commit_whose_events_were_never_created_is_not_lost(
    opensearch_logs: Backend[AuditLog],
) -> None:
    """A broker that died between committing the head and creating the documents."""
    logs = opensearch_logs
    audit = logs.open()
    appended = seed(audit, 4)
    orphaned = chain([record(n) for n in range(4, 7)], ChainHead(4, appended[-1].hash))
    assert logs.prefix is not None and logs.url is not None
    client = OpenSearch([logs.url])
    try:
        client.index(
            index=queries.head_index(logs.prefix),
            id=queries.HEAD_ID,
            body=queries.head_document(orphaned),
            refresh=True,
        )
    finally:
        client.close()

    assert audit.verify().ok
    assert audit.verify().checked == 7
    assert list(audit.events()) == [*appended, *orphaned]

    later = logs.open().append(record(7))

    assert later.seq == 8
    assert later.prev_hash == orphaned[-1].hash
    assert sum(1 for d in audit.documents() if d["_id"] != "head") == 8
    assert audit.verify().ok


def test_opensearch_the_last_event_removed_is_restored_from_the_head(
    opensearch_logs: Backend[AuditLog],
) -> None:
    """The last batch is committed in the head; a missing copy of it is not a loss."""
    logs = opensearch_logs
    audit = logs.open()
    appended = seed(audit)

    tamper.delete(logs, 10)

    assert audit.verify().ok
    assert list(audit.events())[-1] == appended[-1]


def test_opensearch_a_document_under_another_id_is_found(
    opensearch_logs: Backend[AuditLog],
) -> None:
    logs = opensearch_logs
    audit = logs.open()
    seed(audit)

    five, six = tamper.read(logs, 5), tamper.read(logs, 6)
    tamper.write(logs, 5, six)
    tamper.write(logs, 6, five)

    report = audit.verify()
    assert not report.ok
    assert report.at_seq in (5, 6)


def test_opensearch_a_batch_longer_than_the_head_holds_is_split(
    opensearch_logs: Backend[AuditLog],
) -> None:
    logs = opensearch_logs
    assert logs.prefix is not None and logs.url is not None
    small = OpenSearchAuditLog.from_url(logs.url, logs.prefix)
    small._max_batch = 4
    try:
        appended = small.append_many([record(n) for n in range(10)])
    finally:
        small.close()

    assert [e.seq for e in appended] == list(range(1, 11))
    assert logs.open().verify().ok
