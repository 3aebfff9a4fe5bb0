"""Step two over real mTLS, real tokens and real stores: request, approve, reveal, audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from prometheus_client import generate_latest

from broker.config import IndexSettings
from broker.grants import GrantSigner
from connectors.release import ReleaseLedger
from selec.tokens import issue_token, load_private_key, new_signing_key
from selec.v1 import audit_pb2, broker_pb2, connector_pb2, connector_pb2_grpc, requests_pb2
from tests.integration.test_operations import promtool_problems
from tests.secure import JOVAN, SecureFederation, start_secure_federation

pytestmark = pytest.mark.integration

Code = grpc.StatusCode


@pytest.fixture
async def fed(tmp_path: Path, backend: IndexSettings) -> AsyncIterator[SecureFederation]:
    federation = await start_secure_federation(tmp_path, backend)
    yield federation
    await federation.close()


async def code_of(call: Awaitable[object]) -> Code:
    try:
        result = await call
        if hasattr(result, "__aiter__"):
            async for _ in result:  # type: ignore[attr-defined]
                pass
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return Code.OK


async def stream_code(call: object) -> Code:
    try:
        async for _ in call:  # type: ignore[attr-defined]
            pass
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return Code.OK


async def test_the_whole_journey_and_a_clean_audit_chain(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    pending = await fed.request_details(reference)
    assert pending.state == requests_pb2.REQUEST_STATE_PENDING
    assert pending.requester == "officer.gr" and pending.country == "RS"
    listed = await fed.requests.ListRequests(
        requests_pb2.ListRequestsRequest(pending_for_my_country=True),
        timeout=5,
        metadata=fed.auth("approver.rs"),
    )
    assert [r.request_id for r in listed.requests] == [pending.request_id]
    approved = await fed.approve(pending.request_id)
    assert approved.state == requests_pb2.REQUEST_STATE_APPROVED
    assert approved.handling_code == requests_pb2.HANDLING_CODE_H1
    revealed = await fed.reveal(pending.request_id)
    assert revealed.fields["given"] == "Јован" and revealed.fields["family"] == "Петровић"
    assert revealed.handling_code == requests_pb2.HANDLING_CODE_H1
    assert await code_of(fed.reveal(pending.request_id)) == Code.FAILED_PRECONDITION
    mine = await fed.requests.ListRequests(
        requests_pb2.ListRequestsRequest(mine=True), timeout=5, metadata=fed.auth("officer.gr")
    )
    assert mine.requests[0].state == requests_pb2.REQUEST_STATE_REVEALED
    assert ReleaseLedger(fed.nodes["RS"].settings.database).count() == 1
    verdict = await fed.audit.VerifyAudit(
        audit_pb2.VerifyAuditRequest(), timeout=30, metadata=fed.auth("auditor.ro")
    )
    assert verdict.ok, verdict.problem
    events = [
        e
        async for e in fed.audit.ExportAudit(
            audit_pb2.ExportAuditRequest(), timeout=30, metadata=fed.auth("auditor.ro")
        )
    ]
    actions = [e.action for e in events]
    for action in ("search", "hit", "request", "decision", "reveal", "refused"):
        assert action in actions, action
    search = next(e for e in events if e.action == "search")
    assert search.actor == "officer.gr" and search.actor_country == "GR"
    assert search.purpose == "investigation" and search.legal_basis == "SELEC art. 2"
    assert search.blind_keys and all(":" in k for k in search.blind_keys)
    text = " ".join(str(e) for e in events)
    assert "Jovan" not in text and "Petrovic" not in text and "1985" not in text
    officers = [
        e
        async for e in fed.audit.ExportAudit(
            audit_pb2.ExportAuditRequest(officer="approver.rs"),
            timeout=30,
            metadata=fed.auth("auditor.ro"),
        )
    ]
    assert officers and {e.actor for e in officers} == {"approver.rs"}


async def test_decisions_follow_the_rules(fed: SecureFederation) -> None:
    reference = await fed.hit_reference(person="officer-approver.rs")
    own = await fed.request_details(reference, person="officer-approver.rs")
    # Four eyes: the requester cannot decide, even as an approver of the owning country.
    assert (
        await code_of(fed.approve(own.request_id, "officer-approver.rs")) == Code.PERMISSION_DENIED
    )
    # Only an approver of the owning country; to any other the request does not exist.
    assert await code_of(fed.approve(own.request_id, "approver.bg")) == Code.NOT_FOUND
    # Approval needs a handling code; H3 needs its note; denial needs a reason.
    for decide in (
        requests_pb2.DecideRequest(request_id=own.request_id, approve=True),
        requests_pb2.DecideRequest(
            request_id=own.request_id, approve=True, handling_code=requests_pb2.HANDLING_CODE_H3
        ),
        requests_pb2.DecideRequest(request_id=own.request_id, approve=False),
    ):
        assert (
            await code_of(fed.requests.Decide(decide, timeout=5, metadata=fed.auth("approver.rs")))
            == Code.INVALID_ARGUMENT
        )
    denied = await fed.requests.Decide(
        requests_pb2.DecideRequest(
            request_id=own.request_id, approve=False, reason="not proportionate"
        ),
        timeout=5,
        metadata=fed.auth("approver.rs"),
    )
    assert denied.state == requests_pb2.REQUEST_STATE_DENIED
    assert await code_of(fed.approve(own.request_id, "approver2.rs")) == Code.FAILED_PRECONDITION
    assert (
        await code_of(fed.reveal(own.request_id, "officer-approver.rs")) == Code.FAILED_PRECONDITION
    )


async def test_purpose_and_legal_basis_are_mandatory(fed: SecureFederation) -> None:
    for purpose, basis in (("", "x"), ("x", "")):
        call = fed.requests.RequestDetails(
            requests_pb2.RequestDetailsRequest(
                country="RS", reference="RS-ABC", purpose=purpose, legal_basis=basis
            ),
            timeout=5,
            metadata=fed.auth("officer.gr"),
        )
        assert await code_of(call) == Code.INVALID_ARGUMENT


async def test_withdraw_and_only_the_requester_reveals(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    first = await fed.request_details(reference)
    await fed.approve(first.request_id)
    # To anyone but its requester (and the owning country's approvers) it does not exist.
    assert await code_of(fed.reveal(first.request_id, "officer2.gr")) == Code.NOT_FOUND
    assert await code_of(fed.reveal(first.request_id, "officer.rs")) == Code.NOT_FOUND
    second = await fed.request_details(reference)
    withdraw = requests_pb2.WithdrawRequest(request_id=second.request_id)
    assert (
        await code_of(fed.requests.Withdraw(withdraw, timeout=5, metadata=fed.auth("officer2.gr")))
        == Code.NOT_FOUND
    )
    done = await fed.requests.Withdraw(withdraw, timeout=5, metadata=fed.auth("officer.gr"))
    assert done.state == requests_pb2.REQUEST_STATE_WITHDRAWN
    assert await code_of(fed.approve(second.request_id)) == Code.FAILED_PRECONDITION


async def test_expired_approval_cannot_be_revealed(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    pending = await fed.request_details(reference)
    await fed.approve(pending.request_id)
    store = fed.broker.requests
    assert store is not None
    current = await asyncio.to_thread(store.get, pending.request_id)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await asyncio.to_thread(store.update, replace(current, expires_at=past), current.version)
    assert await code_of(fed.reveal(pending.request_id)) == Code.FAILED_PRECONDITION
    after = await asyncio.to_thread(store.get, pending.request_id)
    assert after.state.value == "expired"


async def test_a_pending_request_survives_a_broker_restart(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    pending = await fed.request_details(reference)
    await fed.restart_broker()
    listed = await fed.requests.ListRequests(
        requests_pb2.ListRequestsRequest(pending_for_my_country=True),
        timeout=5,
        metadata=fed.auth("approver.rs"),
    )
    assert pending.request_id in [r.request_id for r in listed.requests]
    await fed.approve(pending.request_id)
    revealed = await fed.reveal(pending.request_id)
    assert revealed.reference == reference


async def test_two_brokers_racing_one_decision(tmp_path: Path, backend: IndexSettings) -> None:
    first = await start_secure_federation(tmp_path, backend)
    second = await start_secure_federation(tmp_path, backend, pki=first.pki)
    try:
        reference = await first.hit_reference()
        for _ in range(20):
            pending = await first.request_details(reference)
            listed = await second.requests.ListRequests(
                requests_pb2.ListRequestsRequest(pending_for_my_country=True),
                timeout=5,
                metadata=second.auth("approver2.rs"),
            )
            assert pending.request_id in [r.request_id for r in listed.requests]
            codes = await asyncio.gather(
                code_of(first.approve(pending.request_id, "approver.rs")),
                code_of(second.approve(pending.request_id, "approver2.rs")),
            )
            assert sorted(codes, key=str) == sorted([Code.OK, Code.FAILED_PRECONDITION], key=str)
    finally:
        await second.close()
        await first.close()


def forged_release(grant: connector_pb2.Grant) -> connector_pb2.ReleaseRequest:
    return GrantSigner(new_signing_key()).sign(grant)


async def test_the_node_refuses_forged_expired_replayed_and_retargeted_grants(
    fed: SecureFederation,
) -> None:
    reference = await fed.hit_reference()
    signer = GrantSigner(load_private_key(fed.pki / "grant-signing.key"))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    rs = fed.broker.clients["RS"]
    bg = fed.broker.clients["BG"]

    def grant(**changes: object) -> tuple[connector_pb2.Grant, connector_pb2.ReleaseRequest]:
        fields = dict(
            request_id="f" * 32,
            country="RS",
            reference=reference,
            requester="officer.gr",
            requester_country="GR",
            expires_at=later,
            handling_code="H0",
            handling_note="",
            purpose="test",
        )
        fields.update(changes)
        return signer.grant(**fields)  # type: ignore[arg-type]

    genuine, signed = grant()
    released = await rs.release(signed, 5)
    assert released.reference == reference
    # The same grant again is served again (its first answer may have been lost: see
    # connectors/release.py); its nonce in any other grant is refused.
    assert await rs.release(signed, 5) == released
    cases: list[tuple[str, connector_pb2.ReleaseRequest, Callable[[], object], str]] = [
        (
            "replayed",
            grant(nonce=genuine.nonce, request_id="e" * 32)[1],
            lambda: rs,
            "already used",
        ),
        ("forged", forged_release(grant()[0]), lambda: rs, "signature invalid"),
        (
            "expired",
            grant(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))[1],
            lambda: rs,
            "expired",
        ),
        ("re-targeted", grant(country="RS")[1], lambda: bg, "another country"),
    ]
    tampered = connector_pb2.ReleaseRequest(
        grant=genuine.SerializeToString().replace(b"officer.gr", b"officer.xx"),
        signature=signed.signature,
    )
    cases.append(("tampered", tampered, lambda: rs, "signature invalid"))
    for name, request, client, message in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client().release(request, 5)  # type: ignore[attr-defined]
        assert caught.value.code() == Code.PERMISSION_DENIED, name
        assert message in caught.value.details(), name
    assert ReleaseLedger(fed.nodes["RS"].settings.database).count() == 1


async def test_nodes_accept_only_the_brokers_certificate(fed: SecureFederation) -> None:
    address = fed.nodes["RS"].address
    ca = (fed.pki / "ca.pem").read_bytes()
    anonymous = grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(ca))
    async with anonymous:
        stub = connector_pb2_grpc.ConnectorServiceStub(anonymous)
        code = await code_of(stub.Describe(connector_pb2.DescribeRequest(), timeout=3))
    assert code == Code.UNAVAILABLE  # the TLS handshake fails without a client certificate
    node_cert = grpc.ssl_channel_credentials(
        ca, (fed.pki / "node-bg.key").read_bytes(), (fed.pki / "node-bg.pem").read_bytes()
    )
    async with grpc.aio.secure_channel(address, node_cert) as impostor:
        stub = connector_pb2_grpc.ConnectorServiceStub(impostor)
        signer = GrantSigner(load_private_key(fed.pki / "grant-signing.key"))
        _, signed = signer.grant(
            request_id="e" * 32,
            country="RS",
            reference="RS-X",
            requester="o",
            requester_country="GR",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            handling_code="H0",
            handling_note="",
            purpose="t",
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Release(signed, timeout=3)
    assert caught.value.code() == Code.PERMISSION_DENIED
    assert "only the broker" in caught.value.details()


async def test_audit_tamper_is_detected(tmp_path: Path) -> None:
    index = IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    fed = await start_secure_federation(tmp_path, index)
    try:
        reference = await fed.hit_reference()
        pending = await fed.request_details(reference)
        await fed.approve(pending.request_id)
        await fed.reveal(pending.request_id)

        async def verify() -> audit_pb2.VerifyAuditResponse:
            return await fed.audit.VerifyAudit(
                audit_pb2.VerifyAuditRequest(), timeout=30, metadata=fed.auth("auditor.ro")
            )

        assert (await verify()).ok
        path = index.sqlite_beside("audit")
        assert path is not None
        with sqlite3.connect(path) as db:
            # Someone with the file drops the append-only guards and edits one event.
            for (trigger,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall():
                db.execute(f"DROP TRIGGER {trigger}")
            db.execute("UPDATE audit_events SET outcome = 'approved' WHERE seq = 3")
        verdict = await verify()
        assert not verdict.ok
        assert verdict.at_seq == 3 and verdict.problem
    finally:
        await fed.close()


IDENTITIES = ["officer.gr", "approver.rs", "auditor.ro", "admin.ro", "node.rs"]


async def test_authorization_matrix(fed: SecureFederation) -> None:
    """Every RPC × every role × own/other country, each with its exact status code."""
    reference = await fed.hit_reference()
    search = broker_pb2.SearchRequest(
        criteria=JOVAN, purpose="p", legal_basis="b", countries=["RS"]
    )

    async def fresh_request(requester: str = "officer.gr") -> str:
        return (await fed.request_details(reference, person=requester)).request_id

    async def approved_request() -> str:
        request_id = await fresh_request()
        await fed.approve(request_id)
        return request_id

    async def call(rpc: str, who: str) -> Code:
        meta = fed.auth(who)
        if rpc == "Search":
            return await stream_code(fed.search_stub.Search(search, timeout=5, metadata=meta))
        if rpc == "GetStatus":
            return await code_of(
                fed.search_stub.GetStatus(broker_pb2.GetStatusRequest(), timeout=5, metadata=meta)
            )
        if rpc == "Publish":
            header = broker_pb2.PublishRequest(
                header=broker_pb2.PublishHeader(country="RS", scheme_version="wrong")
            )
            return await code_of(fed.search_stub.Publish(iter([header]), timeout=5, metadata=meta))
        if rpc == "RequestDetails":
            return await code_of(
                fed.requests.RequestDetails(
                    requests_pb2.RequestDetailsRequest(
                        country="RS", reference=reference, purpose="p", legal_basis="b"
                    ),
                    timeout=5,
                    metadata=meta,
                )
            )
        if rpc == "ListRequests":
            return await code_of(
                fed.requests.ListRequests(
                    requests_pb2.ListRequestsRequest(), timeout=5, metadata=meta
                )
            )
        if rpc == "Decide":
            return await code_of(
                fed.requests.Decide(
                    requests_pb2.DecideRequest(
                        request_id=await fresh_request(),
                        approve=True,
                        handling_code=requests_pb2.HANDLING_CODE_H0,
                    ),
                    timeout=5,
                    metadata=meta,
                )
            )
        if rpc == "Withdraw":
            return await code_of(
                fed.requests.Withdraw(
                    requests_pb2.WithdrawRequest(request_id=await fresh_request()),
                    timeout=5,
                    metadata=meta,
                )
            )
        if rpc == "Reveal":
            return await code_of(
                fed.requests.Reveal(
                    requests_pb2.RevealRequest(request_id=await approved_request()),
                    timeout=5,
                    metadata=meta,
                )
            )
        if rpc == "ExportAudit":
            return await stream_code(
                fed.audit.ExportAudit(audit_pb2.ExportAuditRequest(), timeout=5, metadata=meta)
            )
        return await code_of(
            fed.audit.VerifyAudit(audit_pb2.VerifyAuditRequest(), timeout=5, metadata=meta)
        )

    D, OK = Code.PERMISSION_DENIED, Code.OK
    expected = {
        # rpc: officer.gr, approver.rs (owning country), auditor, admin, node.rs
        "Search": [OK, D, D, D, D],
        "GetStatus": [D, D, D, OK, D],
        "Publish": [D, D, D, Code.FAILED_PRECONDITION, Code.FAILED_PRECONDITION],
        "RequestDetails": [OK, D, D, D, D],
        "ListRequests": [OK, OK, D, D, D],
        "Decide": [D, OK, D, D, D],
        "Withdraw": [OK, D, D, D, D],
        "Reveal": [OK, D, D, D, D],
        "ExportAudit": [D, D, OK, D, D],
        "VerifyAudit": [D, D, OK, D, D],
    }
    found = {rpc: [await call(rpc, who) for who in IDENTITIES] for rpc in expected}
    assert found == expected
    # Other country: an approver of BG may not decide RS's request; an officer of another
    # country may not withdraw or reveal someone else's (to them, it does not exist:
    # NOT_FOUND, as for an unknown id); a node publishes only its own.
    other = {
        "Decide": await call("Decide", "approver.bg"),
        "Withdraw": await call("Withdraw", "officer.rs"),
        "Reveal": await call("Reveal", "officer.rs"),
    }
    assert other == {"Decide": Code.NOT_FOUND, "Withdraw": Code.NOT_FOUND, "Reveal": Code.NOT_FOUND}
    header = broker_pb2.PublishRequest(header=broker_pb2.PublishHeader(country="BG"))
    assert (
        await code_of(
            fed.search_stub.Publish(iter([header]), timeout=5, metadata=fed.auth("node.rs"))
        )
        == D
    )
    # Tokens: none, forged, expired, wrong audience -> UNAUTHENTICATED everywhere.
    forged = issue_token(new_signing_key(), "officer.gr", "GR", ["officer"])
    issuer = load_private_key(fed.pki / "token-issuer.key")
    expired = issue_token(
        issuer, "officer.gr", "GR", ["officer"], now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=9)
    )
    wrong_audience = issue_token(issuer, "officer.gr", "GR", ["officer"], audience="elsewhere")
    for token in (forged, expired, wrong_audience, "not-a-token"):
        code = await stream_code(
            fed.search_stub.Search(
                search, timeout=5, metadata=(("authorization", f"Bearer {token}"),)
            )
        )
        assert code == Code.UNAUTHENTICATED
    assert await stream_code(fed.search_stub.Search(search, timeout=5)) == Code.UNAUTHENTICATED


async def test_overdue_requests_are_listed_and_counted(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    late = await fed.request_details(reference)
    await fed.request_details(reference)  # a second one, within its deadline
    store = fed.broker.requests
    assert store is not None
    current = await asyncio.to_thread(store.get, late.request_id)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    earlier = replace(
        current, created_at=past - dt.timedelta(hours=48), deadline_at=past, updated_at=past
    )
    await asyncio.to_thread(store.update, earlier, current.version)
    overdue = await fed.requests.ListRequests(
        requests_pb2.ListRequestsRequest(pending_for_my_country=True, overdue=True),
        timeout=5,
        metadata=fed.auth("approver.rs"),
    )
    assert [r.request_id for r in overdue.requests] == [late.request_id]
    assert overdue.requests[0].overdue
    text = generate_latest(fed.broker.metrics.registry).decode()
    assert 'selec_requests_overdue{country="RS"} 1.0' in text
    assert 'selec_requests_total{country="RS",state="pending"} 2.0' in text


async def test_workflow_metrics_after_the_journey(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    pending = await fed.request_details(reference)
    await fed.approve(pending.request_id)
    await fed.reveal(pending.request_id)
    text = generate_latest(fed.broker.metrics.registry).decode()
    for line in (
        'selec_requests_total{country="RS",state="approved"} 1.0',
        'selec_requests_total{country="RS",state="revealed"} 1.0',
        'selec_reveals_total{country="RS",outcome="released"} 1.0',
    ):
        assert line in text
    problems = await asyncio.to_thread(promtool_problems, text)
    assert problems == ""


async def test_a_screening_is_audited_like_a_search(fed: SecureFederation) -> None:
    messages = [
        broker_pb2.ScreenRequest(
            header=broker_pb2.ScreenHeader(
                purpose="border check", legal_basis="SELEC art. 2", countries=["RS", "BG"]
            )
        ),
        broker_pb2.ScreenRequest(subject=broker_pb2.ScreenSubject(subject_id="1", criteria=JOVAN)),
    ]
    events = [
        e
        async for e in fed.search_stub.Screen(
            iter(messages), timeout=10, metadata=fed.auth("officer.gr")
        )
    ]
    assert events[-1].summary.subjects_with_hits == 1
    audit = [
        e
        async for e in fed.audit.ExportAudit(
            audit_pb2.ExportAuditRequest(), timeout=30, metadata=fed.auth("auditor.ro")
        )
    ]
    screening = [e for e in audit if e.action == "search" and "screening" in e.detail]
    assert len(screening) == 1
    assert screening[0].purpose == "border check" and screening[0].actor == "officer.gr"
    hits = [e for e in audit if e.action == "hit" and e.search_id == screening[0].search_id]
    assert {e.countries[0] for e in hits} == {"RS", "BG"}
