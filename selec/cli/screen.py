"""`selec screen FILE`: screen a list of subjects (CSV or JSONL) in one streamed call.

The file is read a line at a time and streamed to the broker's `Screen`; results come
back in input order and are written as JSON lines as they arrive, so a list of a million
subjects costs this command no more memory than a short one (gRPC flow control holds the
reading while the broker is busy). A line that cannot be read (bad JSON, a year that is
not a number, a sex other than M, F or X) becomes that subject's error line and is not
sent; the broker gives a subject with unsearchable criteria its own error the same way.
The input format and every output field are in docs/screening.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

import grpc

from selec.cli.client import ClientSetupError, add_client_arguments, channel, explain, resolve
from selec.cli.output import hit_json, result_json
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2

FIELDS = (
    "subject_id",
    "given",
    "family",
    "dob",
    "birth_year",
    "sex",
    "nationality",
    "document",
    "document_type",
    "document_country",
    "plate",
    "plate_country",
    "vin",
    "phone",
    "phone_region",
)
# The broker's limit (MatchBatch sets per call); the broker refuses a larger batch itself.
MAX_BATCH = 1000
BATCH_METADATA = "selec-screen-batch"
PROGRESS_SECONDS = 0.2
# Subjects per request message (ScreenSubjects); a message also goes once this long has
# passed since its first line was read, so a slow pipe is not held back for long.
SUBJECTS_PER_MESSAGE = 100
MESSAGE_SECONDS = 0.05
PROGRESS_LINE_SECONDS = 10.0
_SEX = {"": 0, "M": common_pb2.SEX_MALE, "F": common_pb2.SEX_FEMALE, "X": common_pb2.SEX_OTHER}
_DOCUMENT_TYPES = {
    "": common_pb2.DOCUMENT_TYPE_UNSPECIFIED,
    "passport": common_pb2.DOCUMENT_TYPE_PASSPORT,
    "id_card": common_pb2.DOCUMENT_TYPE_ID_CARD,
    "driving_licence": common_pb2.DOCUMENT_TYPE_DRIVING_LICENCE,
    "residence_permit": common_pb2.DOCUMENT_TYPE_RESIDENCE_PERMIT,
}


class InputError(Exception):
    """The file as a whole cannot be screened (missing, unreadable, bad CSV header)."""


class LineError(ValueError):
    """One line cannot be read; the message says which field and why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `selec screen`."""
    parser.add_argument("file", metavar="FILE", help="subjects: .csv or .jsonl (- for stdin)")
    parser.add_argument("--format", choices=("csv", "jsonl"), help="default: by the extension")
    parser.add_argument("--countries", default="", help="comma-separated, e.g. RS,BG (default all)")
    parser.add_argument("--purpose", default="criminal investigation", help="why you screen")
    parser.add_argument(
        "--legal-basis", default="SELEC Convention, art. 2", help="the legal basis of the screening"
    )
    parser.add_argument("--output", type=Path, help="results as JSON lines (default: stdout)")
    parser.add_argument(
        "--batch",
        type=int,
        help=f"subjects the broker sends each node per call (1 to {MAX_BATCH}; broker default 500)",
    )
    add_client_arguments(parser, default_identity="officer.gr")


# ---------------------------------------------------------------- reading subjects


@dataclass(frozen=True, slots=True)
class Line:
    """One input line: where it was, and either a subject or why it could not be read."""

    number: int
    subject_id: str
    subject: broker_pb2.ScreenSubject | None = None
    error: str = ""


def _text(row: dict[str, object], name: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LineError(f"{name}: expected a string")
    return value


def subject_from(row: dict[str, object]) -> broker_pb2.ScreenSubject:
    """The ScreenSubject a row (CSV or JSONL, same field names) describes."""
    unknown = sorted(k for k in row if k not in FIELDS)
    if unknown:
        raise LineError(f"unknown field {unknown[0]!r}")
    year = row.get("birth_year") or 0
    if isinstance(year, str):
        if not year.strip().isdigit():
            raise LineError(f"birth_year: expected a year, got {year[:16]!r}")
        year = int(year)
    if isinstance(year, bool) or not isinstance(year, int):
        raise LineError("birth_year: expected a year")
    sex = _text(row, "sex").strip().upper()
    if sex not in _SEX:
        raise LineError(f"sex: expected M, F or X, got {sex[:8]!r}")
    document_type = _text(row, "document_type").strip().lower()
    if document_type not in _DOCUMENT_TYPES:
        raise LineError(
            f"document_type: expected one of {', '.join(t for t in _DOCUMENT_TYPES if t)}"
        )
    return broker_pb2.ScreenSubject(
        subject_id=_text(row, "subject_id"),
        criteria=common_pb2.Criteria(
            person=common_pb2.PersonCriteria(
                given_names=_text(row, "given"),
                family_names=_text(row, "family"),
                date_of_birth=_text(row, "dob"),
                birth_year=year,
                sex=_SEX[sex],  # type: ignore[arg-type]
                nationality=_text(row, "nationality"),
            ),
            document=common_pb2.DocumentCriteria(
                type=_DOCUMENT_TYPES[document_type],  # type: ignore[arg-type]
                number=_text(row, "document"),
                issuing_country=_text(row, "document_country"),
            ),
            vehicle=common_pb2.VehicleCriteria(
                plate=_text(row, "plate"),
                plate_country=_text(row, "plate_country"),
                vin=_text(row, "vin"),
            ),
            phone=common_pb2.PhoneCriteria(
                number=_text(row, "phone"), region=_text(row, "phone_region")
            ),
        ),
    )


def _line(number: int, row: dict[str, object]) -> Line:
    subject_id = row.get("subject_id")
    shown_id = subject_id if isinstance(subject_id, str) else ""
    try:
        return Line(number, shown_id, subject=subject_from(row))
    except LineError as exc:
        return Line(number, shown_id, error=f"line {number}: {exc}")


def read_csv(stream: TextIO) -> Iterator[Line]:
    """Lines of a CSV file whose header names some of FIELDS (InputError otherwise)."""
    reader = csv.DictReader(stream)
    header = reader.fieldnames
    if not header:
        raise InputError("the file is empty: expected a header line naming the fields")
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        raise InputError(
            f"header: unknown field {unknown[0]!r} (expected some of {', '.join(FIELDS)})"
        )
    if len(set(header)) != len(header):
        raise InputError("header: a field is named twice")
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                yield Line(
                    number,
                    row.get("subject_id") or "",
                    error=f"line {number}: more fields than the header names",
                )
                continue
            yield _line(number, {k: v for k, v in row.items() if v is not None})
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num}: {exc}") from None


def read_jsonl(stream: TextIO) -> Iterator[Line]:
    """Lines of a JSONL file: one object per line with some of FIELDS; blank lines skipped."""
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Line(number, "", error=f"line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            yield Line(number, "", error=f"line {number}: expected a JSON object")
            continue
        yield _line(number, row)


def open_lines(path: str, form: str | None) -> tuple[Iterator[Line], IO[str]]:
    """The file's lines, read lazily, and the stream to close afterwards."""
    if form is None:
        suffix = Path(path).suffix.lower()
        form = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}.get(suffix)
        if form is None:
            raise InputError(f"{path}: cannot tell the format from the name; give --format")
    try:
        stream = (
            sys.stdin if path == "-" else open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
        )
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    lines = read_csv(stream) if form == "csv" else read_jsonl(stream)
    return _text_only(lines), stream


def _text_only(lines: Iterator[Line]) -> Iterator[Line]:
    """The lines; a file that is not UTF-8 text is a problem with the file (InputError)."""
    try:
        yield from lines
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not UTF-8 text ({exc.reason})") from None


# ---------------------------------------------------------------- progress and output


@dataclass
class Tally:
    """What the command has seen so far (shared by the sending thread and the printer)."""

    read: int = 0
    results: int = 0
    with_hits: int = 0
    errors: int = 0
    unreadable: int = 0
    started: float = field(default_factory=time.monotonic)


class Progress:
    """A carriage-return line on a terminal; elsewhere a plain line every few seconds."""

    def __init__(self, stream: TextIO, tally: Tally) -> None:
        self.stream = stream
        self.tally = tally
        self.tty = stream.isatty()
        self.every = PROGRESS_SECONDS if self.tty else PROGRESS_LINE_SECONDS
        self.next = time.monotonic() + self.every

    def _line(self) -> str:
        tally = self.tally
        seconds = max(time.monotonic() - tally.started, 1e-9)
        return (
            f"screened {tally.results:,} of {tally.read:,} read; {tally.with_hits:,} with hits, "
            f"{tally.errors:,} errors; {tally.results / seconds:,.0f}/s"
        )

    def tick(self) -> None:
        """Show progress if it is time."""
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.every
        if self.tty:
            self.stream.write("\r" + self._line() + "\x1b[K")
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()

    def done(self) -> None:
        """The last line."""
        self.stream.write(
            ("\r" if self.tty else "") + self._line() + ("\x1b[K\n" if self.tty else "\n")
        )
        self.stream.flush()


def _emit(out: TextIO, value: dict[str, object]) -> None:
    out.write(json.dumps(value, ensure_ascii=False) + "\n")


def _local_error(number: int, subject_id: str, error: str) -> dict[str, object]:
    return {"type": "result", "line": number, "subject_id": subject_id, "error": error}


def _result(number: int, result: broker_pb2.SubjectResult) -> dict[str, object]:
    shown: dict[str, object] = {
        "type": "result",
        "line": number,
        "subject_id": result.subject_id,
    }
    if result.error:
        shown["error"] = result.error
    else:
        shown["hits"] = [{"country": h.country, **hit_json(h.hit)} for h in result.hits]
    return shown


def _summary(summary: broker_pb2.ScreenSummary, local_errors: int) -> dict[str, object]:
    return {
        "type": "summary",
        "screening_id": summary.screening_id,
        "subjects": summary.subjects + local_errors,
        "subjects_with_hits": summary.subjects_with_hits,
        "subjects_with_errors": summary.subjects_with_errors + local_errors,
        "unreadable_lines": local_errors,
        "elapsed_seconds": round(summary.elapsed_seconds, 3),
        "results": [result_json(r) for r in summary.results],
    }


# ---------------------------------------------------------------- the command


class _Feed:
    """The request stream: the header, then the readable lines' subjects, several per
    message (one gRPC message per subject costs the broker more than keying a document).

    Every line is also queued in `pending`, in input order, before its subject is sent,
    so the printer can put unreadable lines back between the broker's results. The queue
    keeps only line number, id and error (empty for a sent line): it holds every line sent
    and not yet answered, as many as gRPC flow control lets through.
    """

    def __init__(self, header: broker_pb2.ScreenHeader, lines: Iterator[Line], tally: Tally):
        self.header = header
        self.lines = lines
        self.tally = tally
        self.pending: deque[tuple[int, str, str]] = deque()
        self.failure: InputError | None = None
        self.lock = threading.Lock()

    def __iter__(self) -> Iterator[broker_pb2.ScreenRequest]:
        yield broker_pb2.ScreenRequest(header=self.header)
        group: list[broker_pb2.ScreenSubject] = []
        since = 0.0
        try:
            for line in self.lines:
                with self.lock:
                    self.pending.append((line.number, line.subject_id, line.error))
                    self.tally.read += 1
                if line.subject is not None:
                    if not group:
                        since = time.monotonic()
                    group.append(line.subject)
                if group and (
                    len(group) >= SUBJECTS_PER_MESSAGE
                    or time.monotonic() - since >= MESSAGE_SECONDS
                ):
                    yield _message(group)
                    group = []
            if group:
                yield _message(group)
        except InputError as exc:  # e.g. a CSV quoting error: reported by the printer
            self.failure = exc
            raise

    def take_until_sent(self, out: TextIO, tally: Tally) -> int | None:
        """Write the unreadable lines at the head of the queue; the next sent line's number."""
        with self.lock:
            while self.pending:
                number, subject_id, error = self.pending.popleft()
                if not error:
                    return number
                _emit(out, _local_error(number, subject_id, error))
                tally.errors += 1
                tally.unreadable += 1
        return None


def _message(group: list[broker_pb2.ScreenSubject]) -> broker_pb2.ScreenRequest:
    return broker_pb2.ScreenRequest(subjects=broker_pb2.ScreenSubjects(subjects=group))


def _results(event: broker_pb2.ScreenEvent) -> Iterator[broker_pb2.SubjectResult]:
    if event.HasField("results"):
        yield from event.results.results
    else:
        yield event.subject


def _countries(text: str) -> list[str]:
    return [c.strip().upper() for c in text.split(",") if c.strip()]


def screen(options: argparse.Namespace, out: TextIO) -> int:
    """Stream the file through Screen and write the results; the exit status."""
    if options.batch is not None and not 1 <= options.batch <= MAX_BATCH:
        print(f"selec screen: --batch: expected 1 to {MAX_BATCH}", file=sys.stderr)
        return 2
    try:
        connection = resolve(options)
        lines, stream = open_lines(options.file, options.format)
        first = next(lines, None)  # reads the CSV header now: a bad one exits 2 at once
    except (ClientSetupError, InputError) as exc:
        print(f"selec screen: {exc}", file=sys.stderr)
        return 2
    tally = Tally()
    header = broker_pb2.ScreenHeader(
        purpose=options.purpose,
        legal_basis=options.legal_basis,
        countries=_countries(options.countries),
        grouped_results=True,
    )
    feed = _Feed(header, _chain(first, lines), tally)
    progress = Progress(sys.stderr, tally)
    metadata = connection.metadata()
    if options.batch is not None:
        metadata += ((BATCH_METADATA, str(options.batch)),)
    try:
        with channel(connection) as opened:
            stub = broker_pb2_grpc.BrokerServiceStub(opened)
            for event in stub.Screen(iter(feed), metadata=metadata):
                if event.HasField("summary"):
                    while feed.take_until_sent(out, tally) is not None:
                        pass  # nothing sent is left unanswered once the summary came
                    _emit(out, _summary(event.summary, tally.unreadable))
                    break
                for result in _results(event):
                    number = feed.take_until_sent(out, tally)
                    if number is None:  # cannot happen: every result answers a sent line
                        raise RuntimeError("the broker answered more subjects than were sent")
                    tally.results += 1
                    tally.with_hits += bool(result.hits)
                    tally.errors += bool(result.error)
                    _emit(out, _result(number, result))
                    progress.tick()
    except grpc.RpcError as exc:
        out.flush()
        progress.done()
        if feed.failure is not None:
            print(f"selec screen: {feed.failure}", file=sys.stderr)
            return 2
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:  # type: ignore[attr-defined]
            print(f"selec screen: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 2
        print(f"selec screen: {explain(exc, options.broker)}", file=sys.stderr)
        return 1
    finally:
        if stream is not sys.stdin:
            stream.close()
    out.flush()
    progress.done()
    return 0


def _chain(first: Line | None, rest: Iterator[Line]) -> Iterator[Line]:
    if first is not None:
        yield first
        yield from rest


def run(options: argparse.Namespace) -> int:
    """`selec screen`: 0 when the screening completed (hits and subject errors included),
    2 for bad options or a bad file, 1 when the broker fails."""
    if options.output is None:
        return screen(options, sys.stdout)
    try:
        out = options.output.open("w", encoding="utf-8")
    except OSError as exc:
        print(f"selec screen: {options.output}: {exc.strerror}", file=sys.stderr)
        return 2
    with out:
        return screen(options, out)
