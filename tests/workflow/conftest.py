"""Fixtures of the workflow and audit suites: every contract test runs on both backends.

The OpenSearch half runs against the real node of ``tests/index/conftest.py`` (reused, not
duplicated: ``OPENSEARCH_URL`` or one started with ``scripts/opensearch``), and FAILS if
none can be had. Each test gets its own index prefix, dropped when it ends.

A test asks for a *backend* (``stores`` or ``logs``) rather than one instance, because
much of what is tested is between instances: two brokers on one store, a broker that
restarts. ``backend.open()`` gives a fresh, prepared instance on the same store every
time; all are closed, and the store dropped, at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from broker.audit import AuditLog, open_audit_log
from broker.index import ReferenceIndexError
from broker.workflow import RequestStore, open_request_store
from tests.index.conftest import opensearch_prefixes, opensearch_url  # noqa: F401

S = TypeVar("S", RequestStore, AuditLog)


@dataclass
class Backend(Generic[S]):
    """One store (a file or an index prefix) and the instances opened on it."""

    name: str
    opener: Callable[[], S]
    path: Path | None = None
    url: str | None = None
    prefix: str | None = None
    opened: list[S] = field(default_factory=list)

    def open(self, *, prepare: bool = True) -> S:
        """A new instance on this store (another broker, or one restarted), prepared
        unless asked not to be."""
        instance = self.opener()
        if prepare:
            instance.prepare()
        self.opened.append(instance)
        return instance

    def finish(self) -> None:
        """Close every instance, then drop the store (a SQLite file a test damaged on
        purpose may refuse; it lives under ``tmp_path`` anyway)."""
        for instance in self.opened:
            instance.close()
        cleaner = self.opener()
        try:
            cleaner.drop()
        except ReferenceIndexError:
            if self.name != "sqlite":
                raise
        finally:
            cleaner.close()


def _where(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, filename: str
) -> dict[str, object]:
    if backend == "sqlite":
        return {"sqlite_path": tmp_path / "stores" / filename}
    new_prefix: Callable[[], str] = request.getfixturevalue("opensearch_prefixes")
    url: str = request.getfixturevalue("opensearch_url")
    return {"opensearch_url": url, "prefix": new_prefix()}


def _backend(name: str, opener: Callable[..., S], where: dict[str, object]) -> Backend[S]:
    return Backend(
        name=name,
        opener=lambda: opener(name, **where),
        path=where.get("sqlite_path"),  # type: ignore[arg-type]
        url=where.get("opensearch_url"),  # type: ignore[arg-type]
        prefix=where.get("prefix"),  # type: ignore[arg-type]
    )


@pytest.fixture(params=["sqlite", "opensearch"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend[RequestStore]]:
    """A request store of each backend in turn."""
    backend = _backend(
        request.param, open_request_store, _where(request.param, request, tmp_path, "requests.db")
    )
    yield backend
    backend.finish()


@pytest.fixture
def store(stores: Backend[RequestStore]) -> RequestStore:
    """One prepared, empty request store of each backend in turn."""
    return stores.open()


@pytest.fixture(params=["sqlite", "opensearch"])
def logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend[AuditLog]]:
    """An audit log of each backend in turn."""
    backend = _backend(
        request.param, open_audit_log, _where(request.param, request, tmp_path, "audit.db")
    )
    yield backend
    backend.finish()


@pytest.fixture
def audit(logs: Backend[AuditLog]) -> AuditLog:
    """One prepared, empty audit log of each backend in turn."""
    return logs.open()


@pytest.fixture
def sqlite_logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend[AuditLog]]:
    """An audit log in SQLite, for what only that backend promises."""
    backend = _backend("sqlite", open_audit_log, _where("sqlite", request, tmp_path, "audit.db"))
    yield backend
    backend.finish()


@pytest.fixture
def opensearch_logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend[AuditLog]]:
    """An audit log in OpenSearch, for what only that backend promises."""
    where = _where("opensearch", request, tmp_path, "audit.db")
    backend = _backend("opensearch", open_audit_log, where)
    yield backend
    backend.finish()
