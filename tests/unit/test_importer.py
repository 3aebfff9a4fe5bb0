"""Import: line-numbered errors, nothing half-imported, stable opaque references."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from connectors.importer import ImportRejected, import_file
from connectors.keying import RecordKeyer
from connectors.keys import KeyScheme
from connectors.records import parse_record
from connectors.store import SqliteRecordStore

GOOD = [
    {
        "id": "P1",
        "kind": "person",
        "given": "Јован",
        "family": "Петровић",
        "dob": "1985-03-14",
        "sex": "M",
        "category": "wanted",
    },
    {
        "id": "D1",
        "kind": "document",
        "doc_type": "passport",
        "number": "012345678",
        "issuing_country": "RS",
        "category": "stolen",
    },
    {
        "id": "V1",
        "kind": "vehicle",
        "plate": "BG 123-AB",
        "plate_country": "RS",
        "category": "stolen",
    },
    {"id": "T1", "kind": "phone", "number": "064 123 4567", "category": "suspect"},
]


@pytest.fixture
def keyer() -> RecordKeyer:
    return RecordKeyer("RS", KeyScheme(b"k" * 32), b"r" * 32)


@pytest.fixture
def store(tmp_path: Path) -> SqliteRecordStore:
    return SqliteRecordStore(tmp_path / "rs.db")


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def test_jsonl_import_stores_every_kind(tmp_path: Path, store, keyer) -> None:
    count = import_file(write_jsonl(tmp_path / "in.jsonl", GOOD), store, keyer, False)
    assert count == 4
    assert store.counts() == {"person": 1, "document": 1, "vehicle": 1, "phone": 1}
    assert store.scheme_version() == keyer.scheme.version


def test_csv_import(tmp_path: Path, store, keyer) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,kind,category,given,family,dob,sex,number,plate,plate_country\n"
        "P1,person,wanted,Jovan,Petrović,1985-03-14,M,,,\n"
        "T1,phone,suspect,,,,,+381641234567,,\n"
        "V1,vehicle,stolen,,,,,,BG123AB,RS\n",
        encoding="utf-8",
    )
    assert import_file(path, store, keyer, False) == 3


def test_bad_lines_are_numbered_and_nothing_is_imported(tmp_path: Path, store, keyer) -> None:
    import_file(write_jsonl(tmp_path / "first.jsonl", GOOD[:1]), store, keyer, False)
    lines: list[object] = [
        GOOD[1],
        {
            "id": "P2",
            "kind": "person",
            "given": "A",
            "family": "B",
            "dob": "14.03.1985",
            "category": "wanted",
        },
        {"id": "P3", "kind": "alien", "category": "wanted"},
        "not an object",
        {"id": "T2", "kind": "phone", "number": "12", "category": "suspect"},
        {"id": "D1", "kind": "document", "number": "X123456", "category": "lost"},
        {
            "id": "P4",
            "kind": "person",
            "given": "A",
            "family": "B",
            "category": "wanted",
            "colour": "blue",
        },
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    with path.open("a") as handle:
        handle.write("{broken json\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(path, store, keyer, False)
    messages = [str(e) for e in caught.value.errors]
    assert messages[0].startswith("line 2: dob: expected YYYY-MM-DD")
    assert messages[1].startswith("line 3: kind: expected one of")
    assert messages[2] == "line 4: expected a JSON object"
    assert messages[3].startswith("line 5: number: ")
    assert messages[4] == "line 6: id: 'D1' already on line 1"
    assert messages[5] == "line 7: colour: not a field of a person record"
    assert messages[6].startswith("line 8: not valid JSON")
    assert caught.value.total == 7
    # The earlier import is untouched and the good line 1 was not imported either.
    assert store.counts() == {"person": 1}


def test_replace_drops_records_no_longer_in_the_file(tmp_path: Path, store, keyer) -> None:
    import_file(write_jsonl(tmp_path / "a.jsonl", GOOD), store, keyer, False)
    import_file(write_jsonl(tmp_path / "b.jsonl", GOOD[:1]), store, keyer, True)
    assert store.counts() == {"person": 1}


def test_reimport_updates_keys_and_keeps_the_reference(tmp_path: Path, store, keyer) -> None:
    import_file(write_jsonl(tmp_path / "a.jsonl", GOOD[:1]), store, keyer, False)
    old = keyer.prepare(parse_record(GOOD[0]))
    changed = dict(GOOD[0], given="Милош", dob="1990-06-28")
    import_file(write_jsonl(tmp_path / "b.jsonl", [changed]), store, keyer, False)
    new = keyer.prepare(parse_record(changed))
    assert new.reference == old.reference
    assert (
        store.match([k.digest for k in old.keys if k.digest not in {n.digest for n in new.keys}])
        == []
    )
    assert {m.reference for m in store.match([k.digest for k in new.keys])} == {old.reference}
    assert store.counts() == {"person": 1}


def test_invalid_utf8_is_a_line_error(tmp_path: Path, store, keyer) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(GOOD[0]).encode() + b"\n\xff\xfe\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(path, store, keyer, False)
    assert "not valid UTF-8" in str(caught.value.errors[0])
    assert store.counts() == {}


def test_references_are_stable_opaque_and_per_node(keyer: RecordKeyer) -> None:
    reference = keyer.reference("RS-P-000001")
    assert reference == keyer.reference("RS-P-000001")
    assert reference != keyer.reference("RS-P-000002")
    assert "000001" not in reference
    other_node = RecordKeyer("RS", keyer.scheme, b"s" * 32)
    assert other_node.reference("RS-P-000001") != reference
    assert reference.startswith("RS-") and len(reference) == 3 + 26


def test_a_restart_republishes_only_changed_or_due_records(tmp_path: Path, store, keyer) -> None:
    from connectors.publisher import START_DELAY_SECONDS, PublishSchedule, _start_delay

    schedule = PublishSchedule(broker="127.0.0.1:1", interval_seconds=3600, on_start=True)
    import_file(write_jsonl(tmp_path / "a.jsonl", GOOD), store, keyer, False)
    assert _start_delay(store, schedule) == START_DELAY_SECONDS  # never published
    store.mark_published(schedule.broker, store.generation(), time.time())
    assert 3500 < _start_delay(store, schedule) <= 3600  # unchanged: wait for the schedule
    import_file(write_jsonl(tmp_path / "b.jsonl", GOOD[:1]), store, keyer, False)
    assert _start_delay(store, schedule) == START_DELAY_SECONDS  # changed: publish soon
