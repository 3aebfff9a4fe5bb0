"""The hash chain, as pure functions both stores share: hashing, chaining and verifying.

Each event's hash is SHA-256 over a canonical JSON of the event: every record field, its
``seq``, the previous event's hash, and a schema tag. Canonical means one byte string per
event whoever computes it: keys sorted, no whitespace, UTF-8 without ``\\u`` escapes for
non-ASCII, every field present (empty ones too, so an added field cannot be confused
with an empty one), times in one fixed UTC format with microseconds. For the values an
event holds (strings, one integer, arrays of strings) this is RFC 8785 (JSON
Canonicalization Scheme), so an auditor can recompute a hash with any JCS library
without our code.

Because each hash covers the previous one, changing an event breaks its own hash,
removing one leaves a gap in ``seq`` and a ``prev_hash`` that matches nothing, and
swapping two breaks both. What a chain cannot show on its own is events cut off the
*end*; for that the stores also keep their head (last seq and hash) and compare it, and
a head recorded elsewhere (`ChainHead`, printed by the verify command) can be passed as an
``anchor``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from broker.audit.model import (
    EMPTY_HEAD,
    GENESIS,
    RECORD_FIELDS,
    AuditEvent,
    AuditRecord,
    ChainHead,
    VerifyReport,
    format_time,
)

SCHEMA = "selec.audit.v1"
"""Part of every hash: a change in what is hashed gets a new tag, so old and new events
can never be confused for each other."""

__all__ = [
    "GENESIS",
    "SCHEMA",
    "ChainVerifier",
    "canonical",
    "chain",
    "event_hash",
    "verify_chain",
]


def canonical(record: AuditRecord, seq: int, prev_hash: str) -> bytes:
    """The exact bytes hashed for ``record`` at position ``seq`` after ``prev_hash``."""
    document: dict[str, object] = {name: getattr(record, name) for name in RECORD_FIELDS}
    document["at"] = format_time(record.at)
    document["countries"] = list(record.countries)
    document["blind_keys"] = list(record.blind_keys)
    document["seq"] = seq
    document["prev_hash"] = prev_hash
    document["schema"] = SCHEMA
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def event_hash(record: AuditRecord, seq: int, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical form of ``record`` at ``seq`` after ``prev_hash``."""
    return hashlib.sha256(canonical(record, seq, prev_hash)).hexdigest()


def chain(records: Sequence[AuditRecord], after: ChainHead = EMPTY_HEAD) -> list[AuditEvent]:
    """``records`` as the events that follow ``after``: numbered, linked and hashed."""
    events: list[AuditEvent] = []
    seq, previous = after.seq, after.hash
    for record in records:
        if not isinstance(record, AuditRecord):
            raise ValueError("the audit log takes AuditRecord items")
        seq += 1
        digest = event_hash(record, seq, previous)
        values = {name: getattr(record, name) for name in RECORD_FIELDS}
        events.append(AuditEvent(**values, seq=seq, prev_hash=previous, hash=digest))
        previous = digest
    return events


class ChainVerifier:
    """Checks a chain one event at a time, in ``seq`` order, in constant memory.

    `feed` each event and stop at the first problem it returns; `finish` then says whether
    the chain ends where it should. Stores use it to verify while they stream their rows,
    and to report rows they cannot even read (`unreadable`).
    """

    def __init__(self, *, head: ChainHead | None = None, anchor: ChainHead | None = None) -> None:
        self._head = head
        self._anchor = anchor
        self._last = EMPTY_HEAD
        self._checked = 0

    @property
    def last(self) -> ChainHead:
        """The last event found intact."""
        return self._last

    def fail(self, problem: str, at_seq: int | None) -> VerifyReport:
        """The report for ``problem`` found after the events fed so far."""
        return VerifyReport(False, self._checked, problem, at_seq, self._last)

    def unreadable(self, problem: str, at_seq: int | None = None) -> VerifyReport:
        """The report for a store that could not be read (at ``at_seq``, if known)."""
        return self.fail(f"audit store unreadable: {problem}", at_seq)

    def feed(self, event: AuditEvent) -> VerifyReport | None:
        """The problem with ``event`` as the next one in the chain, or None if it fits."""
        expected = self._last.seq + 1
        if event.seq > expected:
            missing = (
                f"event {expected}"
                if event.seq == expected + 1
                else (f"events {expected}..{event.seq - 1}")
            )
            return self.fail(
                f"{missing} missing or out of order: event {event.seq} follows event "
                f"{self._last.seq}",
                expected,
            )
        if event.seq < expected:
            return self.fail(
                f"event {event.seq} appears after event {self._last.seq} (duplicated or reordered)",
                event.seq,
            )
        if event_hash(event, event.seq, event.prev_hash) != event.hash:
            return self.fail(
                f"event {event.seq} was changed: its content does not match its hash", event.seq
            )
        if event.prev_hash != self._last.hash:
            before = "the start of the chain" if event.seq == 1 else f"event {self._last.seq}"
            return self.fail(
                f"event {event.seq} does not follow {before}: its prev_hash is not that "
                "event's hash (an event was removed, reordered or rewritten)",
                event.seq,
            )
        if (
            self._anchor is not None
            and event.seq == self._anchor.seq
            and event.hash != self._anchor.hash
        ):
            return self.fail(
                f"event {event.seq} is not the event anchored at that position", event.seq
            )
        self._last = ChainHead(event.seq, event.hash)
        self._checked += 1
        return None

    def finish(self) -> VerifyReport:
        """The report once every event was fed: the chain must end at the store's head and
        reach the anchor."""
        last = self._last
        head = self._head
        if head is not None:
            if head.seq > last.seq:
                missing = (
                    f"event {head.seq}"
                    if head.seq == last.seq + 1
                    else f"events {last.seq + 1}..{head.seq}"
                )
                return self.fail(
                    f"{missing} missing: the store's head records event {head.seq}, the "
                    f"chain ends at event {last.seq}",
                    last.seq + 1,
                )
            if head.seq < last.seq:
                return self.fail(
                    f"event {head.seq + 1} is beyond the store's head (event {head.seq}): "
                    "events were added outside the log",
                    head.seq + 1,
                )
            if head.hash != last.hash:
                return self.fail(
                    f"event {last.seq} is not the event the store's head records", last.seq
                )
        if self._anchor is not None and self._anchor.seq > last.seq:
            return self.fail(
                f"the chain ends at event {last.seq}, before the anchored event "
                f"{self._anchor.seq}: events were removed from the end",
                last.seq + 1,
            )
        return VerifyReport(True, self._checked, "", None, last)


def verify_chain(
    events: Iterable[AuditEvent],
    *,
    head: ChainHead | None = None,
    anchor: ChainHead | None = None,
) -> VerifyReport:
    """Check ``events`` (in the order given, which must be seq order) as one whole chain.

    ``head``: where the chain must end (the store's own record of its last event).
    ``anchor``: an event recorded earlier that the chain must still contain unchanged.
    Reports the first problem: a changed event (hash mismatch), a removed one (seq gap),
    a reordered or duplicated one (seq out of order, prev_hash mismatch), and says which
    seq and what.
    """
    verifier = ChainVerifier(head=head, anchor=anchor)
    for event in events:
        problem = verifier.feed(event)
        if problem is not None:
            return problem
    return verifier.finish()
