"""Picks the reference index backend from settings, so callers only know the Protocol."""

from __future__ import annotations

from pathlib import Path

from broker.index.opensearch import from_url
from broker.index.protocol import ReferenceIndex
from broker.index.sqlite import SqliteReferenceIndex

BACKENDS = ("sqlite", "opensearch")


def open_reference_index(
    backend: str,
    *,
    sqlite_path: Path | None = None,
    opensearch_url: str | None = None,
    prefix: str = "selec",
) -> ReferenceIndex:
    """The configured backend, not yet prepared (call ``prepare()`` at start-up).

    Opening connects to nothing, so a broker starts even while its index is down; the
    first call says so with `IndexUnavailable`. A missing setting is a ``ValueError``.
    """
    if backend == "sqlite":
        if sqlite_path is None:
            raise ValueError("the sqlite reference index needs sqlite_path")
        return SqliteReferenceIndex(Path(sqlite_path))
    if backend == "opensearch":
        if not opensearch_url:
            raise ValueError("the opensearch reference index needs opensearch_url")
        return from_url(opensearch_url, prefix)
    raise ValueError(f"unknown reference index backend {backend!r}; expected one of {BACKENDS}")
