"""Import of records from JSON Lines or CSV files: all or nothing, with line-numbered errors.

The whole file streams through one database transaction. Bad lines are collected, not
fatal on sight, so the officer fixing a file sees every problem at once; if there was any,
the transaction is rolled back and the node keeps exactly what it had.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from connectors.keying import RecordKeyer
from connectors.records import RecordError, parse_record
from connectors.store import RecordStore, StoredRecord

MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True, slots=True)
class LineError:
    """A problem on one line of an import file."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The file has bad lines; nothing was imported."""

    def __init__(self, source: str, errors: list[LineError], total: int) -> None:
        self.source = source
        self.errors = errors
        self.total = total
        more = f" (first {len(errors)} shown)" if total > len(errors) else ""
        super().__init__(f"{source}: {total} bad line(s), nothing imported{more}")


def read_lines(path: Path) -> Iterator[tuple[int, Mapping[str, object] | LineError]]:
    """(line number, decoded line or its decoding error) for a .jsonl/.json or .csv file."""
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[tuple[int, Mapping[str, object] | LineError]]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        number = 0
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, LineError(number, f"not valid JSON ({exc.msg})")
                    continue
                if not isinstance(value, dict):
                    yield number, LineError(number, "expected a JSON object")
                    continue
                yield number, value
        except UnicodeDecodeError:
            yield number + 1, LineError(number + 1, "not valid UTF-8")


def _read_csv(path: Path) -> Iterator[tuple[int, Mapping[str, object] | LineError]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            reader = csv.DictReader(handle, strict=True)
            for row in reader:
                if None in row:
                    yield reader.line_num, LineError(reader.line_num, "more cells than columns")
                    continue
                yield reader.line_num, {k.strip(): v for k, v in row.items() if k}
        except csv.Error as exc:
            yield reader.line_num, LineError(reader.line_num, f"bad CSV ({exc})")
        except UnicodeDecodeError:
            yield reader.line_num + 1, LineError(reader.line_num + 1, "not valid UTF-8")


class _CheckedRecords:
    """Iterates prepared records, collecting bad lines; raises at the end if there were any."""

    def __init__(
        self,
        source: str,
        lines: Iterable[tuple[int, Mapping[str, object] | LineError]],
        keyer: RecordKeyer,
    ) -> None:
        self.source = source
        self.lines = lines
        self.keyer = keyer
        self.errors: list[LineError] = []
        self.error_count = 0

    def _fail(self, error: LineError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def __iter__(self) -> Iterator[StoredRecord]:
        first_seen: dict[str, int] = {}
        for number, raw in self.lines:
            if isinstance(raw, LineError):
                self._fail(raw)
                continue
            try:
                prepared = self.keyer.prepare(parse_record(raw))
            except RecordError as exc:
                self._fail(LineError(number, str(exc)))
                continue
            record_id = prepared.record.record_id
            if record_id in first_seen:
                self._fail(
                    LineError(number, f"id: {record_id!r} already on line {first_seen[record_id]}")
                )
                continue
            first_seen[record_id] = number
            if not self.error_count:
                yield prepared
        if self.error_count:
            raise ImportRejected(self.source, self.errors, self.error_count)


def import_records(
    source: str,
    lines: Iterable[tuple[int, Mapping[str, object] | LineError]],
    store: RecordStore,
    keyer: RecordKeyer,
    replace_all: bool = False,
) -> int:
    """Validate, key and store every line in one transaction; return the number stored.

    Raises ImportRejected (nothing stored) when any line is bad.
    """
    checked = _CheckedRecords(source, lines, keyer)
    return store.store(checked, replace_all=replace_all, scheme=keyer.scheme.version)


def import_file(path: Path, store: RecordStore, keyer: RecordKeyer, replace_all: bool) -> int:
    """import_records over a .jsonl or .csv file."""
    try:
        return import_records(str(path), read_lines(path), store, keyer, replace_all)
    except OSError as exc:
        raise ImportRejected(str(path), [LineError(0, f"cannot read: {exc.strerror}")], 1) from None
