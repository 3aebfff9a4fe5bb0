"""Pure builders of what the OpenSearch audit log sends and reads: names, mappings, bodies.

Nothing here talks to a cluster, so all of it is unit-tested without one.

Layout, and why:

* Events: one document per event in ``{prefix}-audit-v1`` (alias ``{prefix}-audit``),
  ``_id`` = seq, created with ``op_type=create`` so nothing ever overwrites an event.
  ``dynamic: strict``, keyword/date/long fields only; ``detail`` and the hashes are kept
  in ``_source`` only (nothing searches them). ``at`` is ``date_nanos`` so the
  microseconds the hash covers compare exactly in an export's time range.
* The head: ONE document ``head`` in ``{prefix}-audit-head-v1`` (alias
  ``{prefix}-audit-head``) holding the last seq and hash *and the events of the last
  batch* (``pending``, stored but not indexed). An append is a compare-and-set of that
  document (``if_seq_no``/``if_primary_term``): that single-document write is the commit
  point, so of several brokers appending at once exactly one extends the chain per round
  and the others re-read and retry. Only after the commit are the batch's events created
  as their own documents.

Why not the simpler scheme, ``_id`` = seq with ``op_type=create`` and retry on 409? It
is fork-free for one event, but not for a batch: a bulk request is not atomic, so two
brokers writing seqs 11..15 at once can each win some of them, and the chain then holds
event 12 of one broker after event 11 of the other. With the head as the commit point a
batch is appended whole or not at all. The events of the last committed batch live in the
head until created, so a broker that dies between the commit and the creates loses
nothing: the next append (any broker's) creates them first, and readers fill them in from
the head meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from broker.audit.model import (
    EMPTY_HEAD,
    EVENT_FIELDS,
    AuditEvent,
    ChainHead,
    event_fields,
    event_from_fields,
    format_time,
)
from broker.index.queries import check_prefix

MAPPING_VERSION = 1
HEAD_ID = "head"
PAGE_EVENTS = 1_000
HEAD_FIELDS: tuple[str, ...] = ("seq", "hash", "pending")

_DATE = {"type": "date_nanos", "format": "strict_date_optional_time_nanos"}
_HIDDEN = {"type": "keyword", "index": False, "doc_values": False}


def events_alias(prefix: str) -> str:
    """The alias events are written and read through."""
    return f"{check_prefix(prefix)}-audit"


def events_index(prefix: str) -> str:
    """The concrete events index of the current mapping version."""
    return f"{check_prefix(prefix)}-audit-v{MAPPING_VERSION}"


def head_alias(prefix: str) -> str:
    """The alias of the head document."""
    return f"{check_prefix(prefix)}-audit-head"


def head_index(prefix: str) -> str:
    """The concrete index holding the head document."""
    return f"{check_prefix(prefix)}-audit-head-v{MAPPING_VERSION}"


def index_patterns(prefix: str) -> tuple[str, str]:
    """Every mapping version of both indices (what ``drop`` and ``documents`` cover)."""
    prefix = check_prefix(prefix)
    return f"{prefix}-audit-v*", f"{prefix}-audit-head-v*"


def event_mappings() -> dict[str, Any]:
    """The strict mapping of an event document."""
    keyword = {"type": "keyword"}
    return {
        "dynamic": "strict",
        "properties": {
            "seq": {"type": "long"},
            "at": _DATE,
            "actor": keyword,
            "actor_country": keyword,
            "action": keyword,
            "outcome": keyword,
            "purpose": keyword,
            "legal_basis": keyword,
            "countries": keyword,
            "blind_keys": keyword,
            "request_id": keyword,
            "reference": keyword,
            "search_id": keyword,
            "detail": _HIDDEN,
            "prev_hash": _HIDDEN,
            "hash": _HIDDEN,
        },
    }


def head_mappings() -> dict[str, Any]:
    """The strict mapping of the head document; ``pending`` is stored, never indexed."""
    return {
        "dynamic": "strict",
        "properties": {
            "seq": {"type": "long", "index": False},
            "hash": _HIDDEN,
            "pending": {"type": "object", "enabled": False},
        },
    }


def _settings() -> dict[str, Any]:
    return {"index": {"number_of_shards": 1}}


def create_events_body(prefix: str) -> dict[str, Any]:
    """Body creating the events index with its mapping and alias."""
    return {
        "settings": _settings(),
        "mappings": event_mappings(),
        "aliases": {events_alias(prefix): {"is_write_index": True}},
    }


def create_head_body(prefix: str) -> dict[str, Any]:
    """Body creating the head index with its mapping and alias."""
    return {
        "settings": _settings(),
        "mappings": head_mappings(),
        "aliases": {head_alias(prefix): {"is_write_index": True}},
    }


def event_document(event: AuditEvent) -> dict[str, Any]:
    """The ``_source`` of an event (and its form inside the head's ``pending``)."""
    return event_fields(event)


def head_document(events: list[AuditEvent]) -> dict[str, Any]:
    """The head after committing ``events`` (a non-empty batch, in seq order)."""
    last = events[-1]
    return {
        "seq": last.seq,
        "hash": last.hash,
        "pending": [event_document(event) for event in events],
    }


def head_from_document(source: Mapping[str, Any] | None) -> tuple[ChainHead, list[AuditEvent]]:
    """The head and its pending events from the head ``_source`` (None: an empty log).

    ``ValueError`` if the document is not a head this module wrote.
    """
    if source is None:
        return EMPTY_HEAD, []
    if set(source) != set(HEAD_FIELDS):
        raise ValueError("the head document has unexpected fields")
    seq, digest, pending = source["seq"], source["hash"], source["pending"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(digest, str):
        raise ValueError("the head document is damaged")
    if not isinstance(pending, list):
        raise ValueError("the head's pending events are damaged")
    events = [event_from_fields(dict(item)) for item in pending]
    if events and (events[-1].seq, events[-1].hash) != (seq, digest):
        raise ValueError("the head's pending events do not end at the head")
    return ChainHead(seq, digest), events


def event_from_hit(hit: Mapping[str, Any]) -> AuditEvent:
    """The event of a search hit; ``ValueError`` if it is not one or sits under another id."""
    event = event_from_fields(dict(hit["_source"]))
    if hit.get("_id") != str(event.seq):
        raise ValueError(f"document {hit.get('_id')} holds event {event.seq}")
    return event


def bulk_create_body(events: Iterable[AuditEvent], index: str) -> list[dict[str, Any]]:
    """The bulk actions creating each event under ``_id`` = seq (never overwriting)."""
    body: list[dict[str, Any]] = []
    for event in events:
        body.append({"create": {"_index": index, "_id": str(event.seq)}})
        body.append(event_document(event))
    return body


BULK_FILTER = "errors,items.*._id,items.*.status,items.*.error.type"
"""``filter_path`` of a bulk create: per item only its id, status and error type."""


def bulk_conflicts(answer: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The ids that already existed (409) and the first other error type, if any."""
    conflicts: list[str] = []
    other: str | None = None
    if not answer.get("errors"):
        return conflicts, other
    for item in answer.get("items") or []:
        for result in item.values():
            status = (result or {}).get("status")
            if status == 409:
                conflicts.append(str(result.get("_id")))
            elif isinstance(status, int) and status >= 300 and other is None:
                other = str(((result or {}).get("error") or {}).get("type") or "error")
    return conflicts, other


def events_body(
    *,
    after: int,
    through: int,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    size: int = PAGE_EVENTS,
) -> dict[str, Any]:
    """One page of events with ``after < seq <= through`` and the filters, in seq order.

    ``through`` is the head read before the first page, so an export is a snapshot and
    never sees half of a batch being created.
    """
    filters: list[dict[str, Any]] = [{"range": {"seq": {"gt": after, "lte": through}}}]
    if since is not None or until is not None:
        moments: dict[str, str] = {}
        if since is not None:
            moments["gte"] = format_time(since)
        if until is not None:
            moments["lt"] = format_time(until)
        filters.append({"range": {"at": moments}})
    if actor is not None:
        filters.append({"term": {"actor": actor}})
    return {
        "size": size,
        "track_total_hits": False,
        "sort": [{"seq": "asc"}],
        "_source": list(EVENT_FIELDS),
        "query": {"bool": {"filter": filters}},
    }


def beyond_body(seq: int) -> dict[str, Any]:
    """Search body for the highest-numbered event stored past ``seq``."""
    return {
        "size": 1,
        "track_total_hits": False,
        "sort": [{"seq": "desc"}],
        "_source": False,
        "query": {"bool": {"filter": [{"range": {"seq": {"gt": seq}}}]}},
    }


def merge_pending(stored: Iterable[AuditEvent], pending: list[AuditEvent]) -> Iterator[AuditEvent]:
    """Stored events in seq order, with the head's pending events filling the seqs not (yet)
    stored. Where both hold a seq the stored one wins: it is what `verify` must check."""
    waiting = sorted(pending, key=lambda event: event.seq)
    position = 0
    for event in stored:
        while position < len(waiting) and waiting[position].seq < event.seq:
            yield waiting[position]
            position += 1
        if position < len(waiting) and waiting[position].seq == event.seq:
            position += 1
        yield event
    yield from waiting[position:]
