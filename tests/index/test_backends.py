"""What each backend promises beyond the contract: layout, settings, clean-up, threads."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from broker.index import OpenSearchReferenceIndex, SqliteReferenceIndex, queries
from tests.index.builders import AS_OF, LATER, digest, many


@pytest.fixture
def client(opensearch_url: str) -> Iterator[OpenSearch]:
    raw = OpenSearch([opensearch_url], timeout=30)
    yield raw
    raw.close()


@pytest.fixture
def opensearch(
    opensearch_url: str, opensearch_prefixes: Callable[[], str]
) -> Iterator[OpenSearchReferenceIndex]:
    index = OpenSearchReferenceIndex.from_url(opensearch_url, opensearch_prefixes())
    index.prepare()
    yield index
    index.drop()
    index.close()


def _generations(client: OpenSearch, index: OpenSearchReferenceIndex) -> dict[str, list[str]]:
    answer = client.indices.get_alias(index=queries.refs_pattern(index.prefix))
    return {name: sorted(body["aliases"]) for name, body in sorted(answer.items())}


# ---------------------------------------------------------------- OpenSearch


def test_one_served_generation_per_country_and_old_ones_deleted(
    opensearch: OpenSearchReferenceIndex, client: OpenSearch
) -> None:
    opensearch.publish("RS", many("RS", 10), AS_OF)
    opensearch.publish("BG", many("BG", 10), AS_OF)
    first = _generations(client, opensearch)
    opensearch.publish("RS", many("RS", 5), LATER)
    second = _generations(client, opensearch)

    assert len(first) == 2
    assert all(aliases == [opensearch.alias] for aliases in second.values())
    assert len(second) == 2
    (rs_old,) = [name for name in first if "-rs-" in name]
    (rs_new,) = [name for name in second if "-rs-" in name]
    assert rs_old != rs_new
    assert rs_old not in second
    assert client.count(index=rs_new)["count"] == 5


def test_a_served_generation_is_strict_immutable_and_merged(
    opensearch: OpenSearchReferenceIndex, client: OpenSearch
) -> None:
    opensearch.publish("RS", many("RS", 3_000), AS_OF)
    (name,) = _generations(client, opensearch)

    mapping = client.indices.get_mapping(index=name)[name]["mappings"]
    settings = client.indices.get_settings(index=name, include_defaults=True)[name]
    index_settings = {**settings["defaults"]["index"], **settings["settings"]["index"]}
    segments = client.indices.segments(index=name)["indices"][name]["shards"]["0"][0]

    assert mapping["dynamic"] == "strict"
    assert mapping["properties"] == queries.reference_mappings()["properties"]
    assert index_settings["refresh_interval"] == "-1"
    assert index_settings["translog"]["durability"].lower() == "request"
    assert index_settings["number_of_shards"] == "1"
    assert segments["num_committed_segments"] == 1
    assert segments["num_search_segments"] == 1  # the merge was refreshed into view


def test_a_stray_field_is_refused_by_the_mapping(
    opensearch: OpenSearchReferenceIndex, client: OpenSearch
) -> None:
    opensearch.publish("RS", many("RS", 1), AS_OF)
    (name,) = _generations(client, opensearch)

    with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
        client.index(index=name, body={"name": "PETROVIC JOVAN"})


def test_orphaned_generations_are_swept_when_old_enough(
    opensearch: OpenSearchReferenceIndex, client: OpenSearch
) -> None:
    now = datetime.now(UTC)
    stale = queries.generation_name(opensearch.prefix, "RS", now - timedelta(days=2))
    loading = queries.generation_name(opensearch.prefix, "RS", now - timedelta(minutes=1))
    for name in (stale, loading):
        client.indices.create(index=name)

    opensearch.publish("RS", many("RS", 3), AS_OF)

    remaining = _generations(client, opensearch)
    assert stale not in remaining
    assert remaining[loading] == []  # perhaps another publisher's load: left alone
    assert [m.reference for m in opensearch.lookup([digest("RS-1-fold")])] == ["RS-N0000001"]


def test_drop_removes_every_generation_and_the_template(
    opensearch: OpenSearchReferenceIndex, client: OpenSearch
) -> None:
    opensearch.publish("RS", many("RS", 3), AS_OF)
    client.indices.create(index=queries.generation_name(opensearch.prefix, "BG", AS_OF))

    opensearch.drop()

    assert _generations(client, opensearch) == {}
    assert not client.indices.exists_index_template(name=queries.refs_template(opensearch.prefix))


# ---------------------------------------------------------------- SQLite


def test_sqlite_uses_wal_and_indexes_digests(tmp_path: Path) -> None:
    index = SqliteReferenceIndex(tmp_path / "refs.db")
    index.publish("RS", many("RS", 50), AS_OF)

    raw = sqlite3.connect(tmp_path / "refs.db")
    try:
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
        plan = raw.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM index_keys WHERE digest IN (?, ?)",
            (digest("a"), digest("b")),
        ).fetchall()
    finally:
        raw.close()
    index.close()

    assert mode == "wal"
    assert any("USING INDEX" in row[-1] and "digest" in row[-1] for row in plan), plan


def test_sqlite_serves_many_threads(tmp_path: Path) -> None:
    index = SqliteReferenceIndex(tmp_path / "refs.db")
    index.publish("RS", many("RS", 500), AS_OF)

    def look(n: int) -> list[str]:
        return [m.reference for m in index.lookup([digest(f"RS-{n}-exact")])]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(look, range(200)))
    index.close()

    assert answers == [[f"RS-N{n:07d}"] for n in range(200)]


def test_sqlite_drop_deletes_the_files(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    index = SqliteReferenceIndex(path)
    index.publish("RS", many("RS", 5), AS_OF)

    index.drop()

    assert list(tmp_path.iterdir()) == []
