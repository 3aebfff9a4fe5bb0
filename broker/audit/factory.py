"""Picks the audit log backend from settings, so callers only know the Protocol."""

from __future__ import annotations

from pathlib import Path

from broker.audit.opensearch import OpenSearchAuditLog
from broker.audit.protocol import AuditLog
from broker.audit.sqlite import SqliteAuditLog

BACKENDS = ("sqlite", "opensearch")


def open_audit_log(
    backend: str,
    *,
    sqlite_path: Path | None = None,
    opensearch_url: str | None = None,
    prefix: str = "selec",
) -> AuditLog:
    """The configured backend, not yet prepared (call ``prepare()`` at start-up).

    Opening connects to nothing, so a broker starts even while its store is down; the
    first call says so with `IndexUnavailable`. A missing setting is a ``ValueError``.
    """
    if backend == "sqlite":
        if sqlite_path is None:
            raise ValueError("the sqlite audit log needs sqlite_path")
        return SqliteAuditLog(Path(sqlite_path))
    if backend == "opensearch":
        if not opensearch_url:
            raise ValueError("the opensearch audit log needs opensearch_url")
        return OpenSearchAuditLog.from_url(opensearch_url, prefix)
    raise ValueError(f"unknown audit log backend {backend!r}; expected one of {BACKENDS}")
