"""One changed byte in the SQLite audit file: `verify` must fail, never pass.

The targeted tests change a byte where an event's data lies and expect the chain problem
at that event, or damage SQLite's own structures and expect an unreadable store. The sweep
changes bytes all over the file, one at a time, and holds `verify` to the only honest
promise: it passes only if the change altered nothing SQLite reads (unallocated space in
a page, a free-form header field); whenever the database says anything different, or can
no longer be read, `verify` reports a problem. It never raises.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from broker.audit import SqliteAuditLog, VerifyReport
from tests.workflow.builders import record

EVENTS = 12
SWEEP_STRIDE = int(os.environ.get("SELEC_AUDIT_SWEEP_STRIDE", "23"))
"""Every 23rd byte of the file (about 1,600 of a 36 KiB file): a prime stride, so the
positions fall on every offset within the pages' structures over the sweep. Set
``SELEC_AUDIT_SWEEP_STRIDE=1`` for every byte (about 3 minutes)."""


@pytest.fixture
def pristine(tmp_path: Path) -> Path:
    """An audit file of ``EVENTS`` events, checkpointed and closed (no WAL beside it)."""
    path = tmp_path / "pristine" / "audit.db"
    log = SqliteAuditLog(path)
    log.prepare()
    log.append_many([record(n) for n in range(6)])
    for n in range(6, EVENTS):
        log.append(record(n))
    log.close()
    assert not Path(f"{path}-wal").exists()
    return path


def _flipped(pristine: Path, target: Path, offset: int, mask: int = 0x01) -> Path:
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(pristine.read_bytes())
    data[offset] ^= mask
    target.write_bytes(bytes(data))
    return target


def _verify(path: Path) -> VerifyReport:
    log = SqliteAuditLog(path)
    try:
        return log.verify()
    finally:
        log.close()


def _dump(path: Path) -> list[object] | None:
    """Everything the database holds: its schema and every table's rows with their types
    (text and blob stay apart); None if SQLite cannot read it."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            db.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
            schema = sorted(
                db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
                key=repr,
            )
            tables = [name for kind, name, _, _ in schema if kind == "table"]
            rows = [
                db.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall() for table in tables
            ]
            return [schema, rows]
        finally:
            db.close()
    except sqlite3.Error:
        return None


def _offset_of(path: Path, needle: bytes) -> int:
    data = path.read_bytes()
    assert data.count(needle) == 1, f"{needle!r} occurs {data.count(needle)} times"
    return data.index(needle)


def test_the_pristine_file_verifies(pristine: Path) -> None:
    report = _verify(pristine)

    assert report.ok, report.problem
    assert report.checked == EVENTS


def test_a_byte_of_one_events_data_is_found_at_that_event(pristine: Path, tmp_path: Path) -> None:
    offset = _offset_of(pristine, b"search-7")
    target = _flipped(pristine, tmp_path / "t" / "audit.db", offset + 2, 0x20)  # "seArch-7"

    report = _verify(target)

    assert not report.ok
    assert report.at_seq == 8  # record(7) is the 8th event
    assert "event 8" in report.problem and "changed" in report.problem


def test_a_byte_of_a_stored_hash_is_found(pristine: Path, tmp_path: Path) -> None:
    log = SqliteAuditLog(pristine)
    fifth = next(e for e in log.events() if e.seq == 5)
    log.close()
    data = pristine.read_bytes()
    offset = data.index(fifth.hash.encode())  # its own row or the next one's prev_hash
    target = _flipped(pristine, tmp_path / "t" / "audit.db", offset + 10)

    report = _verify(target)

    assert not report.ok
    assert report.at_seq in (5, 6)


def test_a_byte_of_the_file_header_makes_the_store_unreadable(
    pristine: Path, tmp_path: Path
) -> None:
    target = _flipped(pristine, tmp_path / "t" / "audit.db", 3)  # "SQLite format 3\0"

    report = _verify(target)

    assert not report.ok
    assert report.problem.startswith("audit store unreadable")


def test_a_byte_of_a_page_header_is_found(pristine: Path, tmp_path: Path) -> None:
    page = 4096  # page 2 starts here: a b-tree page of one of the log's tables or indexes
    target = _flipped(pristine, tmp_path / "t" / "audit.db", page, 0x08)

    report = _verify(target)

    assert not report.ok


def test_a_missing_file_is_unreadable_not_empty(tmp_path: Path) -> None:
    report = _verify(tmp_path / "never" / "audit.db")

    assert not report.ok
    assert report.problem.startswith("audit store unreadable")


def test_any_byte_changed_fails_verify_unless_sqlite_reads_the_same(
    pristine: Path, tmp_path: Path
) -> None:
    expected = _dump(pristine)
    assert expected is not None
    target = tmp_path / "sweep" / "audit.db"
    size = os.path.getsize(pristine)
    caught = unchanged = 0
    passed_with_changes: list[int] = []

    for offset in range(0, size, SWEEP_STRIDE):
        _flipped(pristine, target, offset, 1 << (offset % 8))
        report = _verify(target)  # never raises: that is part of the promise
        if not report.ok:
            caught += 1
        elif _dump(target) == expected:
            unchanged += 1
        else:
            passed_with_changes.append(offset)

    shutil.rmtree(target.parent)
    assert passed_with_changes == [], (
        f"verify passed although bytes at {passed_with_changes} changed"
    )
    assert caught and unchanged  # a small log's file is part data, part slack
