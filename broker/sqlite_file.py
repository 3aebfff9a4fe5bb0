"""One SQLite file as the broker's embedded stores use it (reference index, request store,
audit log): the connection handling they share, so each backend holds only its own SQL.

* A connection per thread (sqlite3 connections must not be shared), because the broker
  calls the stores from ``asyncio.to_thread`` workers; every connection is also kept in a
  lock-guarded list so `close` reaches the ones other threads opened.
* WAL mode, at the ``synchronous`` level the store asks for.
* A small page cache per connection (`CACHE_KIB`). Connections are per thread and per file,
  so SQLite's default (2 MiB each) times six executor threads times three files let the
  broker's memory climb by ~36 MiB as the files grew (the soak showed it); the operating
  system's page cache keeps the hot pages of these files anyway.
* The schema is created on first use in one ``BEGIN IMMEDIATE`` transaction with a
  ``schema`` row in the store's meta table; a file holding another version is refused.
* sqlite3 and file system failures become the project's errors by SQLite's error *code
  name*, never its message, which for constraint errors can quote values.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import grpc

from broker.index.errors import IndexRequestFailed, IndexUnavailable, ReferenceIndexError

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
_FILES = ("", "-wal", "-shm", "-journal")
# Page cache of each connection, in KiB (SQLite's default is 2,000).
CACHE_KIB = 256


def error_code(exc: BaseException) -> str:
    """SQLite's error code name for ``exc`` (the exception's type name if it has none)."""
    return getattr(exc, "sqlite_errorname", None) or type(exc).__name__


def translate(exc: BaseException, operation: str, path: Path, what: str) -> ReferenceIndexError:
    """The project's error for a sqlite3 (or file system) failure of the SQLite ``what``
    (``"reference index"``, ...) at ``path`` during ``operation``."""
    where = f"SQLite {what} {path}"
    if isinstance(exc, OSError):
        return IndexUnavailable(f"{where} cannot be opened ({operation}: {type(exc).__name__})")
    name = error_code(exc)
    if name.startswith(_UNAVAILABLE):
        return IndexUnavailable(f"{where} is unavailable ({operation}: {name})")
    if name.startswith(_NOT_A_STORE):
        return IndexRequestFailed(
            f"{where} is not a usable database ({operation}: {name})",
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    return IndexRequestFailed(f"{where} failed ({operation}: {name})")


class SqliteFile:
    """The SQLite file ``path`` (created, with its directory, on first use) holding the
    store ``what``: ``schema`` statements, a ``meta_table`` (``name``, ``value``) whose
    ``schema`` row must read ``schema_version``, and ``PRAGMA synchronous=<synchronous>``.
    """

    def __init__(
        self,
        path: Path,
        *,
        what: str,
        schema: Sequence[str],
        meta_table: str,
        schema_version: str,
        synchronous: str,
        logger: logging.Logger,
    ) -> None:
        self.path = Path(path)
        self.what = what
        self._schema = tuple(schema)
        self._read_version = f"SELECT value FROM {meta_table} WHERE name = 'schema'"
        self._write_version = f"INSERT INTO {meta_table} (name, value) VALUES ('schema', ?)"
        self._schema_version = schema_version
        self._synchronous = synchronous
        self._log = logger
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._prepared = False
        self._closed = False

    def translate(self, exc: BaseException, operation: str) -> ReferenceIndexError:
        """`translate` for this file."""
        return translate(exc, operation, self.path, self.what)

    def fail(self, exc: BaseException, operation: str) -> NoReturn:
        """Raise the translation of ``exc``, without the driver's exception as context."""
        raise self.translate(exc, operation) from None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema created) on first use."""
        if self._closed:
            raise IndexRequestFailed(
                f"the SQLite {self.what} is closed", grpc.StatusCode.FAILED_PRECONDITION
            )
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={self._synchronous}")
                db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            except (sqlite3.Error, OSError) as exc:
                self.fail(exc, "open")
            with self._lock:
                self._connections.append(db)
            self._local.db = db
        if not self._prepared:
            self._create_schema(db)
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside ``BEGIN IMMEDIATE`` (SQLite's write lock), committed
        at the end of the block, rolled back if it raises. sqlite3 errors are left to the
        caller, which knows which of them mean what."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def prepare(self) -> None:
        """Create the schema if missing (also done on first use)."""
        self._create_schema(self.connection())

    def _create_schema(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in self._schema:
                    db.execute(statement)
                row = db.execute(self._read_version).fetchone()
                if row is None:
                    db.execute(self._write_version, (self._schema_version,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.fail(exc, "prepare")
        if row is not None and row[0] != self._schema_version:
            raise IndexRequestFailed(
                f"SQLite {self.what} {self.path} has schema {row[0]}, "
                f"this broker needs {self._schema_version}",
                grpc.StatusCode.FAILED_PRECONDITION,
            )
        self._prepared = True

    def ping(self, query: str) -> bool:
        """The file opens, has the schema and answers ``query``; never raises."""
        try:
            self.connection().execute(query).fetchone()
        except sqlite3.Error as exc:
            self._log.warning("%s ping failed: %s", self.what, self.translate(exc, "ping"))
            return False
        except ReferenceIndexError as error:
            self._log.warning("%s ping failed: %s", self.what, error)
            return False
        return True

    def documents(self, tables: Sequence[str]) -> Iterator[dict[str, object]]:
        """Every row of ``tables``, tagged with its table."""
        db = self.connection()
        for table in tables:
            try:
                cursor = db.execute(f"SELECT * FROM {table}")
                columns = [column[0] for column in cursor.description]
                for row in cursor:
                    yield {"_table": table, **dict(zip(columns, row, strict=True))}
            except sqlite3.Error as exc:
                self.fail(exc, "read documents")

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
                self._log.warning(
                    "closing the %s failed: %s", self.what, self.translate(exc, "close")
                )

    def drop(self, tables: Sequence[str] | None = None) -> None:
        """Close the connections and delete the file with its WAL, shared memory and journal.

        With ``tables`` (a store sharing the file), drop those tables first and delete the
        file only when nothing else is left in it. Usable again afterwards.
        """
        others = 0
        if tables is not None:
            db = self.connection()
            try:
                for table in reversed(tables):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                others = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            except sqlite3.Error as exc:
                self.fail(exc, "drop")
        self.close()
        if not others:
            for suffix in _FILES:
                try:
                    os.unlink(f"{self.path}{suffix}")
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise self.translate(exc, "drop") from None
        self._prepared = False
        self._closed = False
