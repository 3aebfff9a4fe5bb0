"""The audit log on OpenSearch: one chain shared by every broker instance.

Layout and bodies are in `broker.audit.queries`, whose docstring says why the head
document is the commit point. This module orders the calls and translates every
opensearch-py exception at the edge (with the reference index's translation).

An append, start to end:

1. read the head document (a realtime get: it sees every acknowledged write);
2. if the head's pending events may not all exist as documents yet (another broker
   committed them and may have died), create the missing ones first; one that exists is
   compared by hash (a different one was written outside the log, and is logged);
3. chain the new records from the head and write the new head (with them as its pending
   events) with ``if_seq_no``/``if_primary_term``; a 409 means another broker committed
   first: wait a moment and go back to 1, at most ``max_attempts`` times;
4. create the events as their own documents. If that fails the append has still
   happened (the events are durable in the head) and the next append finishes it, so the
   caller is not told to retry what is already logged.

A head write whose answer is lost (a timeout) is settled by re-reading the head: if it
ends at this batch's last hash, the batch was committed.

Nothing is refreshed per append (the chain never needs a search); readers refresh once
before they search, and read only up to the head they read first, so an export or a
verification is a snapshot that never sees half a batch.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import grpc
from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    ConflictError,
    ConnectionTimeout,
    ImproperlyConfigured,
    NotFoundError,
    OpenSearchException,
    RequestError,
)
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.helpers import scan

from broker.audit import queries
from broker.audit.chain import ChainVerifier, chain
from broker.audit.model import EMPTY_HEAD, AuditEvent, AuditRecord, ChainHead, VerifyReport
from broker.index.errors import IndexRequestFailed, IndexUnavailable, ReferenceIndexError
from broker.index.model import utc
from broker.index.opensearch import translate

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BATCH = 500
"""Events per commit: the head document carries a whole batch, so it stays well under a
megabyte; a longer `append_many` is committed as several consecutive batches."""
MAX_ATTEMPTS = 64
"""Commits tried before giving up. Each lost attempt means another broker appended, so
the chain always progresses; the bound only stops one broker from waiting for ever."""
_BACKOFF_SECONDS = 0.002
_BACKOFF_CAP_SECONDS = 0.05

_DRIVER_ERRORS = (OpenSearchException, ImproperlyConfigured)


def _raise_translated(exc: BaseException, operation: str) -> NoReturn:
    error = translate(exc, f"audit log {operation}")
    if isinstance(error, IndexUnavailable) and isinstance(exc, TransportConnectionError):
        raise error from exc
    raise error from None


def _missing_index(exc: NotFoundError) -> bool:
    return exc.error == "index_not_found_exception"


class _Head:
    """The head as read: the chain head, its pending events and its version (None: no head
    document yet, i.e. an empty log)."""

    __slots__ = ("head", "pending", "version")

    def __init__(
        self, head: ChainHead, pending: list[AuditEvent], version: tuple[int, int] | None
    ) -> None:
        self.head = head
        self.pending = pending
        self.version = version


class OpenSearchAuditLog:
    """`AuditLog` on an OpenSearch cluster; every name starts with ``prefix``.

    Thread-safe: the client is, and the only state (how far this instance knows events to
    be created, which only saves requests) is behind a lock.
    """

    def __init__(
        self,
        client: OpenSearch,
        prefix: str = "selec",
        *,
        max_batch: int = MAX_BATCH,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        if max_batch < 1 or max_attempts < 1:
            raise ValueError("max_batch and max_attempts must be at least 1")
        self._client = client
        self.prefix = queries.check_prefix(prefix)
        self.alias = queries.events_alias(prefix)
        self.head_alias = queries.head_alias(prefix)
        self._max_batch = max_batch
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._created_through = 0
        self._prepared = False

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "selec", timeout: float = 5.0, **options: Any
    ) -> OpenSearchAuditLog:
        """A log on the cluster at ``url`` (credentials may be in the URL); ``options`` are
        the constructor's (``max_batch``, ``max_attempts``)."""
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
        return f"OpenSearchAuditLog(prefix={self.prefix!r})"

    def _call(self, operation: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, operation)

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Create both indices unless they exist (another broker may race us)."""
        for index, body in (
            (queries.events_index(self.prefix), queries.create_events_body(self.prefix)),
            (queries.head_index(self.prefix), queries.create_head_body(self.prefix)),
        ):
            try:
                self._client.indices.create(index=index, body=body)
            except RequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    _raise_translated(exc, "prepare")
            except _DRIVER_ERRORS as exc:
                _raise_translated(exc, "prepare")
        self._prepared = True

    def _ensure_prepared(self) -> None:
        if not self._prepared:
            self.prepare()

    def ping(self) -> bool:
        """Reachable, and neither audit index is red; never raises."""
        try:
            health = self._client.cluster.health(index=f"{self.alias},{self.head_alias}")
        except _DRIVER_ERRORS as exc:
            log.warning("audit log ping failed: %s", translate(exc, "audit log ping"))
            return False
        return health.get("status") in ("green", "yellow")

    def close(self) -> None:
        """Close the client's connections."""
        try:
            self._client.close()
        except _DRIVER_ERRORS as exc:
            log.warning("closing the audit log failed: %s", translate(exc, "close"))

    # ------------------------------------------------------------------ append

    def append(self, record: AuditRecord) -> AuditEvent:
        """`append_many` of one record."""
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        """Commit ``records`` in batches of ``max_batch``, each atomic (module docstring)."""
        if isinstance(records, AuditRecord):
            raise ValueError("append_many takes a sequence of AuditRecord")
        records = list(records)
        chain(records)  # validates the items before anything is written
        self._ensure_prepared()
        appended: list[AuditEvent] = []
        for start in range(0, len(records), self._max_batch):
            appended.extend(self._commit(records[start : start + self._max_batch]))
        return appended

    def _commit(self, batch: list[AuditRecord]) -> list[AuditEvent]:
        attempted: list[AuditEvent] = []
        for attempt in range(self._max_attempts):
            current = self._read_head()
            if attempted and current.head == ChainHead(attempted[-1].seq, attempted[-1].hash):
                self._create_events(attempted)  # our earlier write landed after all
                return attempted
            if current.pending and current.head.seq > self._known_created():
                self._create_events(current.pending, check_first=True)
            attempted = chain(batch, current.head)
            if self._write_head(attempted, current.version):
                self._create_events(attempted)
                return attempted
            self._pause(attempt)
        raise IndexUnavailable(
            f"the audit chain is contended: no append after {self._max_attempts} attempts"
        )

    def _write_head(self, events: list[AuditEvent], version: tuple[int, int] | None) -> bool:
        """Compare-and-set the head; False if another broker committed first or the answer
        was lost (the caller re-reads to tell which)."""
        options: dict[str, Any] = {"op_type": "create"}
        if version is not None:
            options = {"if_seq_no": version[0], "if_primary_term": version[1]}
        try:
            self._client.index(
                index=self.head_alias,
                id=queries.HEAD_ID,
                body=queries.head_document(events),
                require_alias=True,
                **options,
            )
        except ConflictError:
            return False
        except ConnectionTimeout:
            log.warning("audit head write timed out; re-reading the head to settle it")
            return False
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "append")
        return True

    def _pause(self, attempt: int) -> None:
        """A short, random, growing pause, so contending brokers stop colliding in lockstep."""
        ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_SECONDS * 2 ** min(attempt, 10))
        time.sleep(random.uniform(0, ceiling))

    def _known_created(self) -> int:
        with self._lock:
            return self._created_through

    def _read_head(self) -> _Head:
        try:
            answer = self._client.get(index=self.head_alias, id=queries.HEAD_ID)
        except NotFoundError as exc:
            if _missing_index(exc):
                raise IndexRequestFailed(
                    "the audit log is not prepared (no head index)",
                    grpc.StatusCode.FAILED_PRECONDITION,
                ) from None
            return _Head(EMPTY_HEAD, [], None)
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "read the head")
        if not answer.get("found"):
            return _Head(EMPTY_HEAD, [], None)
        try:
            head, pending = queries.head_from_document(answer["_source"])
        except (KeyError, TypeError, ValueError):
            raise IndexRequestFailed(
                "the audit log's head document is damaged; run verify", grpc.StatusCode.DATA_LOSS
            ) from None
        return _Head(head, pending, (int(answer["_seq_no"]), int(answer["_primary_term"])))

    def _create_events(self, events: list[AuditEvent], *, check_first: bool = False) -> None:
        """Create committed events as documents; never raises (they are already durable).

        ``check_first``: they are a batch another broker committed, most likely created
        already, so one realtime mget settles it and only the missing ones are created.
        """
        try:
            missing = self._missing(events) if check_first else events
            if missing:
                answer = self._client.bulk(
                    body=queries.bulk_create_body(missing, self.alias),
                    filter_path=queries.BULK_FILTER,
                    require_alias=True,
                )
                conflicts, other = queries.bulk_conflicts(answer)
                if other is not None:
                    raise IndexRequestFailed(f"OpenSearch refused an audit event ({other})")
                if conflicts:  # created meanwhile by another broker: must be the same
                    self._missing([event for event in missing if str(event.seq) in conflicts])
        except _DRIVER_ERRORS as exc:
            error: ReferenceIndexError = translate(exc, "audit log create events")
        except ReferenceIndexError as caught:
            error = caught
        else:
            with self._lock:
                self._created_through = max(self._created_through, events[-1].seq)
            return
        log.warning(
            "committed audit events %d..%d are not created as documents yet (%s); "
            "the next append creates them",
            events[0].seq,
            events[-1].seq,
            error,
        )

    def _missing(self, events: list[AuditEvent]) -> list[AuditEvent]:
        """Which of ``events`` have no document yet. Those that have one must hold the
        committed event, or someone wrote it outside the log (logged; `verify` reports it)."""
        answer = self._call(
            "compare events",
            self._client.mget,
            index=self.alias,
            body={"ids": [str(event.seq) for event in events]},
            _source_includes=["hash"],
        )
        found = {
            str(doc.get("_id")): (doc.get("_source") or {}).get("hash")
            for doc in answer.get("docs") or []
            if doc.get("found")
        }
        for event in events:
            stored = found.get(str(event.seq), event.hash)
            if stored != event.hash:
                log.error(
                    "audit event %d is stored with content other than its committed copy: "
                    "it was written outside the log; run verify",
                    event.seq,
                )
        return [event for event in events if str(event.seq) not in found]

    # ------------------------------------------------------------------ read

    def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
    ) -> Iterator[AuditEvent]:
        """Events up to the head read first, filtered in the search, pages by seq."""
        since = None if since is None else utc(since, "since")
        until = None if until is None else utc(until, "until")
        if actor is not None and (not isinstance(actor, str) or not actor):
            raise ValueError("actor must be a non-empty string")
        return self._export(since, until, actor)

    def _export(
        self, since: datetime | None, until: datetime | None, actor: str | None
    ) -> Iterator[AuditEvent]:
        self._ensure_prepared()
        current = self._read_head()
        self._call("refresh", self._client.indices.refresh, index=self.alias)

        def wanted(event: AuditEvent) -> bool:
            return (
                (since is None or event.at >= since)
                and (until is None or event.at < until)
                and (actor is None or event.actor == actor)
            )

        stored = (
            self._event(hit)
            for hit in self._pages(current.head.seq, since=since, until=until, actor=actor)
        )
        pending = [event for event in current.pending if wanted(event)]
        yield from queries.merge_pending(stored, pending)

    def _pages(self, through: int, **filters: Any) -> Iterator[dict[str, Any]]:
        """Raw hits with seq <= ``through``, in seq order, a page per search (keyset)."""
        after = 0
        while after < through:
            body = queries.events_body(after=after, through=through, **filters)
            answer = self._call("export", self._client.search, index=self.alias, body=body)
            hits = answer["hits"]["hits"]
            yield from hits
            if len(hits) < queries.PAGE_EVENTS:
                return
            after = int(hits[-1]["sort"][0])

    def _event(self, hit: dict[str, Any]) -> AuditEvent:
        try:
            return queries.event_from_hit(hit)
        except (KeyError, TypeError, ValueError):
            raise IndexRequestFailed(
                "the audit log holds an event that cannot be read; run verify",
                grpc.StatusCode.DATA_LOSS,
            ) from None

    def verify(self, *, anchor: ChainHead | None = None) -> VerifyReport:
        """Every stored event up to the head, as stored, checked as one chain ending there."""
        self._ensure_prepared()
        try:
            current = self._read_head()
        except IndexRequestFailed as error:
            if error.status != grpc.StatusCode.DATA_LOSS:
                raise
            return ChainVerifier(anchor=anchor).unreadable("the head document is damaged")
        self._call("refresh", self._client.indices.refresh, index=self.alias)
        verifier = ChainVerifier(head=current.head, anchor=anchor)
        problem: list[VerifyReport] = []

        def stored() -> Iterator[AuditEvent]:
            for hit in self._pages(current.head.seq):
                try:
                    yield queries.event_from_hit(hit)
                except (KeyError, TypeError, ValueError) as exc:
                    # our validators' messages name fields and numbers, never values
                    why = str(exc) if isinstance(exc, ValueError) else "a field is missing"
                    seq = _seq_of(hit)
                    problem.append(verifier.unreadable(f"event {seq} cannot be read ({why})", seq))
                    return

        for event in queries.merge_pending(stored(), current.pending):
            if problem:
                break
            found = verifier.feed(event)
            if found is not None:
                return found
        if problem:
            return problem[0]
        report = verifier.finish()
        if report.ok:
            beyond = self._beyond(current.head.seq)
            if beyond is not None:
                return verifier.fail(
                    f"event {current.head.seq + 1} is beyond the store's head (event "
                    f"{current.head.seq}; events are stored up to {beyond}): events were "
                    "added outside the log",
                    current.head.seq + 1,
                )
        return report

    def _beyond(self, seq: int) -> int | None:
        """The highest stored seq past ``seq`` that no head accounts for, if any.

        Events past the head read at the start may be a concurrent append's, created after
        it committed; the head is read again and only events beyond *that* are reported.
        """
        answer = self._call(
            "verify", self._client.search, index=self.alias, body=queries.beyond_body(seq)
        )
        hits = answer["hits"]["hits"]
        if not hits:
            return None
        highest = int(hits[0]["sort"][0])
        return highest if highest > self._read_head().head.seq else None

    def documents(self) -> Iterator[dict[str, object]]:
        """Every event document and the head document, with index and id."""
        patterns = ",".join(queries.index_patterns(self.prefix))
        self._call("refresh", self._client.indices.refresh, index=patterns)
        try:
            for hit in scan(self._client, index=patterns, query={"query": {"match_all": {}}}):
                yield {"_index": hit["_index"], "_id": hit["_id"], **hit["_source"]}
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "scan documents")

    def drop(self) -> None:
        """Delete both indices of every mapping version (each by name: no wildcard delete)."""
        answer = self._call(
            "list indices",
            self._client.indices.get_alias,
            index=",".join(queries.index_patterns(self.prefix)),
        )
        for index in sorted(answer):
            self._call("drop", self._client.indices.delete, index=index, ignore_unavailable=True)
        with self._lock:
            self._created_through = 0
        self._prepared = False


def _seq_of(hit: dict[str, Any]) -> int | None:
    """The seq a damaged hit sits at, from its id (its source may be what is damaged)."""
    identifier = str(hit.get("_id", ""))
    return int(identifier) if identifier.isdigit() else None
