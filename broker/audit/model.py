"""What the audit log records: who did what, when, why, on what legal basis, with what outcome.

The EU Law Enforcement Directive (Art. 25) asks for a log of every consultation and
disclosure: who, when, the justification, the recipients. The broker hands one
`AuditRecord` per search, hit returned, request, decision, reveal and refused attempt;
the log numbers and chains it into an `AuditEvent`.

Query criteria appear only as blind keys (``"key_type:digest"``), never as plaintext, and
the fields are validated narrowly enough that a name or a date of birth cannot slip into
a structured field by mistake: ids and codes are patterns, and the only free texts
(purpose, legal basis, detail) are short. Validation messages never repeat
the rejected value, for the same reason.

Every field is validated again when an event is read back from a store, so an edited row
that no longer parses is reported by `verify` as unreadable rather than crashing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from broker.index.model import check_country

ACTIONS: frozenset[str] = frozenset(
    {"search", "hit", "request", "decision", "reveal", "refused", "publish", "withdraw"}
)
MAX_LINE = 200
MAX_DETAIL = 500
MAX_LIST = 4_096
"""Most countries or blind keys in one record (a search's keys are a few dozen)."""

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event: there is nothing before it."""

_OUTCOME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_BLIND_KEY = re.compile(r"[a-z][a-z0-9_.-]{0,63}:[0-9a-f]{32,128}")
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_SEARCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_HASH = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
"""Control characters other than tab and newline, and lone surrogates (not UTF-8)."""
MAX_PRINCIPAL = 128
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """A time as the chain hashes it and the stores keep it: UTC, microseconds, ``Z``.

    One fixed-width text, so the hash never depends on how a driver prints a time, SQLite
    compares the text in time order, and OpenSearch's ``date_nanos`` keeps the microseconds.
    """
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: object) -> datetime:
    """The inverse of `format_time`; anything else is a ``ValueError``."""
    if not isinstance(text, str):
        raise ValueError("a stored time is not text")
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def _string(value: object, pattern: re.Pattern[str], what: str, *, required: bool) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if (value or required) and not pattern.fullmatch(value):
        raise ValueError(f"{what} is not well formed")


def _text(value: object, what: str, limit: int) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if len(value) > limit or _CONTROL.search(value):
        raise ValueError(f"{what} must be at most {limit} characters, no control characters")


def _principal(value: object) -> None:
    """An officer (or node) id as the broker's tokens carry it: one line, 1..128 characters."""
    if not isinstance(value, str):
        raise ValueError("actor must be a string")
    if (
        not value
        or len(value) > MAX_PRINCIPAL
        or value != value.strip()
        or _CONTROL.search(value)
        or "\n" in value
        or "\t" in value
    ):
        raise ValueError(f"actor must be one line of 1..{MAX_PRINCIPAL} characters")


def _strings(record: object, name: str) -> tuple[str, ...]:
    value = getattr(record, name)
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise ValueError(f"{name} must be a tuple of strings")
    if len(value) > MAX_LIST:
        raise ValueError(f"{name} holds more than {MAX_LIST} items")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One thing that happened, as the broker hands it to the log.

    ``actor_country`` may be empty for a refused caller whose country is unknown (an
    unauthenticated peer); ``countries`` are the countries asked; ``blind_keys`` are the
    criteria as ``"key_type:digest"``. ``detail`` says more about the outcome and must
    never hold personal data. Lists are accepted and stored as tuples.
    """

    at: datetime
    actor: str
    actor_country: str
    action: str
    outcome: str
    purpose: str = ""
    legal_basis: str = ""
    countries: tuple[str, ...] = ()
    blind_keys: tuple[str, ...] = ()
    request_id: str = ""
    reference: str = ""
    search_id: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise ValueError("at must be a timezone-aware datetime")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        _principal(self.actor)
        if self.actor_country:
            check_country(self.actor_country)
        elif not isinstance(self.actor_country, str):
            raise ValueError("actor_country must be a string")
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(sorted(ACTIONS))}")
        _string(self.outcome, _OUTCOME, "outcome", required=True)
        _text(self.purpose, "purpose", MAX_LINE)
        _text(self.legal_basis, "legal_basis", MAX_LINE)
        _text(self.detail, "detail", MAX_DETAIL)
        countries = _strings(self, "countries")
        for country in countries:
            check_country(country)
        blind_keys = _strings(self, "blind_keys")
        for blind_key in blind_keys:
            _string(blind_key, _BLIND_KEY, "a blind key", required=True)
        object.__setattr__(self, "countries", countries)
        object.__setattr__(self, "blind_keys", blind_keys)
        _string(self.request_id, _REQUEST_ID, "request_id", required=False)
        _string(self.reference, _REFERENCE, "reference", required=False)
        _string(self.search_id, _SEARCH_ID, "search_id", required=False)


RECORD_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(AuditRecord))


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent(AuditRecord):
    """A record as the log holds it: its place in the chain and the hashes that bind it.

    ``hash`` covers the record, ``seq`` and ``prev_hash`` (see `broker.audit.chain`), so
    changing, removing or reordering any event breaks the chain at that event.
    """

    seq: int
    prev_hash: str
    hash: str

    def __post_init__(self) -> None:
        AuditRecord.__post_init__(self)
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 1:
            raise ValueError("seq must be a positive integer")
        _string(self.prev_hash, _HASH, "prev_hash", required=True)
        _string(self.hash, _HASH, "hash", required=True)

    @property
    def record(self) -> AuditRecord:
        """The record alone, as it was handed in."""
        return AuditRecord(**{name: getattr(self, name) for name in RECORD_FIELDS})


EVENT_FIELDS: tuple[str, ...] = (*RECORD_FIELDS, "seq", "prev_hash", "hash")
"""Every field a stored event has; the privacy test holds both stores to exactly these."""


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """An event as a flat JSON-ready dict (time by `format_time`, lists for tuples).

    Both stores keep exactly this (SQLite with the two lists as JSON text).
    """
    values: dict[str, Any] = {name: getattr(event, name) for name in EVENT_FIELDS}
    values["at"] = format_time(event.at)
    values["countries"] = list(event.countries)
    values["blind_keys"] = list(event.blind_keys)
    return values


def event_from_fields(values: dict[str, Any]) -> AuditEvent:
    """The event a stored row or document holds; ``ValueError`` if it is not one.

    Strict on types (a list must be a list of strings, not text that looks like one), so a
    stored value that changed type is reported rather than silently read as equal.
    """
    missing = [name for name in EVENT_FIELDS if name not in values]
    if missing:
        raise ValueError(f"the stored event lacks {', '.join(missing)}")
    extra = sorted(set(values) - set(EVENT_FIELDS))
    if extra:
        raise ValueError(f"the stored event has unknown fields {', '.join(extra)}")
    for name in ("countries", "blind_keys"):
        items = values[name]
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"the stored {name} is not a list of strings")
    return AuditEvent(
        **{
            **values,
            "at": parse_time(values["at"]),
            "countries": tuple(values["countries"]),
            "blind_keys": tuple(values["blind_keys"]),
        }
    )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last event of a chain: its ``seq`` and ``hash`` (seq 0 and `GENESIS` when empty).

    Recorded outside the store (printed by the verify command, kept by an operator), it
    is what makes removing events *from the end* detectable: a hash chain alone cannot
    tell a shortened chain from a younger one.
    """

    seq: int
    hash: str


EMPTY_HEAD = ChainHead(0, GENESIS)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of checking a chain: intact or not, and where it first breaks.

    ``checked`` counts the events found intact before the problem (all of them when ok);
    ``at_seq`` is the first bad event's seq (None when ok, or when the store itself could
    not be read); ``head`` is the last intact event.
    """

    ok: bool
    checked: int
    problem: str = ""
    at_seq: int | None = None
    head: ChainHead = EMPTY_HEAD
