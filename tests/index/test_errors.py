"""Driver failures reach callers as the project's errors, with safe messages and a status."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from opensearchpy.exceptions import (
    AuthorizationException,
    ConflictError,
    ConnectionError,
    ConnectionTimeout,
    NotFoundError,
    RequestError,
    TransportError,
)

from broker.index import (
    IndexRequestFailed,
    IndexUnavailable,
    OpenSearchReferenceIndex,
    ReferenceIndexError,
    SqliteReferenceIndex,
)
from broker.index import opensearch as opensearch_backend
from broker.index import sqlite as sqlite_backend
from tests.index.builders import AS_OF, digest, key, ref

SECRET = digest("petrovic-jovan-1980")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _operations(index: Any) -> dict[str, Callable[[], object]]:
    return {
        "prepare": index.prepare,
        "publish": lambda: index.publish("RS", [ref("RS", "x", key("x"))], AS_OF),
        "lookup": lambda: index.lookup([SECRET]),
        "publications": index.publications,
        "documents": lambda: list(index.documents()),
        "drop": index.drop,
    }


def _assert_safe(error: ReferenceIndexError) -> None:
    text = str(error)
    assert "Traceback" not in text
    assert SECRET not in text
    assert "\n" not in text
    assert text


# ---------------------------------------------------------------- OpenSearch, for real


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "closed"])
def test_opensearch_unreachable_is_unavailable(url: str) -> None:
    if url == "closed":
        url = f"http://127.0.0.1:{_closed_port()}"
    index = OpenSearchReferenceIndex.from_url(url, "selec-test-unreachable", timeout=1.0)

    assert index.ping() is False
    for operation, call in _operations(index).items():
        with pytest.raises(IndexUnavailable) as caught:
            call()
        assert caught.value.status == grpc.StatusCode.UNAVAILABLE, operation
        _assert_safe(caught.value)
    index.close()


def test_opensearch_ping_is_false_when_red() -> None:
    class RedCluster:
        def health(self, **_: Any) -> dict[str, str]:
            return {"status": "red"}

    class Client:
        cluster = RedCluster()

    index = OpenSearchReferenceIndex(Client(), "selec-test-red")  # type: ignore[arg-type]

    assert index.ping() is False


# ---------------------------------------------------------------- OpenSearch translation


def _reason(field_value: str) -> dict[str, Any]:
    reason = f"failed to parse field [digests]. Preview of field's value: '{field_value}'"
    return {"error": {"root_cause": [{"reason": reason}], "reason": reason}, "status": 400}


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ConnectionError("N/A", "refused", OSError(SECRET)), "UNAVAILABLE"),
        (ConnectionTimeout("TIMEOUT", "timed out", OSError()), "UNAVAILABLE"),
        (TransportError(503, "cluster_block_exception", _reason(SECRET)), "UNAVAILABLE"),
        (TransportError(429, "es_rejected_execution_exception", {}), "UNAVAILABLE"),
        (RequestError(400, "mapper_parsing_exception", _reason(SECRET)), "INTERNAL"),
        (TransportError(500, f"weird {SECRET}", _reason(SECRET)), "INTERNAL"),
        (NotFoundError(404, "index_not_found_exception", {}), "FAILED_PRECONDITION"),
        (
            ConflictError(409, "version_conflict_engine_exception", _reason(SECRET)),
            "FAILED_PRECONDITION",
        ),
        (AuthorizationException(403, "security_exception", {}), "FAILED_PRECONDITION"),
    ],
)
def test_opensearch_errors_are_translated_without_document_data(
    exc: Exception, status: str
) -> None:
    error = opensearch_backend.translate(exc, "lookup")

    kind = IndexUnavailable if status == "UNAVAILABLE" else IndexRequestFailed
    assert type(error) is kind
    assert error.status == getattr(grpc.StatusCode, status)
    assert "lookup" in str(error)
    _assert_safe(error)


def test_a_failed_request_does_not_chain_the_driver_error() -> None:
    class Indices:
        def put_index_template(self, **_: Any) -> None:
            raise RequestError(400, "mapper_parsing_exception", _reason(SECRET))

    class Client:
        indices = Indices()

    index = OpenSearchReferenceIndex(Client(), "selec-test-chain")  # type: ignore[arg-type]

    with pytest.raises(IndexRequestFailed) as caught:
        index.prepare()
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    _assert_safe(caught.value)


# ---------------------------------------------------------------- SQLite


def test_sqlite_on_an_unwritable_path_raises_the_projects_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    index = SqliteReferenceIndex(blocker / "index" / "refs.db")

    assert index.ping() is False
    for operation, call in _operations(index).items():
        if operation == "drop":
            continue  # nothing was created, so nothing to drop
        with pytest.raises(IndexUnavailable) as caught:
            call()
        assert caught.value.status == grpc.StatusCode.UNAVAILABLE, operation
        _assert_safe(caught.value)


def test_sqlite_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    path.write_bytes(b"this is not an SQLite database, and it is long enough " * 40)
    index = SqliteReferenceIndex(path)

    with pytest.raises(IndexRequestFailed) as caught:
        index.prepare()
    assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert "SQLITE_NOTADB" in str(caught.value)
    _assert_safe(caught.value)
    index.close()


def test_sqlite_closed_index_refuses_work(tmp_path: Path) -> None:
    index = SqliteReferenceIndex(tmp_path / "refs.db")
    index.prepare()
    index.close()

    with pytest.raises(IndexRequestFailed) as caught:
        index.lookup([SECRET])
    assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION


def test_sqlite_errors_are_translated_by_code_not_message() -> None:
    import sqlite3

    busy = sqlite3.OperationalError(f"database is locked near {SECRET}")
    busy.sqlite_errorname = "SQLITE_BUSY"  # type: ignore[attr-defined]
    misuse = sqlite3.ProgrammingError(f"bad parameter {SECRET}")

    assert isinstance(sqlite_backend.translate(busy, "lookup", Path("x.db")), IndexUnavailable)
    failed = sqlite_backend.translate(misuse, "lookup", Path("x.db"))
    assert failed.status == grpc.StatusCode.INTERNAL
    for error in (sqlite_backend.translate(busy, "lookup", Path("x.db")), failed):
        _assert_safe(error)


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("es_rejected_execution_exception", IndexUnavailable),
        ("mapper_parsing_exception", IndexRequestFailed),
    ],
)
def test_a_refused_bulk_document_raises_by_its_error_type(
    kind: str, error: type[ReferenceIndexError]
) -> None:
    class Client:
        def bulk(self, **_: Any) -> dict[str, Any]:
            return {"errors": True, "items": [{"index": {"error": {"type": kind}}}]}

    index = OpenSearchReferenceIndex(Client(), "selec-test-bulk")  # type: ignore[arg-type]

    with pytest.raises(error) as caught:
        index._bulk("selec-test-bulk-refs-v1-rs-1", b"", "RS")
    assert kind in str(caught.value)
    _assert_safe(caught.value)
