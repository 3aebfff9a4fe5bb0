"""An index that cannot serve a read says so: never "nothing published", never "no hit".

Index-only countries are answered from the index alone, so an unreadable index read as
empty would turn a country that holds a hit into one that published nothing (or, worse,
one that holds no hit). The faults here are real: a served generation closed on a real
OpenSearch node, a driver pointed at a port nothing listens on, a link whose connections
are refused.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from opensearchpy import OpenSearch
from prometheus_client import CollectorRegistry

from broker.index import IndexUnavailable, OpenSearchReferenceIndex
from broker.indexing import IndexView
from broker.metrics import BrokerMetrics
from tests.faults.proxy import start_proxy
from tests.index.builders import AS_OF, digest, key, ref


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


def _closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_closed_served_generation_makes_the_lookup_unavailable(
    opensearch: OpenSearchReferenceIndex, client: OpenSearch
) -> None:
    """A closed generation behind the alias (as while a node recovers it) fails the lookup;
    skipped silently, its country would read as holding no hit."""
    jovan = key("jovan")
    opensearch.publish("RS", [ref("RS", "a", jovan)], AS_OF)
    opensearch.publish("BG", [ref("BG", "b", jovan)], AS_OF)
    (bg,) = [name for name in client.indices.get_alias(index=opensearch.alias) if "-bg-" in name]

    client.indices.close(index=bg)
    try:
        assert sorted(opensearch.publications()) == ["BG", "RS"]
        with pytest.raises(IndexUnavailable, match="index_closed_exception"):
            opensearch.lookup([digest("jovan")])
    finally:
        client.indices.open(index=bg, wait_for_active_shards="all")

    assert {match.country for match in opensearch.lookup([digest("jovan")])} == {"BG", "RS"}


async def test_publications_never_read_stay_unreadable_until_read() -> None:
    """A failed first read is not cached as "nobody published" for the rest of the TTL."""
    index = OpenSearchReferenceIndex.from_url(
        f"http://127.0.0.1:{_closed_port()}", "selec-test-unreadable", timeout=1.0
    )
    view = IndexView(index, 1.0, BrokerMetrics(CollectorRegistry()), publications_ttl=60)
    try:
        with pytest.raises(IndexUnavailable):
            await view.publications()  # reads, and fails
        with pytest.raises(IndexUnavailable):
            await view.publications()  # within the TTL: the failure again, not {}
    finally:
        view.close()


async def test_publications_read_before_a_failure_are_not_served_after_it(
    opensearch: OpenSearchReferenceIndex, opensearch_url: str
) -> None:
    """After a failed read the broker no longer knows what is published: the node may come
    back empty (or be another), and a lookup there would find nothing for a country it
    still believed published, a false INDEXED_NO_HIT."""
    opensearch.publish("BG", [ref("BG", "b", key("jovan"))], AS_OF)
    proxy = await start_proxy(opensearch_url.removeprefix("http://").rstrip("/"))
    index = OpenSearchReferenceIndex.from_url(
        f"http://{proxy.address}", opensearch.prefix, timeout=2.0
    )
    view = IndexView(index, 2.0, BrokerMetrics(CollectorRegistry()), publications_ttl=60)
    try:
        assert list(await view.publications()) == ["BG"]
        await proxy.refuse()
        view.forget_publications()
        with pytest.raises(IndexUnavailable):
            await view.publications()  # reads, and fails
        with pytest.raises(IndexUnavailable):
            await view.publications()  # within the TTL: the failure again, not the old read
        await proxy.listen()
        view.forget_publications()
        assert list(await view.publications()) == ["BG"]
    finally:
        view.close()
        await proxy.close()
