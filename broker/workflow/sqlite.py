"""Details requests in one SQLite file: the zero-setup default for a single machine.

Why it is built this way:

* Optimistic concurrency with a ``version`` counter column: an update is
  ``UPDATE ... SET ..., version = version + 1 WHERE request_id = ? AND version = ?`` inside
  ``BEGIN IMMEDIATE``, and a row count of 0 means someone else wrote first. The immediate
  transaction takes SQLite's write lock before the statement reads, so two connections (or
  two processes) deciding the same request are serialized and the second one sees the
  first one's version, never a stale snapshot.
* A connection per thread (sqlite3 connections must not be shared), because the broker
  calls the store from ``asyncio.to_thread`` workers; WAL mode so reads do not wait for
  writes, ``synchronous=FULL`` because a decision that was answered must survive a crash.
* Portable SQL, as in the reference index, so the same statements would run on PostgreSQL.
* The tables may share a file with the reference index (their names do not clash); ``drop``
  removes only this store's tables, and the file only when nothing else is left in it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import grpc

from broker.index.errors import IndexRequestFailed, IndexUnavailable, ReferenceIndexError
from broker.index.model import utc
from broker.workflow.errors import ConcurrentUpdate, DuplicateRequest, RequestNotFound
from broker.workflow.model import (
    STORED_FIELDS,
    DetailsRequest,
    RequestQuery,
    RequestState,
    check_request_id,
    format_time,
    from_stored,
    stored_fields,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
_TABLES = ("workflow_meta", "details_requests")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS workflow_meta (
        name VARCHAR(64) PRIMARY KEY,
        value VARCHAR(200) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS details_requests (
        request_id CHAR(32) PRIMARY KEY,
        country CHAR(2) NOT NULL,
        reference VARCHAR(128) NOT NULL,
        purpose VARCHAR(200) NOT NULL,
        legal_basis VARCHAR(200) NOT NULL,
        justification VARCHAR(4000) NOT NULL,
        requester VARCHAR(128) NOT NULL,
        requester_country CHAR(2) NOT NULL,
        state VARCHAR(16) NOT NULL,
        created_at CHAR(27) NOT NULL,
        deadline_at CHAR(27) NOT NULL,
        updated_at CHAR(27) NOT NULL,
        decided_by VARCHAR(128) NOT NULL,
        decided_at CHAR(27),
        handling_code VARCHAR(2) NOT NULL,
        handling_note VARCHAR(1000) NOT NULL,
        expires_at CHAR(27),
        denial_reason VARCHAR(1000) NOT NULL,
        grant_nonce VARCHAR(128) NOT NULL,
        revealed_at CHAR(27),
        version INTEGER NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS details_requests_by_requester
        ON details_requests (requester, created_at)""",
    """CREATE INDEX IF NOT EXISTS details_requests_by_state
        ON details_requests (state, deadline_at, country)""",
    """CREATE INDEX IF NOT EXISTS details_requests_by_country
        ON details_requests (country, state, created_at)""",
)
_READ_SCHEMA = "SELECT value FROM workflow_meta WHERE name = 'schema'"
_WRITE_SCHEMA = "INSERT INTO workflow_meta (name, value) VALUES ('schema', ?)"
_COLUMNS = ", ".join(STORED_FIELDS)
_INSERT = (
    f"INSERT INTO details_requests ({_COLUMNS}, version) "
    f"VALUES ({', '.join('?' * len(STORED_FIELDS))}, 1)"
)
_MUTABLE = [name for name in STORED_FIELDS if name != "request_id"]
_UPDATE = (
    "UPDATE details_requests SET "
    + ", ".join(f"{name} = ?" for name in _MUTABLE)
    + ", version = version + 1 WHERE request_id = ? AND version = ?"
)
_SELECT = f"SELECT {_COLUMNS}, version FROM details_requests"
_GET = f"{_SELECT} WHERE request_id = ?"
_VERSION = "SELECT version FROM details_requests WHERE request_id = ?"
_COUNT_OVERDUE = """SELECT country, COUNT(*) FROM details_requests
    WHERE state = ? AND deadline_at < ? GROUP BY country"""

_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_PERM",
    "SQLITE_PROTOCOL",
    "SQLITE_NOLFS",
)
_NOT_A_STORE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def translate(exc: BaseException, operation: str, path: Path) -> ReferenceIndexError:
    """The project's error for a sqlite3 (or file system) failure during ``operation``.

    Uses SQLite's error *code name*, never its message, which for constraint errors can
    quote values.
    """
    where = f"SQLite request store {path}"
    if isinstance(exc, OSError):
        return IndexUnavailable(f"{where} cannot be opened ({operation}: {type(exc).__name__})")
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    if name.startswith(_UNAVAILABLE):
        return IndexUnavailable(f"{where} is unavailable ({operation}: {name})")
    if name.startswith(_NOT_A_STORE):
        return IndexRequestFailed(
            f"{where} is not a usable database ({operation}: {name})",
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    return IndexRequestFailed(f"{where} failed ({operation}: {name})")


def _version(token: str) -> int:
    if not isinstance(token, str) or not token.isdigit() or len(token) > 18:
        raise ValueError("expected_version is not a version this store issued")
    return int(token)


class SqliteRequestStore:
    """`RequestStore` in the SQLite file ``path`` (created, with its directory, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._prepared = False
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteRequestStore(path={str(self.path)!r})"

    def _fail(self, exc: BaseException, operation: str) -> NoReturn:
        raise translate(exc, operation, self.path) from None

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise IndexRequestFailed(
                "the SQLite request store is closed", grpc.StatusCode.FAILED_PRECONDITION
            )
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc, "open")
            with self._lock:
                self._connections.append(db)
            self._local.db = db
        if not self._prepared:
            self._create_schema(db)
        return db

    def _create_schema(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    db.execute(statement)
                row = db.execute(_READ_SCHEMA).fetchone()
                if row is None:
                    db.execute(_WRITE_SCHEMA, (SCHEMA_VERSION,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._fail(exc, "prepare")
        if row is not None and row[0] != SCHEMA_VERSION:
            raise IndexRequestFailed(
                f"SQLite request store {self.path} has schema {row[0]}, "
                f"this broker needs {SCHEMA_VERSION}",
                grpc.StatusCode.FAILED_PRECONDITION,
            )
        self._prepared = True

    def _request(self, row: tuple[Any, ...]) -> DetailsRequest:
        """The request a row holds; a row that is not one is the store's failure, not ours."""
        try:
            fields = dict(zip(STORED_FIELDS, row[:-1], strict=True))
            return from_stored(fields, str(row[-1]))
        except (KeyError, TypeError, ValueError):
            raise IndexRequestFailed(
                f"SQLite request store {self.path} holds a malformed request",
                grpc.StatusCode.DATA_LOSS,
            ) from None

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Create the tables if missing (also done on first use)."""
        self._create_schema(self._connection())

    def ping(self) -> bool:
        """The file opens, has our schema and answers a query; never raises."""
        try:
            self._connection().execute("SELECT COUNT(*) FROM workflow_meta").fetchone()
        except sqlite3.Error as exc:
            log.warning("request store ping failed: %s", translate(exc, "ping", self.path))
            return False
        except ReferenceIndexError as error:
            log.warning("request store ping failed: %s", error)
            return False
        return True

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._closed = True
            self._local = threading.local()
        for db in connections:
            try:
                db.close()
            except sqlite3.Error as exc:
                log.warning(
                    "closing the request store failed: %s", translate(exc, "close", self.path)
                )

    # ------------------------------------------------------------------ write

    def create(self, request: DetailsRequest) -> DetailsRequest:
        """Insert the request with version 1."""
        if not isinstance(request, DetailsRequest):
            raise ValueError("create takes a DetailsRequest")
        fields = stored_fields(request)
        try:
            self._connection().execute(_INSERT, [fields[name] for name in STORED_FIELDS])
        except sqlite3.IntegrityError:
            raise DuplicateRequest("a request with this id already exists") from None
        except sqlite3.Error as exc:
            self._fail(exc, "create")
        return replace(request, version="1")

    def update(self, request: DetailsRequest, expected_version: str) -> DetailsRequest:
        """Compare-and-set on the version column, under SQLite's write lock."""
        if not isinstance(request, DetailsRequest):
            raise ValueError("update takes a DetailsRequest")
        expected = _version(expected_version)
        fields = stored_fields(request)
        values = [*(fields[name] for name in _MUTABLE), request.request_id, expected]
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                changed = db.execute(_UPDATE, values).rowcount
                stored = None if changed else db.execute(_VERSION, (request.request_id,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._fail(exc, "update")
        if changed:
            return replace(request, version=str(expected + 1))
        if stored is None:
            raise RequestNotFound("no request has this id")
        raise ConcurrentUpdate("the request was changed by someone else; read it again")

    # ------------------------------------------------------------------ read

    def get(self, request_id: str) -> DetailsRequest:
        """The row of ``request_id``."""
        check_request_id(request_id)
        try:
            row = self._connection().execute(_GET, (request_id,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc, "get")
        if row is None:
            raise RequestNotFound("no request has this id")
        return self._request(row)

    def list(
        self,
        *,
        requester: str | None = None,
        country: str | None = None,
        states: Collection[RequestState] | None = None,
        overdue_at: datetime | None = None,
        limit: int = 500,
    ) -> list[DetailsRequest]:
        """One indexed SELECT with the filters given."""
        query = RequestQuery.build(
            requester=requester, country=country, states=states, overdue_at=overdue_at, limit=limit
        )
        if query.matches_nothing:
            return []
        clauses: list[str] = []
        values: list[object] = []
        if query.requester is not None:
            clauses.append("requester = ?")
            values.append(query.requester)
        if query.country is not None:
            clauses.append("country = ?")
            values.append(query.country)
        if query.states is not None:
            clauses.append(f"state IN ({', '.join('?' * len(query.states))})")
            values.extend(state.value for state in query.states)
        if query.overdue_at is not None:
            clauses.append("deadline_at < ?")
            values.append(format_time(query.overdue_at))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{_SELECT}{where} ORDER BY created_at DESC, request_id ASC LIMIT ?"
        try:
            rows = self._connection().execute(sql, [*values, query.limit]).fetchall()
        except sqlite3.Error as exc:
            self._fail(exc, "list")
        return [self._request(row) for row in rows]

    def count_overdue(self, at: datetime) -> dict[str, int]:
        """``GROUP BY country`` over pending rows past their deadline."""
        moment = utc(at, "at")
        try:
            rows = (
                self._connection()
                .execute(_COUNT_OVERDUE, (RequestState.PENDING.value, format_time(moment)))
                .fetchall()
            )
        except sqlite3.Error as exc:
            self._fail(exc, "count overdue")
        return {str(country): int(count) for country, count in rows}

    def documents(self) -> Iterator[dict[str, object]]:
        """Every row of this store's tables, tagged with its table."""
        db = self._connection()
        for table in _TABLES:
            try:
                cursor = db.execute(f"SELECT * FROM {table}")
                columns = [column[0] for column in cursor.description]
                for row in cursor:
                    yield {"_table": table, **dict(zip(columns, row, strict=True))}
            except sqlite3.Error as exc:
                self._fail(exc, "read documents")

    def drop(self) -> None:
        """Drop this store's tables; delete the file too when nothing else lives in it."""
        db = self._connection()
        try:
            for table in reversed(_TABLES):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            others = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.Error as exc:
            self._fail(exc, "drop")
        self.close()
        if not others:
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.unlink(f"{self.path}{suffix}")
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise translate(exc, "drop", self.path) from None
        self._prepared = False
        self._closed = False
