"""Pure builders of what the OpenSearch request store sends and reads: names, mapping, bodies.

Nothing here talks to a cluster, so all of it is unit-tested without one.

Layout, and why:

* One index ``{prefix}-requests-v1`` behind the alias ``{prefix}-requests`` (its write
  index). Every call goes through the alias, so a changed mapping can be re-indexed into
  ``-v2`` and the alias swapped without the brokers noticing. (Version tokens of the old
  index are then stale: a decision in flight gets `ConcurrentUpdate` and is retried.)
* One document per request, ``_id`` = request id. The version token is the document's
  ``_seq_no`` and ``_primary_term``: an update is an index call with ``if_seq_no`` and
  ``if_primary_term``, which OpenSearch refuses (409) if any write came in between. The
  primary term is part of the token because seq_no alone can repeat after a primary fails
  over and loses unreplicated writes.
* Writes use ``refresh=wait_for``, so a list on any broker sees a write once it is
  answered. ``refresh_interval`` is short because a ``wait_for`` write waits for the next
  scheduled refresh: with the default (1 s, and none at all on a search-idle shard) every
  decision would take a second. Requests are human-paced, and a refresh with nothing new
  costs nothing.
* ``dynamic: strict`` and keyword/date fields only. The free texts an officer writes
  (justification, handling note, denial reason) and the grant nonce are kept in
  ``_source`` only (not indexed, no doc values): nothing ever searches them, and a
  searchable justification would be a second copy of personal data in the term index.
* Times are ``date_nanos`` so the microseconds both backends keep compare exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from broker.index.queries import check_prefix
from broker.workflow.model import (
    STORED_FIELDS,
    DetailsRequest,
    RequestQuery,
    format_time,
    from_stored,
    stored_fields,
)

MAPPING_VERSION = 1
REFRESH_INTERVAL = "100ms"
MAX_COUNTRIES = 100
"""Buckets of the overdue count: more than the federation's countries, with room to grow."""

_VERSION_TOKEN = re.compile(r"(\d{1,18}):(\d{1,18})")
_DATE = {"type": "date_nanos", "format": "strict_date_optional_time_nanos"}
_NOT_INDEXED = {"index": False, "doc_values": False}


def requests_alias(prefix: str) -> str:
    """The alias every call goes through."""
    return f"{check_prefix(prefix)}-requests"


def requests_index(prefix: str) -> str:
    """The concrete index of the current mapping version."""
    return f"{check_prefix(prefix)}-requests-v{MAPPING_VERSION}"


def requests_pattern(prefix: str) -> str:
    """Every mapping version's index (what ``drop`` deletes)."""
    return f"{check_prefix(prefix)}-requests-v*"


def request_mappings() -> dict[str, Any]:
    """The strict mapping of a request document (see the module docstring for why)."""
    keyword = {"type": "keyword"}
    hidden = {"type": "keyword", **_NOT_INDEXED}
    return {
        "dynamic": "strict",
        "properties": {
            "request_id": keyword,
            "country": keyword,
            "reference": keyword,
            "purpose": keyword,
            "legal_basis": keyword,
            "justification": hidden,
            "requester": keyword,
            "requester_country": keyword,
            "state": keyword,
            "created_at": _DATE,
            "deadline_at": _DATE,
            "updated_at": _DATE,
            "decided_by": keyword,
            "decided_at": _DATE,
            "handling_code": keyword,
            "handling_note": hidden,
            "expires_at": _DATE,
            "denial_reason": hidden,
            "grant_nonce": hidden,
            "revealed_at": _DATE,
        },
    }


def create_index_body(prefix: str) -> dict[str, Any]:
    """Body creating the requests index with its mapping, settings and alias."""
    return {
        "settings": {"index": {"number_of_shards": 1, "refresh_interval": REFRESH_INTERVAL}},
        "mappings": request_mappings(),
        "aliases": {requests_alias(prefix): {"is_write_index": True}},
    }


def version_token(seq_no: object, primary_term: object) -> str:
    """The opaque version of a document read or written (``"{seq_no}:{primary_term}"``)."""
    return f"{int(seq_no)}:{int(primary_term)}"  # type: ignore[call-overload]


def parse_version(token: str) -> tuple[int, int]:
    """``(if_seq_no, if_primary_term)`` of a token; ``ValueError`` if this store never issued it."""
    found = _VERSION_TOKEN.fullmatch(token) if isinstance(token, str) else None
    if found is None:
        raise ValueError("expected_version is not a version this store issued")
    return int(found[1]), int(found[2])


def request_document(request: DetailsRequest) -> dict[str, Any]:
    """The ``_source`` of a request: the same flat fields SQLite stores."""
    return dict(stored_fields(request))


def request_from_hit(hit: Mapping[str, Any]) -> DetailsRequest:
    """The request of a get or search hit (which must carry seq_no and primary_term)."""
    return from_stored(dict(hit["_source"]), version_token(hit["_seq_no"], hit["_primary_term"]))


def _filters(query: RequestQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if query.requester is not None:
        filters.append({"term": {"requester": query.requester}})
    if query.country is not None:
        filters.append({"term": {"country": query.country}})
    if query.states is not None:
        filters.append({"terms": {"state": [state.value for state in query.states]}})
    if query.overdue_at is not None:
        filters.append({"range": {"deadline_at": {"lt": format_time(query.overdue_at)}}})
    return filters


def list_body(query: RequestQuery) -> dict[str, Any]:
    """Search body of `RequestStore.list`: filter context, newest first, then by id."""
    return {
        "size": query.limit,
        "seq_no_primary_term": True,
        "track_total_hits": False,
        "_source": list(STORED_FIELDS),
        "sort": [{"created_at": "desc"}, {"request_id": "asc"}],
        "query": {"bool": {"filter": _filters(query)}},
    }


def count_overdue_body(at: datetime) -> dict[str, Any]:
    """Aggregation body counting pending requests past their deadline, by country."""
    query = RequestQuery.build(overdue_at=at)
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"bool": {"filter": _filters(query)}},
        "aggs": {"countries": {"terms": {"field": "country", "size": MAX_COUNTRIES}}},
    }


def overdue_from_answer(answer: Mapping[str, Any]) -> dict[str, int]:
    """The per-country counts of a `count_overdue_body` answer."""
    buckets = ((answer.get("aggregations") or {}).get("countries") or {}).get("buckets") or []
    return {str(bucket["key"]): int(bucket["doc_count"]) for bucket in buckets}
