"""The reference index in one SQLite file: the zero-setup default for a single machine.

Why it is built this way:

* One transaction per publication: delete the country's rows, insert the new ones in
  batches as the iterator yields them, write the publication row, commit. Anything failing
  rolls back, so the previous publication is untouched; WAL mode lets lookups keep reading
  the previous publication while a large one is written.
* A connection per thread (sqlite3 connections must not be shared), because the broker calls
  the index from ``asyncio.to_thread`` workers.
* Portable SQL (no upserts, no SQLite-only types or ``WITHOUT ROWID``), so the same
  statements run on PostgreSQL should the embedded store ever be swapped for a shared one.
  Only the pragmas and ``BEGIN IMMEDIATE`` are SQLite's.
* Keys are indexed by digest first, which is all a lookup searches.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from broker import sqlite_file
from broker.index.errors import ReferenceIndexError, TooManyMatches
from broker.index.model import (
    IndexedReference,
    IndexMatch,
    Publication,
    check_country,
    lookup_countries,
    lookup_digests,
    ordered_matches,
    utc,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
MAX_LOOKUP_DIGESTS = 4096
MAX_MATCHES = 10_000
BATCH_REFERENCES = 1_000
_PARAMETERS_PER_QUERY = 500

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS index_meta (
        name VARCHAR(64) PRIMARY KEY,
        value VARCHAR(200) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS index_publications (
        country CHAR(2) PRIMARY KEY,
        as_of VARCHAR(40) NOT NULL,
        reference_count INTEGER NOT NULL,
        published_at VARCHAR(40) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS index_references (
        country CHAR(2) NOT NULL,
        reference VARCHAR(128) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        category VARCHAR(64) NOT NULL,
        PRIMARY KEY (country, reference)
    )""",
    """CREATE TABLE IF NOT EXISTS index_keys (
        digest CHAR(32) NOT NULL,
        country CHAR(2) NOT NULL,
        reference VARCHAR(128) NOT NULL,
        key_type VARCHAR(64) NOT NULL,
        strength SMALLINT NOT NULL,
        PRIMARY KEY (digest, country, reference, key_type)
    )""",
    "CREATE INDEX IF NOT EXISTS index_keys_by_reference ON index_keys (country, reference)",
)
_TABLES = ("index_meta", "index_publications", "index_references", "index_keys")
_DELETE_KEYS = "DELETE FROM index_keys WHERE country = ?"
_DELETE_REFERENCES = "DELETE FROM index_references WHERE country = ?"
_DELETE_PUBLICATION = "DELETE FROM index_publications WHERE country = ?"
_INSERT_REFERENCE = """INSERT INTO index_references (country, reference, kind, category)
    VALUES (?, ?, ?, ?)"""
_INSERT_KEY = """INSERT INTO index_keys (digest, country, reference, key_type, strength)
    VALUES (?, ?, ?, ?, ?)"""
_INSERT_PUBLICATION = """INSERT INTO index_publications
    (country, as_of, reference_count, published_at) VALUES (?, ?, ?, ?)"""
_PUBLICATIONS = "SELECT country, as_of, reference_count, published_at FROM index_publications"
_LOOKUP = """SELECT k.country, k.reference, r.kind, r.category, k.key_type, k.strength, p.as_of
    FROM index_keys k
    JOIN index_references r ON r.country = k.country AND r.reference = k.reference
    JOIN index_publications p ON p.country = k.country
    WHERE k.digest IN ({digests})"""
_AND_COUNTRIES = " AND k.country IN ({countries})"


def translate(exc: BaseException, operation: str, path: Path) -> ReferenceIndexError:
    """The project's error for a sqlite3 (or file system) failure during ``operation``."""
    return sqlite_file.translate(exc, operation, path, "reference index")


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class SqliteReferenceIndex:
    """`ReferenceIndex` in the SQLite file ``path`` (created, with its directory, on first use)."""

    def __init__(self, path: Path, *, max_matches: int = MAX_MATCHES) -> None:
        self.path = Path(path)
        self.max_matches = max_matches
        self._file = sqlite_file.SqliteFile(
            self.path,
            what="reference index",
            schema=_SCHEMA,
            meta_table="index_meta",
            schema_version=SCHEMA_VERSION,
            synchronous="NORMAL",
            logger=log,
        )

    def __repr__(self) -> str:
        return f"SqliteReferenceIndex(path={str(self.path)!r})"

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Create the tables if missing (also done on first use)."""
        self._file.prepare()

    def ping(self) -> bool:
        """The file opens, has our schema and answers a query."""
        return self._file.ping("SELECT COUNT(*) FROM index_publications")

    def close(self) -> None:
        """Close every thread's connection."""
        self._file.close()

    # ------------------------------------------------------------------ publish

    def publish(
        self, country: str, references: Iterable[IndexedReference], as_of: datetime
    ) -> Publication:
        """Replace the country's rows in one transaction, inserting in batches as they come."""
        check_country(country)
        as_of = utc(as_of, "as_of")
        published_at = datetime.now(UTC)
        count = 0
        try:
            with self._file.transaction() as db:
                db.execute(_DELETE_KEYS, (country,))
                db.execute(_DELETE_REFERENCES, (country,))
                db.execute(_DELETE_PUBLICATION, (country,))
                stream = iter(references)
                while batch := list(islice(stream, BATCH_REFERENCES)):
                    count += self._insert(db, country, batch)
                db.execute(
                    _INSERT_PUBLICATION,
                    (country, as_of.isoformat(), count, published_at.isoformat()),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"the publication of {country} lists a reference twice") from None
        except sqlite3.Error as exc:
            self._file.fail(exc, "publish")
        log.info("reference index published country=%s references=%d", country, count)
        return Publication(country, as_of, count, published_at)

    @staticmethod
    def _insert(db: sqlite3.Connection, country: str, batch: list[IndexedReference]) -> int:
        references: list[tuple[str, str, str, str]] = []
        keys: list[tuple[str, str, str, str, int]] = []
        for reference in batch:
            if not isinstance(reference, IndexedReference):
                raise ValueError("publish takes IndexedReference items")
            if reference.country != country:
                raise ValueError(f"a reference of another country in the publication of {country}")
            references.append((country, reference.reference, reference.kind, reference.category))
            strongest: dict[tuple[str, str], int] = {}
            for key in reference.keys:
                pair = (key.digest, key.key_type)
                strongest[pair] = max(key.strength, strongest.get(pair, 0))
            keys.extend(
                (digest, country, reference.reference, key_type, strength)
                for (digest, key_type), strength in strongest.items()
            )
        db.executemany(_INSERT_REFERENCE, references)
        db.executemany(_INSERT_KEY, keys)
        return len(references)

    # ------------------------------------------------------------------ read

    def lookup(
        self, digests: Iterable[str], countries: Iterable[str] | None = None
    ) -> list[IndexMatch]:
        """Every reference holding any of ``digests``, read in one snapshot."""
        wanted = lookup_digests(digests, MAX_LOOKUP_DIGESTS)
        among = lookup_countries(countries)
        if not wanted or among == []:
            return []
        country_clause = _AND_COUNTRIES.format(countries=_marks(len(among))) if among else ""
        found: dict[tuple[str, str], tuple[str, str, str, list[tuple[str, int]]]] = {}
        db = self._file.connection()
        try:
            db.execute("BEGIN")
            try:
                for chunk in _chunks(wanted, _PARAMETERS_PER_QUERY):
                    sql = _LOOKUP.format(digests=_marks(len(chunk))) + country_clause
                    cursor = db.execute(sql, [*chunk, *(among or [])])
                    try:
                        for country, reference, kind, category, key_type, strength, as_of in cursor:
                            entry = found.get((country, reference))
                            if entry is None:
                                if len(found) >= self.max_matches:
                                    raise TooManyMatches(
                                        f"more than {self.max_matches} references match one lookup"
                                    )
                                entry = found[(country, reference)] = (kind, category, as_of, [])
                            entry[3].append((key_type, int(strength)))
                    finally:
                        cursor.close()
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._file.fail(exc, "lookup")
        return ordered_matches(
            IndexMatch.from_keys(
                country,
                reference,
                kind,
                category,
                matched=matched,
                as_of=datetime.fromisoformat(as_of),
            )
            for (country, reference), (kind, category, as_of, matched) in found.items()
        )

    def publications(self) -> dict[str, Publication]:
        """The publication row of every country."""
        try:
            rows = self._file.connection().execute(_PUBLICATIONS).fetchall()
        except sqlite3.Error as exc:
            self._file.fail(exc, "read publications")
        return {
            country: Publication(
                country,
                datetime.fromisoformat(as_of),
                int(count),
                datetime.fromisoformat(published_at),
            )
            for country, as_of, count, published_at in rows
        }

    def documents(self) -> Iterator[dict[str, object]]:
        """Every row of every table this backend writes, tagged with its table."""
        yield from self._file.documents(_TABLES)

    def drop(self) -> None:
        """Close the connections and delete the database file with its WAL and shared memory."""
        self._file.drop()
