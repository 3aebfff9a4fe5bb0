"""The reference index in the broker: publish, answer for a node that is down, correlate."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from broker.config import IndexSettings
from broker.index import open_reference_index
from connectors.importer import import_records
from connectors.node import make_keyer, open_store
from connectors.publisher import publication_stream, timestamp
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
INDEXED_HIT = broker_pb2.COUNTRY_STATUS_INDEXED_HIT
INDEXED_NO_HIT = broker_pb2.COUNTRY_STATUS_INDEXED_NO_HIT
JOVAN = person("Jovan", "Petrovic", "1985-03-14")
COUNTRIES = ("RS", "BG", "RO", "MD")


def statuses(summary: broker_pb2.SearchSummary) -> dict[str, int]:
    return {r.country: r.status for r in summary.results}


@pytest.fixture
def index_settings(tmp_path: Path) -> IndexSettings:
    return IndexSettings("sqlite", sqlite_path=tmp_path / "index.db")


@pytest.fixture
async def indexed(seeded_dir: Path, index_settings: IndexSettings) -> AsyncIterator[Federation]:
    federation = await start_federation(seeded_dir, COUNTRIES, index=index_settings)
    for country in COUNTRIES:
        await federation.publish(country)
    yield federation
    await federation.close()


async def test_stopped_node_is_answered_from_the_index_and_flagged(indexed: Federation) -> None:
    await indexed.nodes["BG"].stop(0)
    answers, summary = await indexed.search(JOVAN)
    found = statuses(summary)
    assert found == {"RS": HIT, "BG": INDEXED_HIT, "RO": HIT, "MD": NO_HIT}
    bg = next(r for r in summary.results if r.country == "BG")
    assert bg.HasField("indexed_as_of")
    assert "answered from the index as of" in bg.detail
    assert "unreachable" in bg.detail
    bg_answer = next(a for a in answers if a.result.country == "BG")
    assert bg_answer.hits[0].reference.startswith("BG-")
    assert bg_answer.hits[0].kind == common_pb2.RECORD_KIND_PERSON


async def test_live_answers_win_over_the_index(indexed: Federation) -> None:
    _, summary = await indexed.search(JOVAN)
    assert statuses(summary) == {"RS": HIT, "BG": HIT, "RO": HIT, "MD": NO_HIT}
    assert not any(r.HasField("indexed_as_of") for r in summary.results)


async def test_same_person_in_several_states_is_one_correlated_subject(
    indexed: Federation,
) -> None:
    await indexed.nodes["RO"].stop(0)
    _, summary = await indexed.search(JOVAN)
    assert len(summary.subjects) == 1
    subject = summary.subjects[0]
    assert sorted(m.country for m in subject.members) == ["BG", "RO", "RS"]
    assert subject.strength >= common_pb2.MATCH_STRENGTH_STRONG
    assert subject.shared_key_types
    # A name-only search is not strong enough to say it is the same person.
    _, weak = await indexed.search(person("Jovan", "Petrovic"))
    assert weak.subjects == []


async def test_index_only_country_is_answered_without_calling_the_node(
    seeded_dir: Path, index_settings: IndexSettings
) -> None:
    hanging, servicer = await start_hanging_node()
    federation = await start_federation(
        seeded_dir,
        ["RS", "BG"],
        extra_endpoints={"MD": f"127.0.0.1:{hanging.port}"},
        index=index_settings,
        index_only=["BG", "MD"],
    )
    federation.extra_servers.append(hanging)
    try:
        await federation.publish("BG")
        _, summary = await federation.search(JOVAN)
        found = statuses(summary)
        assert found["BG"] == INDEXED_HIT
        assert found["MD"] == UNAVAILABLE  # index-only, never published: not a NO_HIT
        md = next(r for r in summary.results if r.country == "MD")
        assert "not published" in md.detail
        assert servicer.calls == 0
    finally:
        await federation.close()


async def test_republish_is_a_full_sync(tmp_path: Path, index_settings: IndexSettings) -> None:
    settings = node_settings("RS", tmp_path)
    seed_node(settings, 20)
    federation = await start_federation(tmp_path, ["RS"], index=index_settings)
    try:
        await federation.publish("RS")
        await federation.nodes["RS"].stop(0)
        _, summary = await federation.search(JOVAN)
        assert statuses(summary) == {"RS": INDEXED_HIT}
        # Jovan's record is deleted at home; the next publication must drop him.
        keep = [r for r in _records(settings) if r["id"] != "RS-P-000001"]
        import_records(
            "t", enumerate(keep, 1), open_store(settings), make_keyer(settings), replace_all=True
        )
        await federation.restart_node("RS")
        reply = await federation.publish("RS")
        assert reply.reference_count == len(keep)
        await federation.nodes["RS"].stop(0)
        federation.broker.index.forget_publications()  # type: ignore[union-attr]
        _, summary = await federation.search(JOVAN)
        assert statuses(summary) == {"RS": INDEXED_NO_HIT}
    finally:
        await federation.close()


def _records(settings) -> list[dict]:
    return [json.loads(payload) for _, payload in open_store(settings).payloads()]


async def test_broken_publication_leaves_the_previous_one(indexed: Federation) -> None:
    store = open_store(indexed.nodes["RS"].settings)
    scheme = make_keyer(indexed.nodes["RS"].settings).scheme.version
    before = await indexed.broker.index.publications()  # type: ignore[union-attr]

    async def broken() -> AsyncIterator[broker_pb2.PublishRequest]:
        from datetime import UTC, datetime

        stream = publication_stream(
            "RS", scheme, store.published_records(), datetime.now(UTC), batch_size=5
        )
        yield next(stream)
        yield next(stream)
        raise RuntimeError("the node crashed half-way")

    with pytest.raises((grpc.aio.AioRpcError, asyncio.CancelledError)):
        await indexed.stub.Publish(broken(), timeout=10)
    await asyncio.sleep(0.2)
    indexed.broker.index.forget_publications()  # type: ignore[union-attr]
    after = await indexed.broker.index.publications()  # type: ignore[union-attr]
    assert after["RS"] == before["RS"]
    await indexed.nodes["RS"].stop(0)
    _, summary = await indexed.search(JOVAN, countries=["RS"])
    assert statuses(summary) == {"RS": INDEXED_HIT}


@pytest.mark.parametrize(
    ("messages", "code", "message"),
    [
        ([], grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a header"),
        (
            [broker_pb2.PublishRequest(header=broker_pb2.PublishHeader(country="XX"))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "header.country: not in this federation",
        ),
        (
            [
                broker_pb2.PublishRequest(
                    header=broker_pb2.PublishHeader(country="RS", scheme_version="old")
                )
            ],
            grpc.StatusCode.FAILED_PRECONDITION,
            "header.scheme_version",
        ),
    ],
)
async def test_bad_publications_are_refused(
    indexed: Federation, messages: list, code: grpc.StatusCode, message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await indexed.stub.Publish(iter(messages), timeout=5)
    assert caught.value.code() == code
    assert message in caught.value.details()


async def test_bad_reference_in_a_publication_changes_nothing(indexed: Federation) -> None:
    scheme = make_keyer(indexed.nodes["RS"].settings).scheme.version
    from datetime import UTC, datetime

    header = broker_pb2.PublishRequest(
        header=broker_pb2.PublishHeader(
            country="RS", scheme_version=scheme, as_of=timestamp(datetime.now(UTC))
        )
    )
    bad = broker_pb2.PublishRequest(
        references=broker_pb2.PublishedReferences(
            references=[
                broker_pb2.PublishedReference(
                    reference="Jovan Petrovic 1985-03-14",
                    kind=common_pb2.RECORD_KIND_PERSON,
                    category=common_pb2.CATEGORY_WANTED,
                )
            ]
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await indexed.stub.Publish(iter([header, bad]), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "references[0]" in caught.value.details()
    assert "Jovan" not in caught.value.details()
    await indexed.nodes["RS"].stop(0)
    _, summary = await indexed.search(JOVAN, countries=["RS"])
    assert statuses(summary) == {"RS": INDEXED_HIT}


async def test_index_down_never_turns_a_failed_node_into_no_hit(
    seeded_dir: Path, tmp_path: Path
) -> None:
    index = IndexSettings("sqlite", sqlite_path=tmp_path / "index.db")
    federation = await start_federation(seeded_dir, ["RS", "BG"], index=index)
    try:
        await federation.publish("BG")
        await federation.nodes["BG"].stop(0)
        view = federation.broker.index
        assert view is not None
        view.index.close()  # the index is gone from under the broker
        view.index = open_reference_index("opensearch", opensearch_url="http://127.0.0.1:1")
        _, summary = await federation.search(JOVAN)
        found = statuses(summary)
        assert found["RS"] == HIT
        assert found["BG"] == UNAVAILABLE
    finally:
        await federation.close()


async def test_all_member_states_publish(seeded_dir: Path, index_settings: IndexSettings) -> None:
    federation = await start_federation(seeded_dir, MEMBER_STATES, index=index_settings)
    try:
        replies = await asyncio.gather(*(federation.publish(c) for c in MEMBER_STATES))
        assert all(r.reference_count > 0 for r in replies)
        publications = await federation.broker.index.publications()  # type: ignore[union-attr]
        assert sorted(publications) == sorted(MEMBER_STATES)
    finally:
        await federation.close()


@pytest.mark.parametrize("ending", ["none", "wrong count"])
async def test_a_publication_without_its_proper_end_changes_nothing(
    indexed: Federation, ending: str
) -> None:
    store = open_store(indexed.nodes["RS"].settings)
    scheme = make_keyer(indexed.nodes["RS"].settings).scheme.version
    before = await indexed.broker.index.publications()  # type: ignore[union-attr]
    messages = list(
        publication_stream(
            "RS", scheme, store.published_records(), dt.datetime.now(dt.UTC), batch_size=5
        )
    )
    assert messages[-1].HasField("end")
    if ending == "none":
        messages = messages[:-1]
    else:
        messages[-1].end.reference_count += 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await indexed.stub.Publish(iter(messages), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nothing changed" in caught.value.details()
    indexed.broker.index.forget_publications()  # type: ignore[union-attr]
    assert (await indexed.broker.index.publications())["RS"] == before["RS"]  # type: ignore[union-attr]
