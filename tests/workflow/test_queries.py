"""Unit tests of the OpenSearch builders of both stores: no cluster."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from broker.audit import EMPTY_HEAD, EVENT_FIELDS, ChainHead, chain
from broker.audit import queries as audit_queries
from broker.workflow import RequestQuery, RequestState
from broker.workflow import queries as request_queries
from broker.workflow.model import STORED_FIELDS
from tests.workflow.builders import T0, details, record

# ---------------------------------------------------------------- request store


def test_the_request_mapping_is_strict_and_covers_exactly_the_stored_fields() -> None:
    mapping = request_queries.request_mappings()

    assert mapping["dynamic"] == "strict"
    assert set(mapping["properties"]) == set(STORED_FIELDS)


@pytest.mark.parametrize(
    "field", ["justification", "handling_note", "denial_reason", "grant_nonce"]
)
def test_free_texts_and_the_nonce_are_never_indexed(field: str) -> None:
    spec = request_queries.request_mappings()["properties"][field]

    assert spec["index"] is False
    assert spec["doc_values"] is False


def test_the_requests_index_sits_behind_its_alias() -> None:
    body = request_queries.create_index_body("selec-x")

    assert body["aliases"] == {"selec-x-requests": {"is_write_index": True}}
    assert request_queries.requests_index("selec-x") == "selec-x-requests-v1"
    assert body["settings"]["index"]["refresh_interval"] == request_queries.REFRESH_INTERVAL
    with pytest.raises(ValueError):
        request_queries.requests_alias("Selec X")


def test_version_tokens_round_trip() -> None:
    token = request_queries.version_token(41, 3)

    assert token == "41:3"
    assert request_queries.parse_version(token) == (41, 3)
    for bad in ("41", "a:b", "1:2:3", ""):
        with pytest.raises(ValueError):
            request_queries.parse_version(bad)


def test_a_hit_becomes_the_request_it_holds() -> None:
    request = details()
    hit = {
        "_source": request_queries.request_document(request),
        "_seq_no": 5,
        "_primary_term": 1,
    }

    assert request_queries.request_from_hit(hit).version == "5:1"


def test_the_list_body_filters_sorts_and_limits() -> None:
    query = RequestQuery.build(
        requester="officer-ro-1",
        country="RS",
        states=[RequestState.DENIED, RequestState.PENDING],
        overdue_at=T0,
        limit=20,
    )

    body = request_queries.list_body(query)

    assert body["size"] == 20
    assert body["seq_no_primary_term"] is True
    assert body["sort"] == [{"created_at": "desc"}, {"request_id": "asc"}]
    assert body["query"]["bool"]["filter"] == [
        {"term": {"requester": "officer-ro-1"}},
        {"term": {"country": "RS"}},
        {"terms": {"state": ["pending"]}},
        {"range": {"deadline_at": {"lt": "2025-03-01T06:00:00.000000Z"}}},
    ]


def test_the_overdue_count_aggregates_pending_past_deadline_by_country() -> None:
    body = request_queries.count_overdue_body(T0)
    answer = {
        "aggregations": {
            "countries": {"buckets": [{"key": "RS", "doc_count": 2}, {"key": "BG", "doc_count": 1}]}
        }
    }

    assert body["size"] == 0
    assert {"terms": {"state": ["pending"]}} in body["query"]["bool"]["filter"]
    assert request_queries.overdue_from_answer(answer) == {"RS": 2, "BG": 1}
    assert request_queries.overdue_from_answer({}) == {}


# ---------------------------------------------------------------- audit log


def test_the_event_mapping_is_strict_and_covers_exactly_the_event_fields() -> None:
    mapping = audit_queries.event_mappings()

    assert mapping["dynamic"] == "strict"
    assert set(mapping["properties"]) == set(EVENT_FIELDS)
    assert mapping["properties"]["detail"]["index"] is False


def test_the_head_keeps_its_pending_events_unindexed() -> None:
    mapping = audit_queries.head_mappings()

    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["pending"] == {"type": "object", "enabled": False}


def test_the_two_audit_indices_do_not_overlap() -> None:
    events_pattern, head_pattern = audit_queries.index_patterns("p")

    assert audit_queries.events_index("p") == "p-audit-v1"
    assert audit_queries.head_index("p") == "p-audit-head-v1"
    assert not audit_queries.head_index("p").startswith(events_pattern.rstrip("*"))
    assert head_pattern == "p-audit-head-v*"


def test_the_head_document_round_trips() -> None:
    events = chain([record(n) for n in range(3)])

    document = audit_queries.head_document(events)

    assert audit_queries.head_from_document(document) == (ChainHead(3, events[-1].hash), events)
    assert audit_queries.head_from_document(None) == (EMPTY_HEAD, [])


@pytest.mark.parametrize(
    "damage",
    [
        {"seq": "3"},
        {"pending": "[]"},
        {"extra": 1},
        {"hash": "0" * 64},
    ],
)
def test_a_damaged_head_is_refused(damage: dict[str, Any]) -> None:
    document = {**audit_queries.head_document(chain([record(0)])), **damage}

    with pytest.raises(ValueError):
        audit_queries.head_from_document(document)


def test_a_hit_under_another_id_is_refused() -> None:
    (event,) = chain([record(0)])
    source = audit_queries.event_document(event)

    assert audit_queries.event_from_hit({"_id": "1", "_source": source}) == event
    with pytest.raises(ValueError, match="document 2 holds event 1"):
        audit_queries.event_from_hit({"_id": "2", "_source": source})


def test_bulk_creates_never_overwrite() -> None:
    events = chain([record(n) for n in range(2)])

    body = audit_queries.bulk_create_body(events, "p-audit")

    assert body[0] == {"create": {"_index": "p-audit", "_id": "1"}}
    assert body[2] == {"create": {"_index": "p-audit", "_id": "2"}}


def test_bulk_answers_tell_conflicts_from_failures() -> None:
    answer = {
        "errors": True,
        "items": [
            {"create": {"_id": "1", "status": 201}},
            {"create": {"_id": "2", "status": 409, "error": {"type": "version_conflict"}}},
            {"create": {"_id": "3", "status": 429, "error": {"type": "rejected_execution"}}},
        ],
    }

    assert audit_queries.bulk_conflicts(answer) == (["2"], "rejected_execution")
    assert audit_queries.bulk_conflicts({"errors": False}) == ([], None)


def test_the_events_body_pages_by_seq_within_the_snapshot() -> None:
    body = audit_queries.events_body(
        after=10, through=50, since=T0, until=T0 + timedelta(hours=1), actor="officer-ro-1"
    )

    assert body["sort"] == [{"seq": "asc"}]
    assert body["query"]["bool"]["filter"] == [
        {"range": {"seq": {"gt": 10, "lte": 50}}},
        {
            "range": {
                "at": {"gte": "2025-03-01T06:00:00.000000Z", "lt": "2025-03-01T07:00:00.000000Z"}
            }
        },
        {"term": {"actor": "officer-ro-1"}},
    ]


def test_pending_events_fill_only_the_seqs_not_stored() -> None:
    events = chain([record(n) for n in range(6)])
    tampered = replace(events[4], outcome="no_hit")
    stored = [events[0], events[1], events[2], tampered]
    pending = events[3:]

    merged = list(audit_queries.merge_pending(stored, pending))

    assert [e.seq for e in merged] == [1, 2, 3, 4, 5, 6]
    assert merged[4] is tampered  # a stored copy wins: verify must see what is stored
    assert merged[3] is events[3] and merged[5] is events[5]
