"""Issue 7's fault "a node returns references it never issued", through both steps.

The broker refuses whole answers whose references it can tell are wrong (malformed,
another country's, repeated; see test_node_faults), but a well-formed reference with the
node's own prefix that the node never issued it cannot prove false. What it can do, and
what these tests hold it to: beside the live answer it has the country's publication in
the reference index, so a live HIT whose hits the publication lacks for the search's keys
is flagged in the country's detail with the count (the status stays HIT: records
imported since the publication are legitimate); and at step two the owning node refuses
the reference, so the officer who requested, got approval and revealed sees NOT_FOUND
with "the owning state holds no such record", nothing is released, the request is not
marked revealed, and the audit chain records the failed reveal and still verifies.

Everything is real (mTLS, tokens, grants, both index backends, the request store and
audit log) except RS, which is `tests.faults.faulty_node`: a real node whose Match answer
gets one invented own-country reference beside the real hit, on demand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from broker.config import IndexSettings, SecuritySettings
from broker.server import start_broker
from connectors.node import make_keyer, open_store, start_node
from connectors.publisher import BrokerAccess, publish
from connectors.release import ReleaseLedger
from selec.cli.keys_cmd import create_demo_security
from selec.tls import files_for, node_name
from selec.v1 import audit_pb2, broker_pb2, requests_pb2
from tests.faults.faulty_node import Fault, FaultyNode, start_faulty_node
from tests.federation import broker_settings, node_settings, seed_node
from tests.index.conftest import opensearch_prefixes, opensearch_url  # noqa: F401
from tests.secure import JOVAN, SecureFederation, make_tokens, secure_channel

pytestmark = pytest.mark.integration

Code = grpc.StatusCode
HIT = broker_pb2.COUNTRY_STATUS_HIT
FLAG = "not in its publication of"
NO_SUCH_RECORD = "the owning state holds no such record"


@pytest.fixture(params=["sqlite", "opensearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> IndexSettings:
    """Index settings of each backend in turn (the OpenSearch half on the real node)."""
    if request.param == "sqlite":
        return IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    new_prefix: Callable[[], str] = request.getfixturevalue("opensearch_prefixes")
    url: str = request.getfixturevalue("opensearch_url")
    return IndexSettings("opensearch", opensearch_url=url, prefix=new_prefix())


@dataclass
class Spoiled:
    """A secure federation whose RS is a faulty node (real BG beside it)."""

    fed: SecureFederation
    rs: FaultyNode

    @property
    def rs_database(self) -> Path:
        return node_settings("RS", self.fed.pki.parent).database

    async def publish_rs(self) -> dt.datetime:
        """Publish RS's records as its node does (mTLS, its token); the publication's as_of."""
        settings = node_settings("RS", self.fed.pki.parent)
        access = BrokerAccess(
            files_for(self.fed.pki, node_name("RS")).channel_credentials(),
            self.fed.tokens["node.rs"],
        )
        reply = await asyncio.to_thread(
            publish,
            open_store(settings),
            "RS",
            make_keyer(settings).scheme.version,
            self.fed.broker.address,
            30.0,
            access=access,
        )
        return reply.as_of.ToDatetime(tzinfo=dt.UTC)

    async def search(self) -> tuple[dict[str, broker_pb2.CountryAnswer], broker_pb2.SearchSummary]:
        """Search Jovan in RS and BG as officer.gr; each streamed answer matches the summary."""
        request = broker_pb2.SearchRequest(
            criteria=JOVAN, purpose="investigation", legal_basis="SELEC art. 2"
        )
        answers, summary = {}, None
        async for event in self.fed.search_stub.Search(
            request, timeout=10, metadata=self.fed.auth("officer.gr")
        ):
            if event.HasField("answer"):
                answers[event.answer.result.country] = event.answer
            else:
                summary = event.summary
        assert summary is not None
        for result in summary.results:
            assert answers[result.country].result.detail == result.detail
            assert answers[result.country].result.status == result.status
        return answers, summary

    def flagged(self) -> float:
        metric = self.fed.broker.metrics.unpublished_hits.labels("RS")
        return metric._value.get()


@pytest.fixture
async def spoiled(tmp_path: Path, backend: IndexSettings) -> AsyncIterator[Spoiled]:
    """What tests.secure.start_secure_federation starts, with RS a faulty node (no fault yet)."""
    pki = tmp_path / "pki"
    create_demo_security(tmp_path)

    def settings(country: str):
        configured = replace(
            node_settings(country, tmp_path),
            tls=files_for(pki, node_name(country)),
            broker_public_key=pki / "grant-signing.pub",
        )
        seed_node(configured, 30)
        return configured

    rs = await start_faulty_node(settings("RS"), Fault.NONE)
    bg = await start_node(settings("BG"))
    broker = await start_broker(
        replace(
            broker_settings({"RS": rs.address, "BG": bg.address}, index=backend),
            security=SecuritySettings(
                tls=files_for(pki, "broker"),
                token_public_key=pki / "token-issuer.pub",
                grant_signing_key=pki / "grant-signing.key",
            ),
        )
    )
    fed = SecureFederation(
        pki, {"BG": bg}, broker, secure_channel(pki, broker.address), make_tokens(pki), backend
    )
    try:
        yield Spoiled(fed, rs)
    finally:
        await fed.close()
        await rs.stop(0)


def rs_of(
    answers: dict[str, broker_pb2.CountryAnswer], summary: broker_pb2.SearchSummary
) -> tuple[broker_pb2.CountryResult, list[str]]:
    """RS's summary line and its streamed hits' references."""
    result = next(r for r in summary.results if r.country == "RS")
    return result, [h.reference for h in answers["RS"].hits]


async def test_a_hit_its_publication_lacks_is_flagged_and_stays_a_hit(spoiled: Spoiled) -> None:
    # Not published yet: there is nothing to check against, and nothing is said.
    spoiled.rs.connector.fault = Fault.EXTRA_NEVER_ISSUED
    rs, references = rs_of(*await spoiled.search())
    assert rs.status == HIT and len(references) == 2 and FLAG not in rs.detail, rs

    as_of = (await spoiled.publish_rs()).isoformat(timespec="seconds")

    # A clean node's HIT, checked against its publication: no note.
    spoiled.rs.connector.fault = Fault.NONE
    answers, summary = await spoiled.search()
    clean, real = rs_of(answers, summary)
    assert clean.status == HIT and real, clean
    assert clean.detail == "", clean
    assert spoiled.flagged() == 0

    # One real hit plus one the node never issued: still HIT, both passed on, the count said.
    spoiled.rs.connector.fault = Fault.EXTRA_NEVER_ISSUED
    answers, summary = await spoiled.search()
    rs, references = rs_of(answers, summary)
    assert rs.status == HIT and rs.hit_count == len(real) + 1, rs
    assert references[: len(real)] == real
    invented = references[-1]
    assert invented.startswith("RS-") and invented not in real
    assert rs.detail == (
        f"1 of {len(real) + 1} hits is not in its publication of {as_of} "
        "(recorded since, or not issued by it)"
    ), rs.detail
    assert invented not in rs.detail and "Jovan" not in rs.detail
    assert spoiled.flagged() == 1
    bg = next(r for r in summary.results if r.country == "BG")
    assert FLAG not in bg.detail

    # Repaired: the note goes with the fault.
    spoiled.rs.connector.fault = Fault.NONE
    rs, references = rs_of(*await spoiled.search())
    assert rs.status == HIT and references == real and rs.detail == "", rs
    assert spoiled.flagged() == 1


async def test_step_two_refuses_the_reference_the_node_never_issued(spoiled: Spoiled) -> None:
    await spoiled.publish_rs()
    spoiled.rs.connector.fault = Fault.EXTRA_NEVER_ISSUED
    answers, summary = await spoiled.search()
    rs, references = rs_of(answers, summary)
    assert rs.status == HIT and FLAG in rs.detail, rs
    real, invented = references[0], references[-1]
    fed = spoiled.fed

    pending = await fed.request_details(invented)  # the broker cannot tell: the node can
    assert pending.state == requests_pb2.REQUEST_STATE_PENDING
    approved = await fed.approve(pending.request_id)
    assert approved.state == requests_pb2.REQUEST_STATE_APPROVED

    for _ in range(2):  # a retry is told the same, and changes nothing
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await fed.reveal(pending.request_id)
        assert refused.value.code() == Code.NOT_FOUND, refused.value
        assert NO_SUCH_RECORD in (refused.value.details() or ""), refused.value.details()
        assert "nothing was released" in (refused.value.details() or "")
    assert spoiled.rs.connector.calls["Release"] == 2
    assert ReleaseLedger(spoiled.rs_database).count() == 0
    mine = await fed.requests.ListRequests(
        requests_pb2.ListRequestsRequest(mine=True), timeout=5, metadata=fed.auth("officer.gr")
    )
    (listed,) = [r for r in mine.requests if r.request_id == pending.request_id]
    assert listed.state == requests_pb2.REQUEST_STATE_APPROVED

    # The node itself is fine: the real hit's reveal goes through.
    good = await fed.request_details(real)
    await fed.approve(good.request_id)
    revealed = await fed.reveal(good.request_id)
    assert revealed.reference == real and revealed.fields
    assert ReleaseLedger(spoiled.rs_database).count() == 1

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
    failed = [e for e in events if e.action == "refused" and e.request_id == pending.request_id]
    assert len(failed) == 2 and all(e.outcome == "reveal" for e in failed), failed
    assert all(NO_SUCH_RECORD in e.detail and e.reference == invented for e in failed)
    reveals = [e for e in events if e.action == "reveal"]
    assert [e.request_id for e in reveals] == [good.request_id]
    text = " ".join(str(e) for e in events)
    assert "Jovan" not in text and "Petrovic" not in text and "1985" not in text
