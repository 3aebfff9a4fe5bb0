"""Driver failures reach callers as the project's errors, with safe messages and a status."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from opensearchpy.exceptions import ConflictError, RequestError

from broker.audit import (
    AuditLog,
    OpenSearchAuditLog,
    SqliteAuditLog,
    open_audit_log,
)
from broker.index import IndexRequestFailed, IndexUnavailable, ReferenceIndexError
from broker.workflow import (
    OpenSearchRequestStore,
    RequestStore,
    SqliteRequestStore,
    open_request_store,
)
from tests.workflow.builders import SECRET_NAME, T0, details, new_id, record


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _store_operations(store: RequestStore) -> dict[str, Callable[[], object]]:
    request = details(justification=SECRET_NAME)
    return {
        "prepare": store.prepare,
        "create": lambda: store.create(request),
        "get": lambda: store.get(request.request_id),
        "update": lambda: store.update(request, "1:1"),
        "list": lambda: store.list(requester=request.requester),
        "count_overdue": lambda: store.count_overdue(T0),
        "documents": lambda: list(store.documents()),
        "drop": store.drop,
    }


def _log_operations(log: AuditLog) -> dict[str, Callable[[], object]]:
    return {
        "prepare": log.prepare,
        "append": lambda: log.append(record(0)),
        "append_many": lambda: log.append_many([record(0)]),
        "events": lambda: list(log.events()),
        "verify": log.verify,
        "documents": lambda: list(log.documents()),
        "drop": log.drop,
    }


def _assert_safe(error: ReferenceIndexError) -> None:
    text = str(error)
    assert text and "\n" not in text
    assert SECRET_NAME not in text and "Traceback" not in text


# ---------------------------------------------------------------- OpenSearch down


def test_an_unreachable_request_store_is_unavailable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    store = OpenSearchRequestStore.from_url(url, "selec-test-down", timeout=1.0)

    assert store.ping() is False
    for operation, call in _store_operations(store).items():
        with pytest.raises(IndexUnavailable) as caught:
            call()
        assert caught.value.status == grpc.StatusCode.UNAVAILABLE, operation
        _assert_safe(caught.value)
    store.close()


def test_an_unreachable_audit_log_is_unavailable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    log = OpenSearchAuditLog.from_url(url, "selec-test-down", timeout=1.0)

    assert log.ping() is False
    for operation, call in _log_operations(log).items():
        with pytest.raises(IndexUnavailable) as caught:
            call()
        assert caught.value.status == grpc.StatusCode.UNAVAILABLE, operation
        _assert_safe(caught.value)
    log.close()


def _reason(value: str) -> dict[str, Any]:
    reason = f"failed to parse field [justification]. Preview of field's value: '{value}'"
    return {"error": {"root_cause": [{"reason": reason}], "reason": reason}, "status": 400}


class _Indices:
    def create(self, **_: Any) -> None:
        pass


def test_a_refused_write_does_not_leak_the_document() -> None:
    class Client:
        indices = _Indices()

        def index(self, **_: Any) -> None:
            raise RequestError(400, "mapper_parsing_exception", _reason(SECRET_NAME))

    store = OpenSearchRequestStore(Client(), "selec-test-refused")  # type: ignore[arg-type]

    with pytest.raises(IndexRequestFailed) as caught:
        store.create(details(justification=SECRET_NAME))

    assert caught.value.__cause__ is None
    assert caught.value.status == grpc.StatusCode.INTERNAL
    _assert_safe(caught.value)


def test_a_contended_audit_log_gives_up_with_unavailable() -> None:
    """Every head write losing (a broker that never wins) ends in a bounded failure."""

    class Client:
        indices = _Indices()

        def get(self, **_: Any) -> dict[str, Any]:
            return {"found": False}

        def index(self, **_: Any) -> None:
            raise ConflictError(409, "version_conflict_engine_exception", {})

    log = OpenSearchAuditLog(Client(), "selec-test-contended", max_attempts=3)  # type: ignore[arg-type]

    with pytest.raises(IndexUnavailable, match="contended"):
        log.append(record(0))


# ---------------------------------------------------------------- SQLite


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database, it is a note " * 200)

    for store in (SqliteRequestStore(path), SqliteAuditLog(path)):
        with pytest.raises(IndexRequestFailed) as caught:
            store.prepare()
        assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION
        _assert_safe(caught.value)
        store.close()
    report = SqliteAuditLog(path).verify()
    assert not report.ok
    assert report.problem.startswith("audit store unreadable")


def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = SqliteRequestStore(tmp_path / "r.db")
    log = SqliteAuditLog(tmp_path / "a.db")
    store.close()
    log.close()

    for call in (lambda: store.get(new_id()), lambda: log.append(record(0))):
        with pytest.raises(IndexRequestFailed) as caught:
            call()
        assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION


def test_the_stores_share_a_file_and_drop_only_their_own_tables(tmp_path: Path) -> None:
    path = tmp_path / "broker.db"
    store, log = SqliteRequestStore(path), SqliteAuditLog(path)
    created = store.create(details())
    log.append(record(0))

    log.drop()

    assert path.exists()
    assert store.get(created.request_id) == created
    store.drop()
    assert not path.exists()


# ---------------------------------------------------------------- factories


def test_the_factories_pick_the_backend(tmp_path: Path) -> None:
    assert isinstance(
        open_request_store("sqlite", sqlite_path=tmp_path / "r.db"), SqliteRequestStore
    )
    assert isinstance(open_audit_log("sqlite", sqlite_path=tmp_path / "a.db"), SqliteAuditLog)
    remote = open_audit_log("opensearch", opensearch_url="http://127.0.0.1:1", prefix="p")
    assert isinstance(remote, OpenSearchAuditLog)
    remote.close()


@pytest.mark.parametrize("opener", [open_request_store, open_audit_log])
def test_the_factories_refuse_missing_settings(opener: Callable[..., object]) -> None:
    with pytest.raises(ValueError):
        opener("sqlite")
    with pytest.raises(ValueError):
        opener("opensearch")
    with pytest.raises(ValueError):
        opener("postgres", sqlite_path=Path("x"))
