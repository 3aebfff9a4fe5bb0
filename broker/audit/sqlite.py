"""The audit log in one SQLite file: the zero-setup default for a single machine.

Why it is built this way:

* An append is one ``BEGIN IMMEDIATE`` transaction: read the head row, insert the new
  events chained from it, move the head, commit. The immediate transaction holds SQLite's
  write lock from the first read, so appends from any number of threads, connections or
  processes are serialized and each one chains from the true last event: one chain,
  never a fork. `append_many` is the same transaction with more rows.
* The head (last seq and hash) is its own row, moved in the same transaction, rather than
  ``MAX(seq)``: then cutting events off the end of the table is a difference between the
  table and the head, which `verify` reports.
* Append-only is also enforced in the file: triggers abort any UPDATE or DELETE of an
  event, so a bug or a hurried hand with the ``sqlite3`` shell cannot rewrite history by
  accident. (Anyone who can write the file can drop the triggers; that is what the chain
  is for.)
* `verify` reads the file as it is, on a connection of its own that creates nothing: the
  chain in seq order against the head row, then the schema against the one this module
  creates (dropped triggers, altered columns), then ``PRAGMA integrity_check`` (a damaged
  page, an index that no longer matches its table). A byte changed anywhere SQLite reads
  is therefore either a chain problem or an unreadable store; a byte in space SQLite does
  not use (the unallocated part of a page) changes nothing the log says.
* WAL mode with ``synchronous=FULL``: an event the broker was told is logged survives a
  power cut. A connection per thread, as in the reference index.
* The tables may share a file with the other stores (their names do not clash); ``drop``
  removes only the log's tables, and the file only when nothing else is left in it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc

from broker import sqlite_file
from broker.audit.chain import ChainVerifier, chain
from broker.audit.model import (
    EMPTY_HEAD,
    EVENT_FIELDS,
    AuditEvent,
    AuditRecord,
    ChainHead,
    VerifyReport,
    event_fields,
    event_from_fields,
    format_time,
)
from broker.index.errors import IndexRequestFailed, ReferenceIndexError
from broker.index.model import utc

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
PAGE_EVENTS = 1_000
_TABLES = ("audit_meta", "audit_events", "audit_head")
_APPEND_ONLY = "SELECT RAISE(ABORT, 'the audit log is append-only')"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_meta (
        name VARCHAR(64) PRIMARY KEY,
        value VARCHAR(200) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit_events (
        seq INTEGER PRIMARY KEY,
        at CHAR(27) NOT NULL,
        actor VARCHAR(128) NOT NULL,
        actor_country VARCHAR(2) NOT NULL,
        action VARCHAR(16) NOT NULL,
        outcome VARCHAR(64) NOT NULL,
        purpose VARCHAR(200) NOT NULL,
        legal_basis VARCHAR(200) NOT NULL,
        countries TEXT NOT NULL,
        blind_keys TEXT NOT NULL,
        request_id VARCHAR(32) NOT NULL,
        reference VARCHAR(128) NOT NULL,
        search_id VARCHAR(128) NOT NULL,
        detail VARCHAR(500) NOT NULL,
        prev_hash CHAR(64) NOT NULL,
        hash CHAR(64) NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_events_by_at ON audit_events (at)",
    "CREATE INDEX IF NOT EXISTS audit_events_by_actor ON audit_events (actor, seq)",
    """CREATE TABLE IF NOT EXISTS audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash CHAR(64) NOT NULL
    )""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_events_no_update
        BEFORE UPDATE ON audit_events BEGIN {_APPEND_ONLY}; END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_events_no_delete
        BEFORE DELETE ON audit_events BEGIN {_APPEND_ONLY}; END""",
)
_COLUMNS = ", ".join(EVENT_FIELDS)
_INSERT = f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({', '.join('?' * len(EVENT_FIELDS))})"
_SELECT = f"SELECT {_COLUMNS} FROM audit_events"
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
_INSERT_HEAD = "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"
_MOVE_HEAD = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"
_OBJECTS = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN ({})".format(
    ", ".join(f"'{table}'" for table in _TABLES)
)


def translate(exc: BaseException, operation: str, path: Path) -> ReferenceIndexError:
    """The project's error for a sqlite3 (or file system) failure during ``operation``."""
    return sqlite_file.translate(exc, operation, path, "audit log")


def _schema_objects() -> frozenset[tuple[Any, ...]]:
    """The schema objects (type, name, table, SQL) this module creates, as SQLite records
    them: made in a scratch in-memory database so the comparison needs no copy of SQLite's
    normalisation rules."""
    scratch = sqlite3.connect(":memory:")
    try:
        for statement in _SCHEMA:
            scratch.execute(statement)
        return frozenset(scratch.execute(_OBJECTS).fetchall())
    finally:
        scratch.close()


_EXPECTED_OBJECTS = _schema_objects()


def _row_event(row: Sequence[Any]) -> AuditEvent:
    """The event of one row; ``ValueError`` if the row is not one (edited, damaged)."""
    values = dict(zip(EVENT_FIELDS, row, strict=True))
    for name in ("countries", "blind_keys"):
        text = values[name]
        if not isinstance(text, str):
            raise ValueError(f"{name} is not text")
        values[name] = json.loads(text)
    return event_from_fields(values)


def _event_row(event: AuditEvent) -> list[Any]:
    values = event_fields(event)
    values["countries"] = json.dumps(values["countries"], separators=(",", ":"))
    values["blind_keys"] = json.dumps(values["blind_keys"], separators=(",", ":"))
    return [values[name] for name in EVENT_FIELDS]


class SqliteAuditLog:
    """`AuditLog` in the SQLite file ``path`` (created, with its directory, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = sqlite_file.SqliteFile(
            self.path,
            what="audit log",
            schema=_SCHEMA,
            meta_table="audit_meta",
            schema_version=SCHEMA_VERSION,
            synchronous="FULL",
            logger=log,
        )

    def __repr__(self) -> str:
        return f"SqliteAuditLog(path={str(self.path)!r})"

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Create the tables and triggers if missing (also done on first use)."""
        self._file.prepare()

    def ping(self) -> bool:
        """The file opens, has our schema and answers a query; never raises."""
        return self._file.ping(_HEAD)

    def close(self) -> None:
        """Close every thread's connection."""
        self._file.close()

    # ------------------------------------------------------------------ append

    def append(self, record: AuditRecord) -> AuditEvent:
        """`append_many` of one record."""
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        """Chain ``records`` from the head and insert them, all in one immediate transaction."""
        if isinstance(records, AuditRecord):
            raise ValueError("append_many takes a sequence of AuditRecord")
        records = list(records)
        chain(records)  # validates the items before the write lock is taken
        if not records:
            return []
        try:
            with self._file.transaction() as db:
                row = db.execute(_HEAD).fetchone()
                head = EMPTY_HEAD if row is None else ChainHead(int(row[0]), str(row[1]))
                events = chain(records, head)
                db.executemany(_INSERT, [_event_row(event) for event in events])
                last = events[-1]
                db.execute(_INSERT_HEAD if row is None else _MOVE_HEAD, (last.seq, last.hash))
        except sqlite3.IntegrityError:
            raise IndexRequestFailed(
                f"SQLite audit log {self.path} already holds events beyond its head: it was "
                "altered outside the log; run verify",
                grpc.StatusCode.DATA_LOSS,
            ) from None
        except sqlite3.Error as exc:
            self._file.fail(exc, "append")
        return events

    # ------------------------------------------------------------------ read

    def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
    ) -> Iterator[AuditEvent]:
        """Pages of ``PAGE_EVENTS`` by seq (keyset), up to the head read when streaming starts.

        Each page is a short read, so a slow consumer holds no transaction open.
        """
        clauses = ["seq > ?", "seq <= ?"]
        values: list[object] = []
        if since is not None:
            clauses.append("at >= ?")
            values.append(format_time(utc(since, "since")))
        if until is not None:
            clauses.append("at < ?")
            values.append(format_time(utc(until, "until")))
        if actor is not None:
            if not isinstance(actor, str) or not actor:
                raise ValueError("actor must be a non-empty string")
            clauses.append("actor = ?")
            values.append(actor)
        sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT {PAGE_EVENTS}"
        return self._stream(sql, values)

    def _stream(self, sql: str, values: list[object]) -> Iterator[AuditEvent]:
        try:
            row = self._file.connection().execute(_HEAD).fetchone()
        except sqlite3.Error as exc:
            self._file.fail(exc, "export")
        end = 0 if row is None else int(row[0])
        after = 0
        while True:
            try:
                rows = self._file.connection().execute(sql, [after, end, *values]).fetchall()
            except sqlite3.Error as exc:
                self._file.fail(exc, "export")
            for stored in rows:
                try:
                    event = _row_event(stored)
                except (TypeError, ValueError):
                    raise IndexRequestFailed(
                        f"SQLite audit log {self.path}: an event cannot be read; run verify",
                        grpc.StatusCode.DATA_LOSS,
                    ) from None
                yield event
                after = event.seq
            if len(rows) < PAGE_EVENTS:
                return

    def verify(self, *, anchor: ChainHead | None = None) -> VerifyReport:
        """Check the chain, then the schema, then SQLite's own integrity (module docstring)."""
        verifier = ChainVerifier(anchor=anchor)
        if not self.path.is_file():
            return verifier.unreadable(f"{self.path} does not exist")
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.text_factory = _lenient_text
        except sqlite3.Error as exc:
            return verifier.unreadable(f"cannot open the database ({sqlite_file.error_code(exc)})")
        try:
            db.execute("BEGIN")  # one snapshot for the head and every event
            try:
                return self._verify(db, anchor)
            finally:
                db.execute("COMMIT")
        except (sqlite3.Error, UnicodeError) as exc:
            # sqlite3 decodes SQLite's own messages as UTF-8; for a damaged schema they may
            # quote bytes that are not, and that surfaces as a UnicodeDecodeError.
            return verifier.unreadable(
                f"the database cannot be read ({sqlite_file.error_code(exc)})"
            )
        finally:
            db.close()

    def _verify(self, db: sqlite3.Connection, anchor: ChainHead | None) -> VerifyReport:
        row = db.execute(_HEAD).fetchone()
        try:
            head = EMPTY_HEAD if row is None else ChainHead(_integer(row[0]), str(row[1]))
        except ValueError:
            return ChainVerifier(anchor=anchor).unreadable("the head row is damaged")
        verifier = ChainVerifier(head=head, anchor=anchor)
        for stored in db.execute(f"{_SELECT} ORDER BY seq"):
            try:
                event = _row_event(stored)
            except (TypeError, ValueError):
                seq = stored[EVENT_FIELDS.index("seq")]
                seq = seq if isinstance(seq, int) else None
                return verifier.unreadable(f"event {seq} cannot be read as an event", seq)
            problem = verifier.feed(event)
            if problem is not None:
                return problem
        report = verifier.finish()
        if not report.ok:
            return report
        if frozenset(db.execute(_OBJECTS).fetchall()) != _EXPECTED_OBJECTS:
            return verifier.fail(
                "audit store altered: its tables, indexes or triggers differ from the ones "
                "the log creates (changed outside the log)",
                None,
            )
        if db.execute("SELECT name, value FROM audit_meta").fetchall() != [
            ("schema", SCHEMA_VERSION)
        ]:
            return verifier.fail("audit store altered: its schema record was changed", None)
        checked = [str(line) for (line,) in db.execute("PRAGMA integrity_check(10)")]
        if checked != ["ok"]:
            return verifier.unreadable("SQLite's integrity check failed (a damaged page or index)")
        return report

    def documents(self) -> Iterator[dict[str, object]]:
        """Every row of the log's tables, tagged with its table."""
        yield from self._file.documents(_TABLES)

    def drop(self) -> None:
        """Drop the log's tables (and triggers); delete the file when nothing else is in it."""
        self._file.drop(_TABLES)


def _lenient_text(raw: bytes) -> str:
    """Text as stored, even if no longer UTF-8: a damaged byte then fails validation at its
    event (with the event's seq) instead of failing the whole read."""
    return raw.decode("utf-8", "surrogateescape")


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value
