"""Tampering with an audit store directly, as someone with write access to it would.

Each helper goes around the log (raw ``sqlite3`` or a raw OpenSearch client) and, where
the store would stop it, does what a careful attacker does: drop SQLite's append-only
triggers, change the rows, put the triggers back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opensearchpy import OpenSearch

from broker.audit import AuditLog, queries
from broker.audit import sqlite as sqlite_backend
from tests.workflow.conftest import Backend

_TRIGGERS = [statement for statement in sqlite_backend._SCHEMA if "TRIGGER" in statement]


@contextmanager
def _sqlite(backend: Backend[AuditLog]) -> Iterator[sqlite3.Connection]:
    assert backend.path is not None
    db = sqlite3.connect(backend.path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        db.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        yield db
        for statement in _TRIGGERS:
            db.execute(statement)
        db.execute("COMMIT")
    finally:
        db.close()


@contextmanager
def _client(backend: Backend[AuditLog]) -> Iterator[OpenSearch]:
    client = OpenSearch([backend.url], timeout=30)
    try:
        yield client
    finally:
        client.close()


def _events_index(backend: Backend[AuditLog]) -> str:
    assert backend.prefix is not None
    return queries.events_index(backend.prefix)


def read(backend: Backend[AuditLog], seq: int) -> dict[str, Any]:
    """Event ``seq`` as stored (SQLite lists are JSON text there)."""
    if backend.name == "sqlite":
        with _sqlite(backend) as db:
            cursor = db.execute("SELECT * FROM audit_events WHERE seq = ?", (seq,))
            columns = [column[0] for column in cursor.description]
            return dict(zip(columns, cursor.fetchone(), strict=True))
    with _client(backend) as client:
        return dict(client.get(index=_events_index(backend), id=str(seq))["_source"])


def write(backend: Backend[AuditLog], seq: int, fields: dict[str, Any]) -> None:
    """Overwrite fields of event ``seq`` in place."""
    if backend.name == "sqlite":
        with _sqlite(backend) as db:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            db.execute(
                f"UPDATE audit_events SET {assignments} WHERE seq = ?", [*fields.values(), seq]
            )
        return
    with _client(backend) as client:
        source = {**read(backend, seq), **fields}
        client.index(index=_events_index(backend), id=str(seq), body=source, refresh=True)


def delete(backend: Backend[AuditLog], seq: int) -> None:
    """Remove event ``seq``."""
    if backend.name == "sqlite":
        with _sqlite(backend) as db:
            db.execute("DELETE FROM audit_events WHERE seq = ?", (seq,))
        return
    with _client(backend) as client:
        client.delete(index=_events_index(backend), id=str(seq), refresh=True)


def swap(backend: Backend[AuditLog], first: int, second: int) -> None:
    """Exchange the contents of two events, each keeping its position (seq)."""
    one, two = read(backend, first), read(backend, second)
    for event in (one, two):
        event.pop("seq")
    write(backend, first, two)
    write(backend, second, one)


def set_head(backend: Backend[AuditLog], seq: int, digest: str) -> None:
    """Point the store's own head record at another event (as a truncation would)."""
    if backend.name == "sqlite":
        with _sqlite(backend) as db:
            db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))
        return
    assert backend.prefix is not None
    with _client(backend) as client:
        client.index(
            index=queries.head_index(backend.prefix),
            id=queries.HEAD_ID,
            body={"seq": seq, "hash": digest, "pending": []},
            refresh=True,
        )
