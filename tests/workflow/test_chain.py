"""The hash chain as pure functions: canonical form, hashing, chaining, verifying."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from broker.audit import (
    EMPTY_HEAD,
    GENESIS,
    SCHEMA,
    AuditEvent,
    AuditRecord,
    ChainHead,
    ChainVerifier,
    canonical,
    chain,
    event_hash,
    verify_chain,
)
from tests.workflow.builders import record

GOLDEN = AuditRecord(
    at=datetime(2025, 3, 1, 8, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
    actor="officer-ro-1",
    actor_country="RO",
    action="search",
    outcome="hit",
    purpose="Cercetare penală",
    legal_basis="SELEC art. 5",
    countries=("RS", "BG"),
    blind_keys=("person.fold:" + "0123456789abcdef" * 2,),
    search_id="s-1",
    detail="1 hit",
)
GOLDEN_CANONICAL = (
    '{"action":"search","actor":"officer-ro-1","actor_country":"RO",'
    '"at":"2025-03-01T06:30:00.123456Z",'
    '"blind_keys":["person.fold:0123456789abcdef0123456789abcdef"],"countries":["RS","BG"],'
    '"detail":"1 hit","legal_basis":"SELEC art. 5","outcome":"hit",'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"purpose":"Cercetare penală","reference":"","request_id":"","schema":"selec.audit.v1",'
    '"search_id":"s-1","seq":1}'
)
GOLDEN_HASH = "2ba78a53b4492d704d64819a4d29b55bc3e88147f8320986fe667b4f35452f27"


def events(count: int = 8) -> list[AuditEvent]:
    return chain([record(n) for n in range(count)])


# ---------------------------------------------------------------- canonical form


def test_the_canonical_form_is_fixed() -> None:
    """Changing it would make every stored chain fail to verify: a new SCHEMA tag instead."""
    assert canonical(GOLDEN, 1, GENESIS) == GOLDEN_CANONICAL.encode("utf-8")
    assert event_hash(GOLDEN, 1, GENESIS) == GOLDEN_HASH


def test_the_hash_is_sha256_of_the_canonical_form() -> None:
    digest = hashlib.sha256(canonical(GOLDEN, 3, "a" * 64)).hexdigest()

    assert event_hash(GOLDEN, 3, "a" * 64) == digest


def test_the_canonical_form_is_sorted_compact_utf8_json_with_every_field() -> None:
    text = canonical(GOLDEN, 1, GENESIS).decode("utf-8")
    document = json.loads(text)

    assert list(document) == sorted(document)
    assert text == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "penală" in text  # not \\u escaped
    assert document["reference"] == "" and document["request_id"] == ""
    assert document["schema"] == SCHEMA


def test_the_same_moment_in_any_zone_hashes_the_same() -> None:
    in_utc = replace(GOLDEN, at=GOLDEN.at.astimezone(UTC))

    assert event_hash(in_utc, 1, GENESIS) == GOLDEN_HASH


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "no_hit"},
        {"countries": ("BG", "RS")},
        {"blind_keys": ()},
        {"detail": ""},
        {"at": GOLDEN.at + timedelta(microseconds=1)},
    ],
)
def test_every_field_is_covered(change: dict[str, object]) -> None:
    assert event_hash(replace(GOLDEN, **change), 1, GENESIS) != GOLDEN_HASH  # type: ignore[arg-type]


def test_seq_and_prev_hash_are_covered() -> None:
    assert event_hash(GOLDEN, 2, GENESIS) != GOLDEN_HASH
    assert event_hash(GOLDEN, 1, "1" * 64) != GOLDEN_HASH


# ---------------------------------------------------------------- chaining


def test_chain_numbers_and_links_from_the_genesis() -> None:
    made = events(3)

    assert [e.seq for e in made] == [1, 2, 3]
    assert made[0].prev_hash == GENESIS
    assert made[1].prev_hash == made[0].hash
    assert made[2].record == record(2)


def test_chain_continues_after_a_head() -> None:
    first = events(3)

    rest = chain([record(n) for n in range(3, 5)], ChainHead(3, first[-1].hash))

    assert [*first, *rest] == events(5)


def test_chain_refuses_what_is_not_a_record() -> None:
    with pytest.raises(ValueError):
        chain(["search"])  # type: ignore[list-item]


# ---------------------------------------------------------------- verifying


def test_an_intact_chain_verifies() -> None:
    made = events()

    report = verify_chain(made)

    assert report.ok
    assert (report.checked, report.at_seq, report.problem) == (8, None, "")
    assert report.head == ChainHead(8, made[-1].hash)


def test_an_empty_chain_verifies() -> None:
    report = verify_chain([])

    assert report.ok and report.checked == 0 and report.head == EMPTY_HEAD


def test_a_changed_event_is_named() -> None:
    made = events()
    made[4] = replace(made[4], outcome="no_hit")

    report = verify_chain(made)

    assert not report.ok
    assert (report.at_seq, report.checked) == (5, 4)
    assert report.problem == "event 5 was changed: its content does not match its hash"


def test_a_changed_event_with_its_hash_recomputed_breaks_the_next_link() -> None:
    made = events()
    forged = replace(made[4], outcome="no_hit")
    made[4] = replace(forged, hash=event_hash(forged, 5, forged.prev_hash))

    report = verify_chain(made)

    assert report.at_seq == 6
    assert "event 6 does not follow event 5" in report.problem


def test_a_removed_event_is_named() -> None:
    made = events()
    del made[2]

    report = verify_chain(made)

    assert report.at_seq == 3
    assert report.problem.startswith("event 3 missing")


def test_several_removed_events_are_named_as_a_range() -> None:
    made = events()
    del made[2:5]

    report = verify_chain(made)

    assert report.at_seq == 3
    assert report.problem.startswith("events 3..5 missing")


def test_reordered_events_are_found() -> None:
    made = events()
    made[3], made[4] = made[4], made[3]

    report = verify_chain(made)

    assert report.at_seq == 4
    assert not report.ok


def test_a_duplicated_event_is_found() -> None:
    made = events()
    made.insert(4, made[3])

    report = verify_chain(made)

    assert report.at_seq == 4
    assert "duplicated or reordered" in report.problem


def test_swapped_contents_at_fixed_positions_are_found() -> None:
    made = events()
    four, five = made[3], made[4]
    made[3] = replace(five, seq=4)
    made[4] = replace(four, seq=5)

    report = verify_chain(made)

    assert report.at_seq == 4
    assert "changed" in report.problem


def test_a_chain_not_starting_at_the_genesis_is_found() -> None:
    made = chain([record(n) for n in range(3)], ChainHead(0, "e" * 64))

    report = verify_chain(made)

    assert report.at_seq == 1
    assert "does not follow the start of the chain" in report.problem


def test_the_chain_must_end_at_the_stores_head() -> None:
    made = events()

    short = verify_chain(made[:6], head=ChainHead(8, made[-1].hash))
    long = verify_chain(made, head=ChainHead(6, made[5].hash))
    other = verify_chain(made, head=ChainHead(8, "f" * 64))

    assert (short.at_seq, short.problem.startswith("events 7..8 missing")) == (7, True)
    assert (long.at_seq, "beyond the store's head" in long.problem) == (7, True)
    assert (other.at_seq, "not the event the store's head records" in other.problem) == (8, True)
    assert verify_chain(made, head=ChainHead(8, made[-1].hash)).ok


def test_an_anchor_must_still_be_in_the_chain() -> None:
    made = events()
    anchor = ChainHead(5, made[4].hash)

    assert verify_chain(made, anchor=anchor).ok
    cut = verify_chain(made[:3], anchor=anchor)
    assert (cut.at_seq, "removed from the end" in cut.problem) == (4, True)
    forged = verify_chain(made, anchor=ChainHead(5, "f" * 64))
    assert (forged.at_seq, "anchored" in forged.problem) == (5, True)


def test_the_verifier_reports_an_unreadable_store_after_what_it_checked() -> None:
    verifier = ChainVerifier()
    for event in events(3):
        assert verifier.feed(event) is None

    report = verifier.unreadable("page 7 is damaged", 4)

    assert not report.ok
    assert (report.checked, report.at_seq) == (3, 4)
    assert report.problem == "audit store unreadable: page 7 is damaged"
    assert verifier.last.seq == 3
