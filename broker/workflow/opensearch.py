"""Details requests on OpenSearch: the store several broker instances share.

Layout and bodies are in `broker.workflow.queries` (and its docstring says why). This
module orders the calls and translates every opensearch-py exception at the edge, with the
reference index's translation (`broker.index.opensearch.translate`), so a store that is
down is `IndexUnavailable` here as there.

Concurrency: ``create`` is ``op_type=create`` (a 409 means the id exists); ``update`` is
an index call with ``if_seq_no``/``if_primary_term`` from the caller's version token (a
409 means another write came first, or the request does not exist, told apart by a
realtime get). OpenSearch applies both checks on the primary shard under the document's
lock, so across any number of brokers exactly one of two racing decisions is stored.
Every write names the alias with ``require_alias``, so a write to a store that was never
prepared fails instead of auto-creating an index with a guessed mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import grpc
from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    ConflictError,
    ImproperlyConfigured,
    NotFoundError,
    OpenSearchException,
    RequestError,
)
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.helpers import scan

from broker.index.errors import IndexRequestFailed, IndexUnavailable
from broker.index.model import utc
from broker.index.opensearch import translate
from broker.workflow import queries
from broker.workflow.errors import ConcurrentUpdate, DuplicateRequest, RequestNotFound
from broker.workflow.model import DetailsRequest, RequestQuery, RequestState, check_request_id

log = logging.getLogger(__name__)

T = TypeVar("T")

_DRIVER_ERRORS = (OpenSearchException, ImproperlyConfigured)
_REFRESH = "wait_for"


def _raise_translated(exc: BaseException, operation: str) -> NoReturn:
    error = translate(exc, f"request store {operation}")
    # Keep the driver's exception as the cause only when it cannot carry document data.
    if isinstance(error, IndexUnavailable) and isinstance(exc, TransportConnectionError):
        raise error from exc
    raise error from None


def _missing_index(exc: NotFoundError) -> bool:
    return exc.error == "index_not_found_exception"


class OpenSearchRequestStore:
    """`RequestStore` on an OpenSearch cluster; every name starts with ``prefix``.

    Thread-safe: the opensearch-py client is, and the instance holds no per-call state.
    """

    def __init__(self, client: OpenSearch, prefix: str = "selec") -> None:
        self._client = client
        self.prefix = queries.check_prefix(prefix)
        self.alias = queries.requests_alias(prefix)
        self.index = queries.requests_index(prefix)
        self._prepared = False

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "selec", timeout: float = 5.0
    ) -> OpenSearchRequestStore:
        """A store on the cluster at ``url`` (credentials may be in the URL).

        Connection errors are retried twice by the client; timeouts are not, since a
        timed-out write may have been applied (the caller re-reads instead).
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
        return cls(client, prefix)

    def __repr__(self) -> str:
        return f"OpenSearchRequestStore(prefix={self.prefix!r})"

    def _call(self, operation: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, operation)

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Create the index with its alias unless it exists (another broker may race us)."""
        try:
            self._client.indices.create(
                index=self.index, body=queries.create_index_body(self.prefix)
            )
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                _raise_translated(exc, "prepare")
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "prepare")
        self._prepared = True

    def _ensure_prepared(self) -> None:
        """Prepare on first use, as the SQLite store does, so a broker that skipped
        ``prepare`` gets an empty store rather than an error (or an auto-created index)."""
        if not self._prepared:
            self.prepare()

    def ping(self) -> bool:
        """Reachable, and the requests index is not red; never raises."""
        try:
            health = self._client.cluster.health(index=self.alias)
        except _DRIVER_ERRORS as exc:
            log.warning("request store ping failed: %s", translate(exc, "request store ping"))
            return False
        return health.get("status") in ("green", "yellow")

    def close(self) -> None:
        """Close the client's connections."""
        try:
            self._client.close()
        except _DRIVER_ERRORS as exc:
            log.warning("closing the request store failed: %s", translate(exc, "close"))

    # ------------------------------------------------------------------ write

    def create(self, request: DetailsRequest) -> DetailsRequest:
        """Index the request only if its id is new."""
        if not isinstance(request, DetailsRequest):
            raise ValueError("create takes a DetailsRequest")
        self._ensure_prepared()
        try:
            answer = self._client.index(
                index=self.alias,
                id=request.request_id,
                body=queries.request_document(request),
                op_type="create",
                refresh=_REFRESH,
                require_alias=True,
            )
        except ConflictError:
            raise DuplicateRequest("a request with this id already exists") from None
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "create")
        return self._with_version(request, answer)

    def update(self, request: DetailsRequest, expected_version: str) -> DetailsRequest:
        """Index the request if the document is still at ``expected_version``."""
        if not isinstance(request, DetailsRequest):
            raise ValueError("update takes a DetailsRequest")
        self._ensure_prepared()
        seq_no, primary_term = queries.parse_version(expected_version)
        try:
            answer = self._client.index(
                index=self.alias,
                id=request.request_id,
                body=queries.request_document(request),
                if_seq_no=seq_no,
                if_primary_term=primary_term,
                refresh=_REFRESH,
                require_alias=True,
            )
        except ConflictError:
            self.get(request.request_id)  # RequestNotFound if that is why
            raise ConcurrentUpdate(
                "the request was changed by someone else; read it again"
            ) from None
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "update")
        return self._with_version(request, answer)

    @staticmethod
    def _with_version(request: DetailsRequest, answer: dict[str, Any]) -> DetailsRequest:
        return replace(
            request, version=queries.version_token(answer["_seq_no"], answer["_primary_term"])
        )

    # ------------------------------------------------------------------ read

    def get(self, request_id: str) -> DetailsRequest:
        """A realtime get: it sees every acknowledged write, refreshed or not."""
        check_request_id(request_id)
        self._ensure_prepared()
        try:
            hit = self._client.get(index=self.alias, id=request_id)
        except NotFoundError as exc:
            if _missing_index(exc):
                raise IndexRequestFailed(
                    "the request store is not prepared (no requests index)",
                    grpc.StatusCode.FAILED_PRECONDITION,
                ) from None
            raise RequestNotFound("no request has this id") from None
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "get")
        if not hit.get("found"):
            raise RequestNotFound("no request has this id")
        return self._request(hit)

    def _request(self, hit: dict[str, Any]) -> DetailsRequest:
        try:
            return queries.request_from_hit(hit)
        except (KeyError, TypeError, ValueError):
            raise IndexRequestFailed(
                "the OpenSearch request store holds a malformed request",
                grpc.StatusCode.DATA_LOSS,
            ) from None

    def list(
        self,
        *,
        requester: str | None = None,
        country: str | None = None,
        states: Collection[RequestState] | None = None,
        overdue_at: datetime | None = None,
        limit: int = 500,
    ) -> list[DetailsRequest]:
        """One filtered, sorted search."""
        query = RequestQuery.build(
            requester=requester, country=country, states=states, overdue_at=overdue_at, limit=limit
        )
        if query.matches_nothing:
            return []
        self._ensure_prepared()
        answer = self._call(
            "list", self._client.search, index=self.alias, body=queries.list_body(query)
        )
        return [self._request(hit) for hit in answer["hits"]["hits"]]

    def count_overdue(self, at: datetime) -> dict[str, int]:
        """One terms aggregation over pending requests past their deadline."""
        body = queries.count_overdue_body(utc(at, "at"))
        self._ensure_prepared()
        answer = self._call("count overdue", self._client.search, index=self.alias, body=body)
        return queries.overdue_from_answer(answer)

    def documents(self) -> Iterator[dict[str, object]]:
        """Every document of every mapping version, with its index and id."""
        pattern = queries.requests_pattern(self.prefix)
        self._call("refresh", self._client.indices.refresh, index=pattern)
        try:
            for hit in scan(self._client, index=pattern, query={"query": {"match_all": {}}}):
                yield {"_index": hit["_index"], "_id": hit["_id"], **hit["_source"]}
        except _DRIVER_ERRORS as exc:
            _raise_translated(exc, "scan documents")

    def drop(self) -> None:
        """Delete every requests index of this prefix (each by name: no wildcard delete)."""
        answer = self._call(
            "list indices",
            self._client.indices.get_alias,
            index=queries.requests_pattern(self.prefix),
        )
        for index in sorted(answer):
            self._call("drop", self._client.indices.delete, index=index, ignore_unavailable=True)
