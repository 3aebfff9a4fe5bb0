"""Pure builders of what the OpenSearch backend sends and reads: names, mappings, bodies.

Nothing here talks to a cluster, so all of it is unit-tested without one, and the backend
(`broker.index.opensearch`) is left with the order of the calls and error translation.

Layout, and why:

* One concrete index per (country, generation), named
  ``{prefix}-refs-v1-{country}-{yyyymmddhhmmssffffff}``, and every generation being served
  sits behind the alias ``{prefix}-refs``. A publication loads a fresh generation and then
  switches the alias in one ``_aliases`` request, so readers see the old generation or the
  new one, never a mix, and a failed load is dropped without touching what is served.
  Per-country generations keep one country's publication from rewriting another's, and make
  "delete what the node deleted at home" free: the old generation is dropped whole.
* ``v1`` is the mapping version: a changed mapping gets ``v2`` names and template, and the
  next publication of each country moves it across while lookups keep working.
* One document per reference, ``_id`` = the reference. ``digests`` is the only field a
  lookup searches (a ``terms`` filter, no scoring). ``key_types`` and ``strengths`` are
  parallel to ``digests``, kept in ``_source`` only (not indexed, no doc values), to tell
  which keys matched without a nested mapping.
* The publication's facts (as of, count, when) live in the generation's own mapping
  ``_meta``, not in a separate publications index: then the alias switch that starts
  serving the references also starts serving their publication, in the same atomic step.
  A separate document would be written before or after the switch, and a failure between
  the two would show an "as of" that does not describe the data. Each document also
  carries ``as_of``, so a lookup answers "indexed as of T" from the hit itself.
* Every field is a ``keyword`` (or a number or date), never analysed ``text``, and the
  mapping is ``dynamic: strict``: a stray field (a name, say) is refused, not indexed.
* A loaded generation is force-merged to one segment and refreshed *after* the merge (a
  merge is invisible to searches until the next refresh, and with ``refresh_interval: -1``
  nothing else would refresh it). Fewer segments is what makes lookups fast: a ``terms``
  query seeks every digest in every segment.

The alternative measured and not taken: ONE index for all countries, each country served
through a filtered alias on its current generation, so a lookup is one search on one shard.
A lookup seeks every digest in every segment it searches, so what counts is segments x
digests: eleven one-segment generations here, against one segment there *if* the shared
index is force-merged. Measured with a million references on two cores (same load, fresh
digests per lookup): 2.7-2.9 ms p50 there against 7.5-7.9 ms here. But a shared index can
only be kept at one segment by rewriting every country's data at each publication (18 s
at 1M, and growing with the index), which would roughly halve the publish rate; left to
background merging it held ~26 segments, more seeks than eleven shards. Re-publishing
there also deletes the previous generation document by document. Per-country generations
keep merges, deletes and failures confined to the country that publishes. (On this
development node the seeks are dearer than they need be: ``scripts/opensearch`` disables
mmap, so terms-dictionary reads go through read() calls instead of mapped memory.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from broker.index.model import IndexedReference, IndexMatch, Publication

MAPPING_VERSION = 1
MAX_RESULT_WINDOW = 10_000
"""OpenSearch's default ``index.max_result_window``: the most hits one request returns."""

META_KEY = "selec_publication"
SOURCE_FIELDS = (
    "country",
    "reference",
    "kind",
    "category",
    "digests",
    "key_types",
    "strengths",
    "as_of",
)

_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_STAMP = "%Y%m%d%H%M%S%f"


def check_prefix(prefix: str) -> str:
    """An index prefix: lowercase, as OpenSearch index names must be, and short."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError("index prefix must be lowercase letters, digits, '-' or '_'")
    return prefix


def refs_alias(prefix: str) -> str:
    """The alias every served generation sits behind; lookups search it."""
    return f"{prefix}-refs"


def refs_template(prefix: str) -> str:
    """Name of the index template that gives every generation its mapping."""
    return f"{prefix}-refs-v{MAPPING_VERSION}"


def refs_pattern(prefix: str) -> str:
    """Pattern of every generation of every country (served, loading or orphaned)."""
    return f"{prefix}-refs-v{MAPPING_VERSION}-*"


def country_pattern(prefix: str, country: str) -> str:
    """Pattern of every generation of one country."""
    return f"{prefix}-refs-v{MAPPING_VERSION}-{country.lower()}-*"


def generation_name(prefix: str, country: str, published_at: datetime) -> str:
    """The concrete index of one publication; microseconds keep successive ones apart."""
    stamp = published_at.astimezone(UTC).strftime(_STAMP)
    return f"{prefix}-refs-v{MAPPING_VERSION}-{country.lower()}-{stamp}"


def generation_time(prefix: str, country: str, index: str) -> datetime | None:
    """When the generation ``index`` of ``country`` was started; None if it is not one."""
    head = f"{prefix}-refs-v{MAPPING_VERSION}-{country.lower()}-"
    if not index.startswith(head):
        return None
    try:
        return datetime.strptime(index[len(head) :], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def reference_mappings() -> dict[str, Any]:
    """The strict mapping of a reference document (see the module docstring for why)."""
    not_indexed = {"index": False, "doc_values": False}
    return {
        "dynamic": "strict",
        "properties": {
            "country": {"type": "keyword"},
            "reference": {"type": "keyword"},
            "kind": {"type": "keyword"},
            "category": {"type": "keyword"},
            "digests": {"type": "keyword", "doc_values": False},
            "key_types": {"type": "keyword", **not_indexed},
            "strengths": {"type": "byte", **not_indexed},
            "as_of": {"type": "date", "format": "strict_date_optional_time", **not_indexed},
        },
    }


def serving_settings() -> dict[str, Any]:
    """Settings of a generation once served.

    A generation is written once and never again, so it needs no periodic refresh: it is
    refreshed explicitly at the end of its load. One shard holds a country comfortably
    (a million references is well under a gigabyte); replicas follow the cluster default.
    """
    return {"index": {"number_of_shards": 1, "refresh_interval": "-1"}}


def load_settings() -> dict[str, Any]:
    """Overrides while a generation loads: no replicas, no fsync per bulk request.

    Safe because nothing reads a loading generation, and a load that dies is thrown away
    and redone; the load is committed (flushed) before it is served, and
    `after_load_settings` then restores the defaults.
    """
    return {
        "index": {
            "number_of_replicas": 0,
            "translog.durability": "async",
            "translog.flush_threshold_size": "1gb",
        }
    }


def after_load_settings() -> dict[str, Any]:
    """Resets the load overrides to the index defaults (None removes a setting)."""
    return {
        "index": {
            "number_of_replicas": None,
            "translog.durability": None,
            "translog.flush_threshold_size": None,
        }
    }


def reference_template(prefix: str) -> dict[str, Any]:
    """The composable index template applied to every generation of ``prefix``.

    Without an alias: a generation joins the alias only when its load is complete.
    """
    return {
        "index_patterns": [refs_pattern(prefix)],
        "version": MAPPING_VERSION,
        "priority": 100,
        "template": {"settings": serving_settings(), "mappings": reference_mappings()},
    }


def create_body(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Body creating one generation: load overrides and the publication's ``_meta``.

    The mapping is repeated here (it equals the template's) so a generation is strict even
    if someone deleted the template under a running broker.
    """
    return {
        "settings": load_settings(),
        "mappings": {**reference_mappings(), "_meta": {META_KEY: dict(meta)}},
    }


def publication_meta(publication: Publication) -> dict[str, Any]:
    """A publication as stored in its generation's ``_meta``."""
    return {
        "schema": MAPPING_VERSION,
        "country": publication.country,
        "as_of": publication.as_of.isoformat(),
        "reference_count": publication.reference_count,
        "published_at": publication.published_at.isoformat(),
    }


def meta_body(publication: Publication) -> dict[str, Any]:
    """Put-mapping body recording the final publication facts once the load is counted."""
    return {"_meta": {META_KEY: publication_meta(publication)}}


def publication_from_meta(meta: Mapping[str, Any]) -> Publication | None:
    """The publication recorded in a mapping ``_meta``; None if there is none or it is foreign."""
    facts = meta.get(META_KEY) if isinstance(meta, Mapping) else None
    if not isinstance(facts, Mapping) or facts.get("schema") != MAPPING_VERSION:
        return None
    try:
        return Publication(
            country=str(facts["country"]),
            as_of=datetime.fromisoformat(facts["as_of"]),
            reference_count=int(facts["reference_count"]),
            published_at=datetime.fromisoformat(facts["published_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def publications_from_mappings(response: Mapping[str, Any]) -> dict[str, Publication]:
    """Latest publication per country from a ``GET {alias}/_mapping`` answer.

    Normally one generation per country is served; should a race ever leave two behind the
    alias, the newer publication is the one that counts (and the next publish removes both).
    """
    latest: dict[str, Publication] = {}
    for body in response.values():
        meta = (body.get("mappings") or {}).get("_meta") or {}
        publication = publication_from_meta(meta)
        if publication is None:
            continue
        known = latest.get(publication.country)
        if known is None or publication.published_at > known.published_at:
            latest[publication.country] = publication
    return latest


def reference_document(reference: IndexedReference, as_of: str) -> dict[str, Any]:
    """The ``_source`` of one reference; ``as_of`` is pre-formatted once per publication."""
    keys = reference.keys
    return {
        "country": reference.country,
        "reference": reference.reference,
        "kind": reference.kind,
        "category": reference.category,
        "digests": [key.digest for key in keys],
        "key_types": [key.key_type for key in keys],
        "strengths": [key.strength for key in keys],
        "as_of": as_of,
    }


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
BULK_FILTER = "errors,items.*.error.type"
"""``filter_path`` of a bulk request: nothing per document unless it failed, and then only
the error type (a failure's *reason* may quote the document)."""


def bulk_lines(reference: IndexedReference, as_of: str) -> str:
    """The two NDJSON lines indexing one reference in a bulk request."""
    action = {"index": {"_id": reference.reference}}
    return f"{_ENCODE(action)}\n{_ENCODE(reference_document(reference, as_of))}\n"


def bulk_error(answer: Mapping[str, Any]) -> str | None:
    """The error type of the first failed document of a bulk answer; None if none failed."""
    if not answer.get("errors"):
        return None
    for item in answer.get("items") or []:
        for result in item.values():
            error = (result or {}).get("error")
            if isinstance(error, Mapping):
                return str(error.get("type") or "error")
    return "error"


def swap_actions(alias: str, old: Iterable[str], new: str) -> dict[str, Any]:
    """One ``_aliases`` body that retires ``old`` and serves ``new``, atomically.

    ``must_exist`` makes the whole request fail if another publisher already retired one
    of ``old``: of two racing publications of a country, one wins and one fails cleanly.
    """
    actions: list[dict[str, Any]] = [
        {"remove": {"index": index, "alias": alias, "must_exist": True}} for index in old
    ]
    actions.append({"add": {"index": new, "alias": alias}})
    return {"actions": actions}


def lookup_body(
    digests: Sequence[str], countries: Sequence[str] | None, max_matches: int
) -> dict[str, Any]:
    """Search body for the references holding any of ``digests``.

    Filter context only (no scores to compute), sorted by ``_doc`` (the cheapest order;
    the backend sorts in Python). ``track_total_hits`` counts one past the cap, so an
    answer that would be cut is detected and refused instead of silently truncated.
    """
    if not 1 <= max_matches <= MAX_RESULT_WINDOW:
        raise ValueError(f"max_matches must be 1..{MAX_RESULT_WINDOW}")
    filters: list[dict[str, Any]] = [{"terms": {"digests": list(digests)}}]
    if countries is not None:
        filters.append({"terms": {"country": list(countries)}})
    return {
        "size": max_matches,
        "track_total_hits": max_matches + 1,
        "sort": ["_doc"],
        "_source": list(SOURCE_FIELDS),
        "query": {"bool": {"filter": filters}},
    }


def total_hits(response: Mapping[str, Any]) -> int:
    """The (possibly capped) hit count of a search answer."""
    total = response.get("hits", {}).get("total", 0)
    return int(total.get("value", 0)) if isinstance(total, Mapping) else int(total)


def matches_from_hits(
    hits: Iterable[Mapping[str, Any]], digests: Iterable[str]
) -> list[IndexMatch]:
    """One `IndexMatch` per hit: which of its keys carry a looked-up digest, and how strong.

    A reference found in two generations (only possible if two publications raced) counts
    once, from the newer publication.
    """
    wanted = set(digests)
    found: dict[tuple[str, str], IndexMatch] = {}
    for hit in hits:
        source = hit["_source"]
        matched = [
            (key_type, int(strength))
            for digest, key_type, strength in zip(
                source["digests"], source["key_types"], source["strengths"], strict=True
            )
            if digest in wanted
        ]
        if not matched:
            continue
        match = IndexMatch.from_keys(
            source["country"],
            source["reference"],
            source["kind"],
            source["category"],
            matched=matched,
            as_of=datetime.fromisoformat(source["as_of"]),
        )
        key = (match.country, match.reference)
        if key not in found or match.as_of > found[key].as_of:
            found[key] = match
    return list(found.values())
