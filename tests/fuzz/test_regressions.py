"""Bugs the fuzzers found, each pinned by the smallest request that showed it."""

from __future__ import annotations

from dataclasses import replace

import grpc
import pytest

from selec.tokens import issue_token, load_private_key
from selec.v1 import audit_pb2, broker_pb2, connector_pb2, requests_pb2
from tests.fuzz.contract import problems
from tests.fuzz.harness import Running, _publish, call
from tests.secure import JOVAN

pytestmark = pytest.mark.integration


def test_a_refused_search_with_odd_countries_and_purpose_is_audited(running: Running) -> None:
    """Was UNKNOWN: the refusal's audit event took the raw countries ('rs', 'x\\x00') and
    purpose (control characters), which the audit log rightly refuses to store."""
    secure = running.secure
    request = broker_pb2.SearchRequest(
        criteria=JOVAN, purpose="case\x01 17", legal_basis="SELEC", countries=[" rs", "x\x00"]
    )
    outcome = call(
        running.channels["secure-broker"],
        "/selec.v1.BrokerService/Search",
        request,
        secure.auth("officer2.gr"),
    )
    assert outcome.code == grpc.StatusCode.INVALID_ARGUMENT, outcome
    assert not problems(outcome)
    events = list(
        running.channels["secure-broker"].unary_stream(
            "/selec.v1.AuditService/ExportAudit",
            audit_pb2.ExportAuditRequest.SerializeToString,
            audit_pb2.AuditEvent.FromString,
        )(audit_pb2.ExportAuditRequest(officer="officer2.gr"), metadata=secure.auth("auditor.ro"))
    )
    refused = [e for e in events if e.action == "search" and e.outcome == "refused"]
    assert refused, "the refused search was not audited"
    assert list(refused[-1].countries) == ["RS"]
    assert refused[-1].purpose == "case? 17"


@pytest.mark.parametrize(("field", "seconds", "nanos"), [("since", 2**62, 0), ("until", 0, -5)])
def test_an_audit_export_out_of_time_range_is_invalid_argument(
    running: Running, field: str, seconds: int, nanos: int
) -> None:
    """Was UNKNOWN "Unexpected <class 'ValueError'>: Timestamp is not valid: ..."."""
    request = audit_pb2.ExportAuditRequest()
    getattr(request, field).seconds = seconds
    getattr(request, field).nanos = nanos
    outcome = call(
        running.channels["secure-broker"],
        "/selec.v1.AuditService/ExportAudit",
        request,
        running.secure.auth("auditor.ro"),
    )
    assert outcome.code == grpc.StatusCode.INVALID_ARGUMENT, outcome
    assert outcome.details.startswith(f"{field}: not a valid time")
    assert not problems(outcome)


@pytest.mark.parametrize(("seconds", "nanos"), [(2**62, 0), (10, -5), (-(2**63), 0)])
def test_a_publication_as_of_out_of_time_range_is_invalid_argument(
    running: Running, seconds: int, nanos: int
) -> None:
    """Was UNKNOWN "Unexpected <class 'ValueError'>: Timestamp is not valid: ..."."""
    stream = _publish(running)
    stream[0].header.as_of.seconds = seconds
    stream[0].header.as_of.nanos = nanos
    outcome = call(running.channels["plain-broker"], "/selec.v1.BrokerService/Publish", stream, ())
    assert outcome.code == grpc.StatusCode.INVALID_ARGUMENT, outcome
    assert outcome.details.startswith("header.as_of: not a valid time")
    assert not problems(outcome)


@pytest.mark.parametrize("officer", ["a\x00b", "\x00", " officer.gr", "officer\ngr", "x\u200b"])
def test_a_token_naming_an_unprintable_officer_is_unauthenticated(
    running: Running, officer: str
) -> None:
    """Was UNKNOWN "requester must be one line of 1..128 characters": a token signed for
    such an officer id got through, and the request store refused to filter by it."""
    issuer = load_private_key(running.secure.pki / "token-issuer.key")
    token = issue_token(issuer, officer, "GR", ["officer"])
    outcome = call(
        running.channels["secure-broker"],
        "/selec.v1.RequestService/ListRequests",
        requests_pb2.ListRequestsRequest(mine=True),
        (("authorization", f"Bearer {token}"),),
    )
    assert outcome.code == grpc.StatusCode.UNAUTHENTICATED, outcome
    assert outcome.details == "token names no officer"


def test_a_message_echoing_the_callers_own_sql_is_not_a_leak(running: Running) -> None:
    """The benchmark flagged MatchBatch's "key scheme '1 UNION SELECT * FROM records--' not
    served here": the caller's own scheme_version, quoted back. A leak is SQL the caller
    did not send."""
    request = connector_pb2.MatchBatchRequest(scheme_version="1 UNION SELECT * FROM records--")
    outcome = call(
        running.channels["plain-node-RS"], "/selec.v1.ConnectorService/MatchBatch", request, ()
    )
    assert outcome.code == grpc.StatusCode.FAILED_PRECONDITION, outcome
    assert not problems(outcome)
    assert problems(replace(outcome, sent=""))  # the same text, not sent by the caller
