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
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc

from broker import sqlite_file
from broker.index.errors import IndexRequestFailed, ReferenceIndexError
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


def translate(exc: BaseException, operation: str, path: Path) -> ReferenceIndexError:
    """The project's error for a sqlite3 (or file system) failure during ``operation``."""
    return sqlite_file.translate(exc, operation, path, "request store")


def _version(token: str) -> int:
    if not isinstance(token, str) or not token.isdigit() or len(token) > 18:
        raise ValueError("expected_version is not a version this store issued")
    return int(token)


class SqliteRequestStore:
    """`RequestStore` in the SQLite file ``path`` (created, with its directory, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = sqlite_file.SqliteFile(
            self.path,
            what="request store",
            schema=_SCHEMA,
            meta_table="workflow_meta",
            schema_version=SCHEMA_VERSION,
            synchronous="FULL",
            logger=log,
        )

    def __repr__(self) -> str:
        return f"SqliteRequestStore(path={str(self.path)!r})"

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
        self._file.prepare()

    def ping(self) -> bool:
        """The file opens, has our schema and answers a query; never raises."""
        return self._file.ping("SELECT COUNT(*) FROM workflow_meta")

    def close(self) -> None:
        """Close every thread's connection."""
        self._file.close()

    # ------------------------------------------------------------------ write

    def create(self, request: DetailsRequest) -> DetailsRequest:
        """Insert the request with version 1."""
        if not isinstance(request, DetailsRequest):
            raise ValueError("create takes a DetailsRequest")
        fields = stored_fields(request)
        try:
            self._file.connection().execute(_INSERT, [fields[name] for name in STORED_FIELDS])
        except sqlite3.IntegrityError:
            raise DuplicateRequest("a request with this id already exists") from None
        except sqlite3.Error as exc:
            self._file.fail(exc, "create")
        return replace(request, version="1")

    def update(self, request: DetailsRequest, expected_version: str) -> DetailsRequest:
        """Compare-and-set on the version column, under SQLite's write lock."""
        if not isinstance(request, DetailsRequest):
            raise ValueError("update takes a DetailsRequest")
        expected = _version(expected_version)
        fields = stored_fields(request)
        values = [*(fields[name] for name in _MUTABLE), request.request_id, expected]
        try:
            with self._file.transaction() as db:
                changed = db.execute(_UPDATE, values).rowcount
                stored = None if changed else db.execute(_VERSION, (request.request_id,)).fetchone()
        except sqlite3.Error as exc:
            self._file.fail(exc, "update")
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
            row = self._file.connection().execute(_GET, (request_id,)).fetchone()
        except sqlite3.Error as exc:
            self._file.fail(exc, "get")
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
            rows = self._file.connection().execute(sql, [*values, query.limit]).fetchall()
        except sqlite3.Error as exc:
            self._file.fail(exc, "list")
        return [self._request(row) for row in rows]

    def count_overdue(self, at: datetime) -> dict[str, int]:
        """``GROUP BY country`` over pending rows past their deadline."""
        moment = utc(at, "at")
        try:
            rows = (
                self._file.connection()
                .execute(_COUNT_OVERDUE, (RequestState.PENDING.value, format_time(moment)))
                .fetchall()
            )
        except sqlite3.Error as exc:
            self._file.fail(exc, "count overdue")
        return {str(country): int(count) for country, count in rows}

    def documents(self) -> Iterator[dict[str, object]]:
        """Every row of this store's tables, tagged with its table."""
        yield from self._file.documents(_TABLES)

    def drop(self) -> None:
        """Drop this store's tables; delete the file too when nothing else lives in it."""
        self._file.drop(_TABLES)
