"""The federation end to end over real gRPC: all nodes, a stopped one, a hanging one."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from broker.config import SuspensionPolicy
from connectors.importer import import_records
from connectors.node import make_keyer, open_store, start_node
from connectors.synthetic import DEMO_SUBJECTS
from selec.countries import MEMBER_STATES
from selec.v1 import broker_pb2, common_pb2
from tests.federation import (
    Federation,
    node_settings,
    person,
    seed_node,
    start_federation,
    start_hanging_node,
)

pytestmark = pytest.mark.integration

HIT = broker_pb2.COUNTRY_STATUS_HIT
NO_HIT = broker_pb2.COUNTRY_STATUS_NO_HIT
UNAVAILABLE = broker_pb2.COUNTRY_STATUS_UNAVAILABLE
TIMEOUT = broker_pb2.COUNTRY_STATUS_TIMEOUT
ERROR = broker_pb2.COUNTRY_STATUS_ERROR

JOVAN = person("Jovan", "Petrovic", "1985-03-14")


def statuses(summary: broker_pb2.SearchSummary) -> dict[str, int]:
    return {r.country: r.status for r in summary.results}


async def test_all_eleven_nodes_answer_and_rs_holds_jovan(federation: Federation) -> None:
    answers, summary = await federation.search(JOVAN)
    assert [r.country for r in summary.results] == list(MEMBER_STATES)
    assert sorted(a.result.country for a in answers) == sorted(MEMBER_STATES)
    found = statuses(summary)
    assert found["RS"] == HIT
    assert set(found.values()) <= {HIT, NO_HIT}, [(r.country, r.detail) for r in summary.results]
    rs = next(a for a in answers if a.result.country == "RS")
    assert rs.hits[0].kind == common_pb2.RECORD_KIND_PERSON
    assert rs.hits[0].category == common_pb2.CATEGORY_WANTED
    assert rs.hits[0].strength >= common_pb2.MATCH_STRENGTH_STRONG
    assert rs.hits[0].reference.startswith("RS-")
    assert rs.result.hit_count == len(rs.hits)
    assert summary.search_id


async def test_cyrillic_query_and_mrz_form_hit_the_same_reference(federation: Federation) -> None:
    forms = [
        person("Јован", "Петровић", "1985-03-14"),
        person("JOVAN", "PETROVIC", "1985-03-14"),
        person("Petrović", "Jovan", "1985-03-14"),
    ]
    references = set()
    for criteria in forms:
        answers, _ = await federation.search(criteria, countries=["RS"])
        assert answers[0].result.status == HIT, criteria
        references.add(answers[0].hits[0].reference)
    assert len(references) == 1


async def test_a_different_date_of_birth_is_no_hit(federation: Federation) -> None:
    _, summary = await federation.search(person("Jovan", "Petrovic", "1962-07-01"), ["RS"])
    assert statuses(summary) == {"RS": NO_HIT}


async def test_demo_subjects_are_found_in_their_own_country(federation: Federation) -> None:
    for subject in DEMO_SUBJECTS:
        record = subject["record"]
        if record["kind"] != "person":
            continue
        criteria = person(record["given"], record["family"], record.get("dob") or "")
        _, summary = await federation.search(criteria, [subject["country"]])
        assert statuses(summary)[subject["country"]] == HIT, record


async def test_stopped_node_is_unavailable_never_no_hit(federation: Federation) -> None:
    await federation.nodes["BG"].stop(0)
    answers, summary = await federation.search(JOVAN)
    found = statuses(summary)
    assert found["BG"] == UNAVAILABLE
    assert found["RS"] == HIT
    assert len(found) == 11
    bg = next(a for a in answers if a.result.country == "BG")
    assert bg.result.detail


async def test_hanging_node_times_out_while_others_answer_on_time(seeded_dir: Path) -> None:
    hanging, servicer = await start_hanging_node()
    countries = [c for c in MEMBER_STATES if c != "TR"]
    federation = await start_federation(
        seeded_dir,
        countries,
        extra_endpoints={"TR": f"127.0.0.1:{hanging.port}"},
        deadlines={"TR": 0.6},
    )
    federation.extra_servers.append(hanging)
    try:
        arrivals: dict[str, float] = {}
        started = time.monotonic()
        request = broker_pb2.SearchRequest(criteria=JOVAN, purpose="t", legal_basis="t")
        summary = None
        async for event in federation.stub.Search(request, timeout=10):
            if event.HasField("answer"):
                arrivals[event.answer.result.country] = time.monotonic() - started
            else:
                summary = event.summary
        assert summary is not None
        found = statuses(summary)
        assert found["TR"] == TIMEOUT
        assert found["RS"] == HIT
        # The others stream before the straggler's deadline; TR arrives last.
        assert max(v for c, v in arrivals.items() if c != "TR") < arrivals["TR"]
        assert arrivals["TR"] >= 0.6
        assert servicer.calls == 1
        # The straggler's call was cancelled, not abandoned.
        for _ in range(50):
            if servicer.cancelled:
                break
            await asyncio.sleep(0.02)
        assert servicer.cancelled == 1
    finally:
        await federation.close()


async def test_caller_deadline_caps_node_deadlines(seeded_dir: Path) -> None:
    hanging, _ = await start_hanging_node()
    federation = await start_federation(
        seeded_dir,
        ["RS"],
        extra_endpoints={"TR": f"127.0.0.1:{hanging.port}"},
        deadlines={"TR": 30.0},
    )
    federation.extra_servers.append(hanging)
    try:
        started = time.monotonic()
        _, summary = await federation.search(JOVAN, deadline=1.0)
        assert time.monotonic() - started < 1.0
        assert statuses(summary) == {"RS": HIT, "TR": TIMEOUT}
        # A timeout the caller imposed is not the node's fault: no suspension.
        assert federation.broker.clients["TR"].suspension.state().consecutive_failures == 0
    finally:
        await federation.close()


async def test_failing_node_is_suspended_then_resumed(seeded_dir: Path) -> None:
    federation = await start_federation(
        seeded_dir, ["RS", "BG"], suspension=SuspensionPolicy(2, 0.5, 4.0)
    )
    try:
        await federation.nodes["BG"].stop(0)
        for _ in range(2):
            answers, _ = await federation.search(JOVAN)
            bg = next(a for a in answers if a.result.country == "BG")
            assert bg.result.status == UNAVAILABLE
            assert "suspended" not in bg.result.detail
        _, summary = await federation.search(JOVAN)
        bg = next(r for r in summary.results if r.country == "BG")
        assert bg.status == UNAVAILABLE
        assert "suspended" in bg.detail
        # While suspended the node is not called at all: it answers instantly.
        assert bg.latency_seconds < 0.05
        await federation.restart_node("BG")
        await asyncio.sleep(0.6)
        _, summary = await federation.search(JOVAN)
        assert statuses(summary) == {"RS": HIT, "BG": HIT}
        assert not federation.broker.clients["BG"].suspension.state().suspended
    finally:
        await federation.close()


async def test_suspension_back_off_doubles_while_node_stays_down(seeded_dir: Path) -> None:
    federation = await start_federation(
        seeded_dir, ["BG"], suspension=SuspensionPolicy(1, 0.3, 10.0)
    )
    try:
        await federation.nodes["BG"].stop(0)
        suspension = federation.broker.clients["BG"].suspension
        await federation.search(JOVAN)
        first = suspension.state().remaining_seconds
        await asyncio.sleep(first + 0.05)
        await federation.search(JOVAN)
        second = suspension.state().remaining_seconds
        assert 0.2 < first <= 0.3
        assert 0.5 < second <= 0.6
    finally:
        await federation.close()


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        (common_pb2.Criteria(), "criteria: empty"),
        (person("Jovan", ""), "criteria.person.family_names: required"),
        (person("Jovan", "Petrovic", "14.03.1985"), "criteria.person.date_of_birth"),
        (person("Jovan", "Petrovic", "2999-01-01"), "out of range"),
        (common_pb2.Criteria(phone=common_pb2.PhoneCriteria(number="12")), "criteria.phone"),
        (common_pb2.Criteria(vehicle=common_pb2.VehicleCriteria(vin="123")), "criteria.vehicle"),
        (person("Jo\x00van", "Petrovic"), "control characters"),
    ],
)
async def test_bad_criteria_are_invalid_argument(
    federation: Federation, criteria: common_pb2.Criteria, message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await federation.search(criteria)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


@pytest.mark.parametrize(
    ("purpose", "legal_basis", "countries", "message"),
    [
        ("", "x", [], "purpose: required"),
        ("x", " ", [], "legal_basis: required"),
        ("x", "x", ["RS", "XX"], "countries: not in this federation: 'XX'"),
    ],
)
async def test_bad_search_requests_are_invalid_argument(
    federation: Federation, purpose: str, legal_basis: str, countries: list[str], message: str
) -> None:
    request = broker_pb2.SearchRequest(
        criteria=JOVAN, purpose=purpose, legal_basis=legal_basis, countries=countries
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in federation.stub.Search(request, timeout=5):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


async def test_node_with_another_key_scheme_secret_never_hits(tmp_path: Path) -> None:
    # A node keyed with a different federation secret cannot match anything: a NO_HIT
    # that is honest (it answered), never a false HIT.
    settings = replace(node_settings("RS", tmp_path), key_secret=b"x" * 32)
    seed_node(settings, 20)
    node = await start_node(settings)
    federation = await start_federation(tmp_path, [], extra_endpoints={"RS": node.address})
    federation.nodes["RS"] = node
    try:
        _, summary = await federation.search(JOVAN)
        assert statuses(summary) == {"RS": NO_HIT}
    finally:
        await federation.close()


async def test_health_and_reflection_on_every_server(federation: Federation) -> None:
    for address in [federation.broker.address, federation.nodes["RS"].address]:
        async with grpc.aio.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            names = []
            async for response in reflection.ServerReflectionInfo(iter([request])):
                names = [s.name for s in response.list_services_response.service]
            assert "grpc.health.v1.Health" in names
            assert any(n.startswith("selec.v1.") for n in names)


async def test_import_into_running_node_is_searchable_without_restart(tmp_path: Path) -> None:
    settings = node_settings("RS", tmp_path)
    seed_node(settings, 10)
    federation = await start_federation(tmp_path, ["RS"])
    try:
        newcomer = person("Милош", "Обилић", "1990-06-28")
        _, summary = await federation.search(newcomer)
        assert statuses(summary) == {"RS": NO_HIT}
        line = {
            "id": "RS-X-1",
            "kind": "person",
            "given": "Милош",
            "family": "Обилић",
            "dob": "1990-06-28",
            "sex": "M",
            "category": "missing",
        }
        import_records("t", [(1, line)], open_store(settings), make_keyer(settings))
        answers, summary = await federation.search(person("Milos", "Obilic", "1990-06-28"))
        assert statuses(summary) == {"RS": HIT}
        assert answers[0].hits[0].category == common_pb2.CATEGORY_MISSING
    finally:
        await federation.close()
