"""The models and the workflow's rules, without a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import grpc
import pytest

from broker.audit import EVENT_FIELDS, AuditRecord, chain
from broker.audit.model import event_fields, event_from_fields, format_time, parse_time
from broker.workflow import (
    DetailsRequest,
    InvalidTransition,
    NotPermitted,
    RequestQuery,
    RequestState,
    transitions,
)
from broker.workflow.model import from_stored, newest_first, stored_fields
from tests.workflow.builders import SECRET_NAME, T0, details, record

NONCE = "0123456789abcdef0123456789abcdef"
LATER = T0 + timedelta(hours=2)
EXPIRY = T0 + timedelta(days=3)


def approve(request: DetailsRequest, **changes: object) -> DetailsRequest:
    arguments: dict[str, object] = {
        "by": "approver-rs-1",
        "by_country": "RS",
        "at": LATER,
        "handling_code": "H1",
        "expires_at": EXPIRY,
        "grant_nonce": NONCE,
    }
    arguments.update(changes)
    return transitions.approve(request, **arguments)  # type: ignore[arg-type]


# ---------------------------------------------------------------- DetailsRequest


def test_a_request_keeps_utc_times() -> None:
    local = datetime(2025, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))

    request = details(created=local)

    assert request.created_at == T0
    assert request.created_at.tzinfo == UTC


@pytest.mark.parametrize(
    "change",
    [
        {"request_id": "not-hex"},
        {"country": "rs"},
        {"requester_country": "Romania"},
        {"reference": "RS JOVAN"},
        {"purpose": ""},
        {"legal_basis": "x" * 201},
        {"justification": "bell\x07"},
        {"requester": " officer"},
        {"requester": ""},
        {"state": "lost"},
        {"created_at": T0.replace(tzinfo=None)},
        {"deadline_at": T0 - timedelta(hours=1)},
        {"decided_by": "someone"},
        {"denial_reason": "no"},
        {"handling_code": "H9"},
        {"version": "v1"},
    ],
)
def test_a_malformed_request_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        details(**change)


def test_an_empty_justification_is_allowed() -> None:
    assert details(justification="").justification == ""


def test_a_refusal_never_repeats_the_value() -> None:
    with pytest.raises(ValueError) as caught:
        details(purpose=f"{SECRET_NAME}\x00")

    assert SECRET_NAME not in str(caught.value)


@pytest.mark.parametrize(
    ("state", "fields"),
    [
        (RequestState.APPROVED, {}),
        (RequestState.DENIED, {"decided_by": "a", "decided_at": LATER}),
        (RequestState.REVEALED, {}),
        (RequestState.PENDING, {"revealed_at": LATER}),
    ],
)
def test_a_half_decided_request_cannot_be_built(
    state: RequestState, fields: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        details(state=state, **fields)


def test_h3_needs_a_note() -> None:
    with pytest.raises(ValueError):
        approve(details(), handling_code="H3")

    assert approve(details(), handling_code="H3", handling_note="not for court").handling_note


def test_stored_fields_round_trip() -> None:
    request = approve(details())

    assert from_stored(dict(stored_fields(request)), "7") == replace(request, version="7")


def test_overdue_means_pending_past_the_deadline() -> None:
    request = details()
    late = request.deadline_at + timedelta(microseconds=1)

    assert not request.is_overdue(request.deadline_at)
    assert request.is_overdue(late)
    assert not approve(request).is_overdue(late)


# ---------------------------------------------------------------- transitions


def test_approve_records_the_decision() -> None:
    decided = approve(details())

    assert decided.state is RequestState.APPROVED
    assert (decided.decided_by, decided.decided_at, decided.updated_at) == (
        "approver-rs-1",
        LATER,
        LATER,
    )
    assert (decided.handling_code, decided.expires_at, decided.grant_nonce) == (
        "H1",
        EXPIRY,
        NONCE,
    )


def test_four_eyes_the_requester_cannot_decide() -> None:
    request = details(country="RO", requester="officer-ro-1")

    with pytest.raises(NotPermitted) as caught:
        approve(request, by="officer-ro-1", by_country="RO")

    assert caught.value.status == grpc.StatusCode.PERMISSION_DENIED


def test_only_the_owning_country_decides() -> None:
    with pytest.raises(NotPermitted):
        transitions.deny(details(), by="approver-bg-1", by_country="BG", at=LATER, reason="no")


def test_a_decision_is_taken_once() -> None:
    decided = approve(details())

    with pytest.raises(InvalidTransition) as caught:
        transitions.deny(decided, by="approver-rs-2", by_country="RS", at=LATER, reason="no")

    assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION


def test_an_approval_needs_a_code_and_a_future_expiry() -> None:
    with pytest.raises(ValueError):
        approve(details(), handling_code="")
    with pytest.raises(ValueError):
        approve(details(), expires_at=LATER)


def test_a_denial_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        transitions.deny(details(), by="approver-rs-1", by_country="RS", at=LATER, reason=" ")


def test_reveal_once_by_the_requester_before_expiry() -> None:
    decided = approve(details())

    with pytest.raises(NotPermitted):
        transitions.reveal(decided, by="officer-bg-3", at=LATER)
    with pytest.raises(InvalidTransition):
        transitions.reveal(decided, by=decided.requester, at=EXPIRY)
    revealed = transitions.reveal(decided, by=decided.requester, at=LATER)
    assert (revealed.state, revealed.revealed_at) == (RequestState.REVEALED, LATER)
    with pytest.raises(InvalidTransition, match="already revealed"):
        transitions.reveal(revealed, by=decided.requester, at=LATER)


def test_a_pending_or_denied_request_cannot_be_revealed() -> None:
    request = details()
    denied = transitions.deny(request, by="approver-rs-1", by_country="RS", at=LATER, reason="no")

    for state in (request, denied):
        with pytest.raises(InvalidTransition):
            transitions.reveal(state, by=request.requester, at=LATER)


def test_an_unrevealed_approval_expires() -> None:
    decided = approve(details())

    with pytest.raises(InvalidTransition):
        transitions.expire(decided, at=LATER)
    assert transitions.expire(decided, at=EXPIRY).state is RequestState.EXPIRED
    with pytest.raises(InvalidTransition):
        transitions.expire(details(), at=EXPIRY)


def test_only_the_requester_withdraws_and_not_after_the_reveal() -> None:
    request = details()

    with pytest.raises(NotPermitted):
        transitions.withdraw(request, by="approver-rs-1", at=LATER)
    assert transitions.withdraw(request, by=request.requester, at=LATER).state is (
        RequestState.WITHDRAWN
    )
    revealed = transitions.reveal(approve(request), by=request.requester, at=LATER)
    with pytest.raises(InvalidTransition):
        transitions.withdraw(revealed, by=request.requester, at=LATER)


# ---------------------------------------------------------------- RequestQuery


def test_overdue_implies_pending() -> None:
    late = T0 + timedelta(days=1)

    assert RequestQuery.build(overdue_at=late).states == (RequestState.PENDING,)
    assert RequestQuery.build(overdue_at=late, states={RequestState.DENIED}).matches_nothing
    assert RequestQuery.build(states=[]).matches_nothing


def test_newest_first_breaks_ties_by_id() -> None:
    same = [details(created=T0) for _ in range(3)]
    newer = details(created=LATER)

    ordered = newest_first([*same, newer])

    assert ordered[0] == newer
    assert [r.request_id for r in ordered[1:]] == sorted(r.request_id for r in same)


# ---------------------------------------------------------------- AuditRecord


def test_a_record_is_normalised() -> None:
    made = record(0, countries=["RS", "BG"], at=datetime(2025, 3, 1, 8, tzinfo=UTC))

    assert made.countries == ("RS", "BG")
    assert made.at.tzinfo == UTC


@pytest.mark.parametrize(
    "change",
    [
        {"at": T0.replace(tzinfo=None)},
        {"actor": ""},
        {"actor": "officer\n2"},
        {"actor_country": "Romania"},
        {"action": "delete"},
        {"outcome": "Hit!"},
        {"countries": "RS"},
        {"countries": ("rs",)},
        {"blind_keys": (f"person.name:{SECRET_NAME}",)},
        {"blind_keys": ("person.fold:abc",)},
        {"request_id": "r-1"},
        {"detail": "x" * 501},
        {"purpose": "nul\x00"},
        {"purpose": "lone \ud800 surrogate"},
    ],
)
def test_a_malformed_record_is_refused_without_repeating_it(change: dict[str, object]) -> None:
    with pytest.raises(ValueError) as caught:
        record(0, **change)

    assert SECRET_NAME not in str(caught.value)


def test_a_refused_caller_of_unknown_country_can_be_recorded() -> None:
    made = AuditRecord(
        at=T0, actor="unknown-peer", actor_country="", action="refused", outcome="unauthenticated"
    )

    assert made.actor_country == ""


def test_stored_events_round_trip_and_are_read_strictly() -> None:
    (event,) = chain([record(0)])
    stored = event_fields(event)

    assert set(stored) == set(EVENT_FIELDS)
    assert event_from_fields(stored) == event
    with pytest.raises(ValueError):
        event_from_fields({**stored, "name": SECRET_NAME})
    with pytest.raises(ValueError):
        event_from_fields({**stored, "countries": '["RS"]'})
    with pytest.raises(ValueError):
        event_from_fields({k: v for k, v in stored.items() if k != "hash"})


def test_times_are_fixed_width_utc() -> None:
    text = format_time(datetime(2025, 3, 1, 8, tzinfo=timezone(timedelta(hours=2))))

    assert text == "2025-03-01T06:00:00.000000Z"
    assert parse_time(text) == T0
    with pytest.raises(ValueError):
        parse_time("2025-03-01T06:00:00+00:00")
