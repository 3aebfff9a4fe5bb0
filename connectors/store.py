"""Where a node keeps its records and their blind keys: the plug-in interface and SQL.

A member state plugs its own system in by implementing `RecordStore` (four methods; see
docs/connector-backends.md). The SQL implementation here runs on SQLite for the demo and
sticks to portable SQL (no upserts, no SQLite-only types) so PostgreSQL can run it too.

The node never answers from plaintext: `match` looks up digests in the key table and returns
which records own them. The plaintext payload is kept for the reveal step only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import struct
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, compress
from pathlib import Path
from typing import Protocol

from connectors.keys import BlindKey
from connectors.records import Record


class StoreError(Exception):
    """The node's database failed; the message is safe to show (no SQL, no data)."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record ready to store: its opaque reference and its blind keys."""

    record: Record
    reference: str
    keys: Sequence[BlindKey]


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """One stored key that equals a looked-up digest."""

    reference: str
    kind: str
    category: str
    sex: str
    key_type: str
    strength: int


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    """What a node may publish of a record: reference, kind, category and blind keys."""

    reference: str
    kind: str
    category: str
    keys: tuple[tuple[str, int, str], ...]  # (key_type, strength, digest)


class RecordStore(Protocol):
    """What a connector needs from a backend. Implementations must be thread-safe."""

    def match(self, digests: Sequence[str]) -> list[KeyMatch]:
        """Every stored key whose digest is in digests, with its record's public facts."""
        ...

    def store(self, records: Iterable[StoredRecord], replace_all: bool, scheme: str) -> int:
        """Insert or update records atomically (all or none); replace_all drops the rest."""
        ...

    def counts(self) -> dict[str, int]:
        """Number of records by kind."""
        ...

    def scheme_version(self) -> str | None:
        """The key scheme the stored keys were made with, or None when empty."""
        ...

    def published_records(self) -> Iterator[PublishedRecord]:
        """Every record's anonymized form, from one consistent snapshot, streamed."""
        ...


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS records (
        record_id VARCHAR(200) PRIMARY KEY,
        reference VARCHAR(64) NOT NULL UNIQUE,
        kind VARCHAR(16) NOT NULL,
        category VARCHAR(16) NOT NULL,
        sex VARCHAR(1) NOT NULL,
        payload TEXT NOT NULL,
        stored_at VARCHAR(32) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS record_keys (
        digest CHAR(32) NOT NULL,
        record_id VARCHAR(200) NOT NULL,
        key_type VARCHAR(48) NOT NULL,
        strength SMALLINT NOT NULL,
        PRIMARY KEY (digest, record_id, key_type)
    )""",
    "CREATE INDEX IF NOT EXISTS record_keys_by_record ON record_keys (record_id)",
    """CREATE TABLE IF NOT EXISTS node_meta (
        name VARCHAR(64) PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)
_MATCH = """SELECT r.reference, r.kind, r.category, r.sex, k.key_type, k.strength
    FROM record_keys k JOIN records r ON r.record_id = k.record_id
    WHERE k.digest IN ({marks})"""
_PUBLISHED = """SELECT r.reference, r.kind, r.category, k.key_type, k.strength, k.digest
    FROM records r JOIN record_keys k ON k.record_id = r.record_id
    ORDER BY r.reference, k.strength DESC, k.key_type, k.digest"""
_DELETE_KEYS = "DELETE FROM record_keys WHERE record_id = ?"
_DELETE_RECORD = "DELETE FROM records WHERE record_id = ?"
_INSERT_RECORD = """INSERT INTO records
    (record_id, reference, kind, category, sex, payload, stored_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)"""
_INSERT_KEY = "INSERT INTO record_keys (digest, record_id, key_type, strength) VALUES (?, ?, ?, ?)"
_SCHEME_READ = "SELECT value FROM node_meta WHERE name = 'scheme_version'"
_SCHEME_DELETE = "DELETE FROM node_meta WHERE name = 'scheme_version'"
_SCHEME_WRITE = "INSERT INTO node_meta (name, value) VALUES ('scheme_version', ?)"
_BATCH = 5000
_MATCH_DIGESTS = """SELECT k.digest, r.reference, r.kind, r.category, r.sex, k.key_type, k.strength
    FROM record_keys k JOIN records r ON r.record_id = k.record_id
    WHERE k.digest IN ({marks})"""
# Digests per statement of a batch look-up. SQLite builds before 3.32 allow 999 variables,
# later ones 32766; the connection's own limit is read, and this caps it so one statement
# stays a few hundred kilobytes of SQL.
_MAX_DIGESTS_PER_STATEMENT = 16_384
# Statement sizes a batch look-up is padded up to, so the sqlite3 statement cache holds
# a handful of prepared IN lists instead of one per distinct batch size.
_STATEMENT_SIZES = (64, 256, 1024, 4096, 16_384)
# A store with more stored keys than this keeps no in-memory set of them (about 90 bytes
# a digest): batch look-ups then go to SQL whole.
MAX_HELD_DIGESTS = 2_000_000
_HELD_DIGESTS = "SELECT digest FROM record_keys"
DIGEST_BYTES = 16
# The in-memory set holds each digest's first 8 bytes as an integer, read out of a batch's
# packed digests this many at a time by a precompiled struct: no object per digest but an
# int, whose hash is itself (a bytes object's is computed), about a third faster to look up.
_PREFIXES_PER_CHUNK = 256
_PREFIXES = struct.Struct(">" + "Q8x" * _PREFIXES_PER_CHUNK)


class _HeldDigests:
    """Every digest the store holds, in memory, refreshed whenever the database changed.

    A screening batch carries tens of thousands of digests of which a handful are held;
    an SQL probe costs about 2 microseconds a digest, a set look-up a few dozen
    nanoseconds, so SQL is asked only for the digests the set holds. The set keeps the
    first 64 bits of each digest (an int, ~40 bytes, against ~80 for the hex string): a
    digest whose prefix is held is a candidate that SQL then confirms on the whole digest,
    so a chance collision of prefixes (about 1 in 10^13 per look-up at two million keys)
    costs an SQL probe, never a false hit. The set is read on a connection of its own that
    never writes, so SQLite's `data_version` on it changes with every commit of any other
    connection or process (an import into a running node), and the set is read again
    before the next look-up: a look-up never misses a record committed before it began.
    """

    def __init__(self, path: Path, max_digests: int) -> None:
        self._path = path
        self._max = max_digests
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._version: int | None = None
        self._prefixes: frozenset[int] | None = None
        self._identity: tuple[int, int] | None = None

    def candidates(self, packed: bytes, identity: tuple[int, int]) -> list[int] | None:
        """Positions (in digests) of the packed 16-byte digests whose prefix the store
        holds; None when it keeps no set.

        identity: the database file's, as the store just found it; another one (the file
        was replaced) drops the connection and the set, which were the old file's.
        """
        with self._lock:
            if self._db is not None and identity != self._identity:
                self._db.close()
                self._db, self._version = None, None
            if self._db is None:
                self._db = _open_existing(self._path, check_same_thread=False)
                self._identity = identity
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._prefixes = None  # the old set goes before the new one is read
                rows = self._db.execute(_HELD_DIGESTS)
                found: set[int] = set()
                while len(found) <= self._max and (chunk := rows.fetchmany(10_000)):
                    found.update(int(row[0][:16], 16) for row in chunk)
                rows.close()
                self._prefixes = frozenset(found) if len(found) <= self._max else None
                self._version = version
            current = self._prefixes
        if current is None:
            return None
        count = len(packed) // DIGEST_BYTES
        padding = bytes(DIGEST_BYTES * (-count % _PREFIXES_PER_CHUNK))
        prefixes = list(chain.from_iterable(_PREFIXES.iter_unpack(packed + padding)))
        del prefixes[count:]
        held = current.intersection(prefixes)
        if not held:
            return []
        return list(compress(range(count), map(held.__contains__, prefixes)))


class SqliteRecordStore:
    """RecordStore on an SQLite file, in WAL mode so imports never block look-ups.

    Each thread gets its own connection (sqlite3 connections are not shareable), so an
    import can write while the service looks up.

    `answers_inline`: a look-up is an indexed read of a local file (about 0.1 ms), cheaper
    than the hand-off to a worker thread, so the service runs it on its event loop. A
    store that goes over a network leaves this False and is called in a thread.
    """

    answers_inline = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)  # created here only: later opens must find it (`_connection`)
        with self._transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, to the file now at the path (`current_connection`)."""
        return current_connection(self._local, self.path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def match(self, digests: Sequence[str]) -> list[KeyMatch]:
        """See RecordStore.match."""
        if not digests:
            return []
        sql = _MATCH.format(marks=", ".join("?" * len(digests)))
        try:
            rows = self._connection().execute(sql, tuple(digests)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"look-up failed: {type(exc).__name__}") from None
        return [KeyMatch(*row) for row in rows]

    def match_packed(self, packed: bytes) -> list[tuple[int, KeyMatch]]:
        """Like `match` for many raw 16-byte digests at once, concatenated (a screening
        batch); each match with the position (in digests) of the digest it matched.

        The position is what maps a match back to the subject that sent it. Digests the
        store does not hold are dropped first against the in-memory set of held digests
        (`_HeldDigests`); the rest go to SQL in statements of at most the connection's
        variable limit (an IN list; the index on digest serves it), padded up to one of a
        few sizes with a repeated digest so the prepared statements are reused from
        sqlite3's cache.
        """
        if not packed:
            return []
        db = self._connection()
        held = self.__dict__.setdefault(
            "_held_digests", _HeldDigests(self.path, MAX_HELD_DIGESTS)
        )  # created on first use; setdefault is atomic, so threads share one
        try:
            positions = held.candidates(packed, self._local.identity)
        except sqlite3.Error as exc:
            raise StoreError(f"look-up failed: {type(exc).__name__}") from None
        if positions is None:
            positions = list(range(len(packed) // DIGEST_BYTES))
        where: dict[str, list[int]] = {}
        for position in positions:
            start = position * DIGEST_BYTES
            where.setdefault(packed[start : start + DIGEST_BYTES].hex(), []).append(position)
        if not where:
            return []
        wanted = list(where)
        limit = min(_MAX_DIGESTS_PER_STATEMENT, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        rows: list[tuple[int, KeyMatch]] = []
        try:
            for start in range(0, len(wanted), limit):
                chunk = wanted[start : start + limit]
                size = next((s for s in _STATEMENT_SIZES if s >= len(chunk)), len(chunk))
                size = min(size, limit)
                chunk += [chunk[0]] * (size - len(chunk))
                sql = _MATCH_DIGESTS.format(marks=", ".join("?" * size))
                for digest, *match in db.execute(sql, chunk):
                    found = KeyMatch(*match)
                    rows.extend((position, found) for position in where[digest])
        except sqlite3.Error as exc:
            raise StoreError(f"look-up failed: {type(exc).__name__}") from None
        return rows

    def store(self, records: Iterable[StoredRecord], replace_all: bool, scheme: str) -> int:
        """See RecordStore.store. One transaction: a failure leaves the previous state."""
        stored_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        count = 0
        try:
            with self._transaction() as db:
                if replace_all:
                    db.execute("DELETE FROM record_keys")
                    db.execute("DELETE FROM records")
                else:
                    self._check_scheme(db, scheme)
                for batch in _batches(records, _BATCH):
                    ids = [(item.record.record_id,) for item in batch]
                    if not replace_all:
                        db.executemany(_DELETE_KEYS, ids)
                        db.executemany(_DELETE_RECORD, ids)
                    db.executemany(_INSERT_RECORD, [_record_row(i, stored_at) for i in batch])
                    db.executemany(
                        _INSERT_KEY,
                        [
                            (key.digest, item.record.record_id, key.key_type, int(key.strength))
                            for item in batch
                            for key in item.keys
                        ],
                    )
                    count += len(batch)
                db.execute(_SCHEME_DELETE)
                db.execute(_SCHEME_WRITE, (scheme,))
                _set_meta(db, "generation", uuid.uuid4().hex)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"import refused: duplicate record id or reference ({exc})") from None
        except sqlite3.Error as exc:
            raise StoreError(f"import failed: {exc}") from None
        return count

    def _check_scheme(self, db: sqlite3.Connection, scheme: str) -> None:
        row = db.execute(_SCHEME_READ).fetchone()
        if row and row[0] != scheme and db.execute("SELECT 1 FROM records LIMIT 1").fetchone():
            raise StoreError(
                f"stored keys use scheme {row[0]}, this node computes {scheme}: "
                "re-import everything with --replace"
            )

    def counts(self) -> dict[str, int]:
        """See RecordStore.counts."""
        try:
            rows = (
                self._connection()
                .execute("SELECT kind, COUNT(*) FROM records GROUP BY kind")
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"count failed: {type(exc).__name__}") from None
        return {kind: count for kind, count in rows}

    def scheme_version(self) -> str | None:
        """See RecordStore.scheme_version."""
        row = self._connection().execute(_SCHEME_READ).fetchone()
        return row[0] if row else None

    def generation(self) -> str | None:
        """Changes with every import: tells a publisher whether there is anything new."""
        return self._meta("generation")

    def last_publication(self, broker: str) -> tuple[str, float] | None:
        """(generation, unix time) of the last successful publication to broker."""
        value = self._meta(f"published:{broker}")
        if value is None:
            return None
        generation, _, moment = value.partition("@")
        return generation, float(moment or 0)

    def mark_published(self, broker: str, generation: str, moment: float) -> None:
        """Remember a successful publication to broker."""
        with self._transaction() as db:
            _set_meta(db, f"published:{broker}", f"{generation}@{moment}")

    def _meta(self, name: str) -> str | None:
        try:
            row = (
                self._connection()
                .execute("SELECT value FROM node_meta WHERE name = ?", (name,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"reading node metadata failed: {type(exc).__name__}") from None
        return row[0] if row else None

    def published_records(self) -> Iterator[PublishedRecord]:
        """See RecordStore.published_records. One SELECT: one WAL snapshot.

        Its own connection (the stream may be read from another thread), opened now, as
        `current_connection` opens one: a database gone is a StoreError here, before a
        publication starts, never an empty database created in its place and published.
        """
        _file_identity(self.path)
        try:
            db = _open_existing(self.path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the node database {self.path}: {exc}") from None
        return self._published(db)

    def _published(self, db: sqlite3.Connection) -> Iterator[PublishedRecord]:
        try:
            rows = db.execute(_PUBLISHED)
            current: tuple[str, str, str] | None = None
            keys: list[tuple[str, int, str]] = []
            for reference, kind, category, key_type, strength, digest in rows:
                if current is not None and reference != current[0]:
                    yield PublishedRecord(*current, tuple(keys))
                    keys = []
                current = (reference, kind, category)
                keys.append((key_type, strength, digest))
            if current is not None:
                yield PublishedRecord(*current, tuple(keys))
        except sqlite3.Error as exc:
            raise StoreError(f"reading records to publish failed: {type(exc).__name__}") from None
        finally:
            db.close()

    def payloads(self) -> Iterator[tuple[str, str]]:
        """(record_id, payload JSON) of every record; for re-keying after a scheme change."""
        yield from self._connection().execute("SELECT record_id, payload FROM records")


def current_connection(local: threading.local, path: Path) -> sqlite3.Connection:
    """This thread's connection (kept in `local`) to the database file now at path.

    An open connection keeps reading a database file that was deleted, so without a look
    at the path the node would go on answering (and its health check passing) from a file
    that is gone. So the path is looked at on every use (a stat, about a microsecond):
    gone is a StoreError, and a file put back (another inode) is opened afresh. Opening
    never creates the file: an empty database in its place would answer NO_HIT to
    everything (and take releases it cannot serve). Shared by everything that opens the
    node's database (the store, the release ledger) so they all follow this rule.
    """
    identity = _file_identity(path)
    db: sqlite3.Connection | None = getattr(local, "db", None)
    if db is not None and local.identity != identity:
        db.close()
        db = None
    if db is None:
        try:
            db = _open_existing(path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the node database {path}: {exc}") from None
        local.db = db
        local.identity = identity
    return db


def _file_identity(path: Path) -> tuple[int, int]:
    """(device, inode) of the database file; StoreError when it is gone."""
    try:
        found = os.stat(path)
    except OSError as exc:
        raise StoreError(f"the node database {path} is gone ({exc.strerror})") from None
    return found.st_dev, found.st_ino


def _open_existing(path: Path, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection to the database at path, which must exist (never created here)."""
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=rw",
        uri=True,
        timeout=30,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )


def _set_meta(db: sqlite3.Connection, name: str, value: str) -> None:
    db.execute("DELETE FROM node_meta WHERE name = ?", (name,))
    db.execute("INSERT INTO node_meta (name, value) VALUES (?, ?)", (name, value))


def _record_row(item: StoredRecord, stored_at: str) -> tuple[str, ...]:
    record = item.record
    payload = json.dumps(
        {"id": record.record_id, "kind": record.kind, "category": record.category}
        | dict(record.fields),
        ensure_ascii=False,
        sort_keys=True,
    )
    return (
        record.record_id,
        item.reference,
        record.kind,
        record.category,
        record.sex,
        payload,
        stored_at,
    )


def _batches(items: Iterable[StoredRecord], size: int) -> Iterator[list[StoredRecord]]:
    batch: list[StoredRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
