"""The reference index on OpenSearch: the production backend.

Layout and bodies are in `broker.index.queries` (and its docstring says why). This module
orders the calls and translates every opensearch-py exception at the edge.

A publication, start to end:

1. create a fresh generation ``{prefix}-refs-v1-{cc}-{stamp}`` (template mapping, load
   settings: no replicas, async translog; the publication's facts in ``_meta``);
2. stream the references into it: the caller's thread builds bulk requests of a few
   thousand documents while two threads send the previous ones, so building and indexing
   overlap and memory holds a few chunks, never the publication;
3. seal it: refresh, check the count, force-merge to one segment (which also commits it
   durably), refresh again so searches use the merged segment, restore the serving
   settings and record the count in ``_meta``;
4. ONE ``_aliases`` request that removes the country's served generation(s) from the alias
   ``{prefix}-refs`` and adds the new one: readers switch atomically;
5. delete the retired generation(s).

Anything failing in 1-4, including the caller's iterator, deletes the new generation and
leaves the alias as it was. If the answer to step 4 is lost (a timeout), the alias is read
back before deciding whether the switch happened, so a served generation is never deleted.
A generation left behind by a crashed publisher is not served, and is deleted by a later
publication of its country once it is older than ``orphan_age``.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

import grpc
from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    ConnectionError as TransportConnectionError,
)
from opensearchpy.exceptions import (
    ConnectionTimeout,
    ImproperlyConfigured,
    NotFoundError,
    OpenSearchException,
    TransportError,
)
from opensearchpy.helpers import scan

from broker.index import queries
from broker.index.errors import (
    IndexRequestFailed,
    IndexUnavailable,
    ReferenceIndexError,
    TooManyMatches,
)
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

T = TypeVar("T")

MAX_LOOKUP_DIGESTS = 4096
BULK_CHUNK_DOCS = 2_000
BULK_CHUNK_BYTES = 8 * 1024 * 1024
BULK_THREADS = 2
MAX_CONCURRENT_SHARD_REQUESTS = 64
"""Shards one lookup may query at once: every country's generation (11, twice while a
mapping migrates) in one wave, not OpenSearch's default five per node."""
SLOW_REQUEST_SECONDS = 600.0
"""Timeout of the calls that work on a whole generation (bulk, flush, force-merge)."""

_UNAVAILABLE_HTTP = frozenset({429, 502, 503, 504})
_UNAVAILABLE_TYPES = frozenset({"index_closed_exception"})
_PRECONDITION_HTTP = frozenset({401, 403, 404, 409})
_ERROR_TYPE = re.compile(r"[a-z_]{1,80}")
_DRIVER_ERRORS = (OpenSearchException, ImproperlyConfigured)


def translate(exc: BaseException, operation: str) -> ReferenceIndexError:
    """The project's error for an opensearch-py exception raised while doing ``operation``.

    Only the HTTP status and OpenSearch's error *type* (``mapper_parsing_exception``) are
    kept: the error *reason* may quote a document's field values.
    """
    if isinstance(exc, ConnectionTimeout):
        return IndexUnavailable(f"OpenSearch did not answer in time ({operation})")
    if isinstance(exc, TransportConnectionError):
        return IndexUnavailable(f"OpenSearch is unreachable ({operation})")
    if isinstance(exc, TransportError):
        return _refused(exc.status_code, exc.error, operation)
    if isinstance(exc, ImproperlyConfigured):
        return IndexRequestFailed(
            f"OpenSearch client is misconfigured ({operation})", grpc.StatusCode.FAILED_PRECONDITION
        )
    return IndexRequestFailed(f"OpenSearch client failed ({operation}: {type(exc).__name__})")


def _refused(status: object, kind: object, operation: str) -> ReferenceIndexError:
    """The error for an HTTP status and OpenSearch error type (anything else is dropped)."""
    kind = kind if isinstance(kind, str) and _ERROR_TYPE.fullmatch(kind) else "error"
    detail = kind if status is None else f"HTTP {status} {kind}"
    if status in _UNAVAILABLE_HTTP or kind in _UNAVAILABLE_TYPES:
        return IndexUnavailable(f"OpenSearch cannot serve {operation} now ({detail})")
    message = f"OpenSearch refused {operation} ({detail})"
    if status in _PRECONDITION_HTTP:
        return IndexRequestFailed(message, grpc.StatusCode.FAILED_PRECONDITION)
    return IndexRequestFailed(message)


def _raise_translated(exc: BaseException, operation: str) -> NoReturn:
    error = translate(exc, operation)
    # Keep the driver's exception as the cause only when it cannot carry document data.
    if isinstance(error, IndexUnavailable) and isinstance(exc, TransportConnectionError):
        raise error from exc
    raise error from None


class OpenSearchReferenceIndex:
    """`ReferenceIndex` on an OpenSearch cluster; every name starts with ``prefix``.

    Thread-safe: the opensearch-py client is, and the instance holds no per-call state.
    """

    def __init__(
        self,
        client: OpenSearch,
        prefix: str = "selec",
        *,
        max_matches: int = queries.MAX_RESULT_WINDOW,
        bulk_chunk_docs: int = BULK_CHUNK_DOCS,
        bulk_threads: int = BULK_THREADS,
        force_merge: bool = True,
        orphan_age: timedelta = timedelta(hours=6),
    ) -> None:
        queries.lookup_body(["0" * 32], None, max_matches)  # validates max_matches
        self._client = client
        self.prefix = queries.check_prefix(prefix)
        self.alias = queries.refs_alias(prefix)
        self.max_matches = max_matches
        self._bulk_chunk_docs = bulk_chunk_docs
        self._bulk_threads = bulk_threads
        self._force_merge = force_merge
        self._orphan_age = orphan_age
        self._prepared = False

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "selec", timeout: float = 5.0, **options: Any
    ) -> OpenSearchReferenceIndex:
        """An index on the cluster at ``url`` (credentials may be in the URL).

        ``timeout`` bounds the quick calls (lookups, health); whole-generation calls get
        `SLOW_REQUEST_SECONDS`. Timeouts are not retried: the broker has its own deadline.
        """
        try:
            client = OpenSearch(
                hosts=[url],
                timeout=timeout,
                max_retries=2,
                retry_on_timeout=False,
                pool_maxsize=16,
            )
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "connect")
        return cls(client, prefix, **options)

    def __repr__(self) -> str:
        return f"OpenSearchReferenceIndex(prefix={self.prefix!r})"

    def _call(self, operation: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, operation)

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Install (or update) the index template; the alias appears with the first publication."""
        self._call(
            "prepare",
            self._client.indices.put_index_template,
            name=queries.refs_template(self.prefix),
            body=queries.reference_template(self.prefix),
        )
        self._prepared = True

    def ping(self) -> bool:
        """Reachable, and neither the cluster nor any of our generations is red."""
        try:
            health = self._client.cluster.health(index=queries.refs_pattern(self.prefix))
        except _DRIVER_ERRORS as exc:
            log.warning("reference index ping failed: %s", translate(exc, "ping"))
            return False
        return health.get("status") in ("green", "yellow")

    def close(self) -> None:
        """Close the client's connections."""
        try:
            self._client.close()
        except _DRIVER_ERRORS as exc:
            log.warning("closing the reference index client failed: %s", translate(exc, "close"))

    # ------------------------------------------------------------------ publish

    def publish(
        self, country: str, references: Iterable[IndexedReference], as_of: datetime
    ) -> Publication:
        """Load a new generation of ``country`` and switch the alias to it (see module doc)."""
        check_country(country)
        as_of = utc(as_of, "as_of")
        if not self._prepared:
            self.prepare()
        published_at = datetime.now(UTC)
        self._sweep_orphans(country, published_at)
        generation = queries.generation_name(self.prefix, country, published_at)
        pending = Publication(country, as_of, 0, published_at)
        self._call(
            "create a generation",
            self._client.indices.create,
            index=generation,
            body=queries.create_body(queries.publication_meta(pending)),
            request_timeout=SLOW_REQUEST_SECONDS,
        )
        try:
            count = self._load(generation, country, references, as_of.isoformat())
            publication = Publication(country, as_of, count, published_at)
            self._seal(generation, publication)
            retired = self._switch(country, generation)
        except BaseException:
            self._discard(generation)
            raise
        for index in retired:
            self._delete_quietly(index, "retired generation")
        log.info(
            "reference index published country=%s references=%d generation=%s",
            country,
            count,
            generation,
        )
        return publication

    def _load(
        self, generation: str, country: str, references: Iterable[IndexedReference], as_of: str
    ) -> int:
        """Send the references as bulk requests; the count sent.

        The caller's thread reads the iterator and builds each chunk while up to
        ``bulk_threads`` earlier chunks are being indexed. (opensearch-py's
        ``parallel_bulk`` overlaps too, but consumes the iterator in a pool thread, and its
        chunker serializes every action twice over: twice the client CPU per reference.)
        """
        sent = 0
        chunk: list[str] = []
        size = 0
        in_flight: deque[Future[None]] = deque()
        with ThreadPoolExecutor(self._bulk_threads, thread_name_prefix="selec-bulk") as pool:
            try:
                for reference in references:
                    if not isinstance(reference, IndexedReference):
                        raise ValueError("publish takes IndexedReference items")
                    if reference.country != country:
                        raise ValueError(
                            f"a reference of another country in the publication of {country}"
                        )
                    line = queries.bulk_lines(reference, as_of)
                    chunk.append(line)
                    size += len(line)
                    if len(chunk) >= self._bulk_chunk_docs or size >= BULK_CHUNK_BYTES:
                        self._submit(pool, in_flight, generation, chunk, country)
                        sent += len(chunk)
                        chunk, size = [], 0
                if chunk:
                    self._submit(pool, in_flight, generation, chunk, country)
                    sent += len(chunk)
                while in_flight:
                    in_flight.popleft().result()
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise  # leaving the pool waits for the requests already running
        return sent

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        in_flight: deque[Future[None]],
        generation: str,
        chunk: list[str],
        country: str,
    ) -> None:
        """Queue one bulk request, first waiting for the oldest if enough are running."""
        if len(in_flight) >= self._bulk_threads:
            in_flight.popleft().result()
        body = "".join(chunk).encode()
        in_flight.append(pool.submit(self._bulk, generation, body, country))

    def _bulk(self, generation: str, body: bytes, country: str) -> None:
        """One bulk request (in a pool thread); raises if any document was refused."""
        answer = self._call(
            "bulk load",
            self._client.bulk,
            body=body,
            index=generation,
            filter_path=queries.BULK_FILTER,
            request_timeout=SLOW_REQUEST_SECONDS,
        )
        kind = queries.bulk_error(answer)
        if kind is None:
            return
        if kind.endswith("rejected_execution_exception"):
            raise IndexUnavailable(f"OpenSearch is overloaded (a reference of {country}: {kind})")
        raise _refused(None, kind, f"a reference of {country}")

    def _seal(self, generation: str, publication: Publication) -> None:
        """Make a loaded generation servable: complete, merged, durable, visible, recorded."""
        indices = self._client.indices
        slow = {"request_timeout": SLOW_REQUEST_SECONDS}
        self._call("refresh", indices.refresh, index=generation, **slow)
        stored = self._call("count the load", self._client.count, index=generation, **slow)
        if stored["count"] < publication.reference_count:  # one _id written twice
            raise ValueError(f"the publication of {publication.country} lists a reference twice")
        if stored["count"] != publication.reference_count:
            raise IndexRequestFailed(
                f"OpenSearch holds {stored['count']} of the {publication.reference_count} "
                f"references just published for {publication.country}"
            )
        if self._force_merge:  # the merge also flushes: a durable commit
            self._call(
                "force-merge", indices.forcemerge, index=generation, max_num_segments=1, **slow
            )
            self._call("refresh", indices.refresh, index=generation, **slow)
        else:
            self._call("flush", indices.flush, index=generation, **slow)
        self._call(
            "restore settings",
            indices.put_settings,
            index=generation,
            body=queries.after_load_settings(),
            **slow,
        )
        self._call(
            "record the publication",
            indices.put_mapping,
            index=generation,
            body=queries.meta_body(publication),
            **slow,
        )

    def _generations(self, country: str) -> dict[str, bool]:
        """Every generation of ``country``, and whether the alias serves it."""
        answer = self._call(
            "list generations",
            self._client.indices.get_alias,
            index=queries.country_pattern(self.prefix, country),
        )
        return {
            index: self.alias in (body.get("aliases") or {})
            for index, body in answer.items()
            if queries.generation_time(self.prefix, country, index) is not None
        }

    def _switch(self, country: str, generation: str) -> list[str]:
        """Serve ``generation`` instead of the country's current one(s); returns those."""
        retired = [
            index
            for index, served in self._generations(country).items()
            if served and index != generation
        ]
        try:
            self._call(
                "switch the alias",
                self._client.indices.update_aliases,
                body=queries.swap_actions(self.alias, retired, generation),
                request_timeout=SLOW_REQUEST_SECONDS,
            )
        except ReferenceIndexError as error:
            if self._is_served(generation):
                return retired  # the switch happened; only its answer was lost
            if error.status == grpc.StatusCode.FAILED_PRECONDITION:
                raise IndexRequestFailed(
                    f"another publication of {country} was switched in concurrently",
                    grpc.StatusCode.FAILED_PRECONDITION,
                ) from None
            raise
        return retired

    def _is_served(self, generation: str) -> bool:
        """Whether the alias serves ``generation``; when that cannot be told, assume it does,
        so the caller leaves the index alone rather than risk deleting a served one."""
        try:
            answer = self._client.indices.get_alias(index=generation)
        except NotFoundError:
            return False
        except _DRIVER_ERRORS:
            return True
        return self.alias in (answer.get(generation, {}).get("aliases") or {})

    def _discard(self, generation: str) -> None:
        """Delete a generation whose publication failed, unless it might be served."""
        if self._is_served(generation):
            log.warning(
                "publication failed, and its switch may have happened; kept generation=%s",
                generation,
            )
            return
        self._delete_quietly(generation, "failed generation")

    def _sweep_orphans(self, country: str, now: datetime) -> None:
        """Delete generations nobody serves that are too old to be another publisher's load."""
        try:
            generations = self._generations(country)
        except ReferenceIndexError as error:
            log.warning("could not list generations of country=%s: %s", country, error)
            return
        for index, served in generations.items():
            started = queries.generation_time(self.prefix, country, index)
            if not served and started is not None and now - started > self._orphan_age:
                self._delete_quietly(index, "orphaned generation")

    def _delete_quietly(self, index: str, what: str) -> None:
        try:
            self._client.indices.delete(index=index, request_timeout=SLOW_REQUEST_SECONDS)
        except NotFoundError:
            pass
        except _DRIVER_ERRORS as exc:
            log.warning("could not delete %s index=%s: %s", what, index, translate(exc, "delete"))

    # ------------------------------------------------------------------ read

    def lookup(
        self, digests: Iterable[str], countries: Iterable[str] | None = None
    ) -> list[IndexMatch]:
        """Every served reference holding any of ``digests`` (one ``terms`` search)."""
        wanted = lookup_digests(digests, MAX_LOOKUP_DIGESTS)
        among = lookup_countries(countries)
        if not wanted or among == []:
            return []
        try:
            answer = self._client.search(
                index=self.alias,
                body=queries.lookup_body(wanted, among, self.max_matches),
                # Not ignore_unavailable: a served generation that is closed would be
                # skipped without a shard failure, and its country read as holding no hit.
                allow_partial_search_results=False,
                max_concurrent_shard_requests=MAX_CONCURRENT_SHARD_REQUESTS,
            )
        except NotFoundError as exc:
            if exc.error != "index_not_found_exception":
                _raise_translated(exc, "lookup")
            return []  # no alias: nothing is published (a served generation is never missing)
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "lookup")
        shards = answer.get("_shards") or {}
        if answer.get("timed_out") or shards.get("failed"):
            raise IndexUnavailable("OpenSearch answered the lookup from only some shards")
        if queries.total_hits(answer) > self.max_matches:
            raise TooManyMatches(f"more than {self.max_matches} references match one lookup")
        return ordered_matches(queries.matches_from_hits(answer["hits"]["hits"], wanted))

    def publications(self) -> dict[str, Publication]:
        """Publications of the served generations, read from their mapping ``_meta``."""
        answer = self._call(
            "read publications",
            self._client.indices.get_mapping,
            index=self.alias,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return queries.publications_from_mappings(answer)

    def documents(self) -> Iterator[dict[str, object]]:
        """Every document of every generation (served, loading or orphaned) and every
        generation's ``_meta``, which is where publications live."""
        pattern = queries.refs_pattern(self.prefix)
        self._call("refresh", self._client.indices.refresh, index=pattern)
        mappings = self._call("read mappings", self._client.indices.get_mapping, index=pattern)
        for index, body in sorted(mappings.items()):
            meta = (body.get("mappings") or {}).get("_meta")
            if meta:
                yield {"_index": index, "_meta": meta}
        try:
            for hit in scan(
                self._client,
                index=pattern,
                query={"query": {"match_all": {}}},
                size=1_000,
                request_timeout=SLOW_REQUEST_SECONDS,
            ):
                yield {"_index": hit["_index"], "_id": hit["_id"], **hit["_source"]}
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "scan documents")

    def drop(self) -> None:
        """Delete every generation and the template of this prefix."""
        answer = self._call(
            "list generations",
            self._client.indices.get_alias,
            index=queries.refs_pattern(self.prefix),
        )
        for index in sorted(answer):
            self._call(
                "delete a generation",
                self._client.indices.delete,
                index=index,
                ignore_unavailable=True,
                request_timeout=SLOW_REQUEST_SECONDS,
            )
        try:
            self._client.indices.delete_index_template(name=queries.refs_template(self.prefix))
        except NotFoundError:
            pass
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "delete the template")
        self._prepared = False


def from_url(url: str, prefix: str = "selec", timeout: float = 5.0) -> OpenSearchReferenceIndex:
    """`OpenSearchReferenceIndex.from_url`, as a function for the factory."""
    return OpenSearchReferenceIndex.from_url(url, prefix, timeout)
