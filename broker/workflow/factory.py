"""Picks the request store backend from settings, so callers only know the Protocol."""

from __future__ import annotations

from pathlib import Path

from broker.workflow.opensearch import OpenSearchRequestStore
from broker.workflow.protocol import RequestStore
from broker.workflow.sqlite import SqliteRequestStore

BACKENDS = ("sqlite", "opensearch")


def open_request_store(
    backend: str,
    *,
    sqlite_path: Path | None = None,
    opensearch_url: str | None = None,
    prefix: str = "selec",
) -> RequestStore:
    """The configured backend, not yet prepared (call ``prepare()`` at start-up).

    Opening connects to nothing, so a broker starts even while its store is down; the
    first call says so with `IndexUnavailable`. A missing setting is a ``ValueError``.
    """
    if backend == "sqlite":
        if sqlite_path is None:
            raise ValueError("the sqlite request store needs sqlite_path")
        return SqliteRequestStore(Path(sqlite_path))
    if backend == "opensearch":
        if not opensearch_url:
            raise ValueError("the opensearch request store needs opensearch_url")
        return OpenSearchRequestStore.from_url(opensearch_url, prefix)
    raise ValueError(f"unknown request store backend {backend!r}; expected one of {BACKENDS}")
