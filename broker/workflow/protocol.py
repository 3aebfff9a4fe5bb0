"""The one interface the broker codes against for details requests; SQLite and OpenSearch
both implement it.

Why a store at all: the broker is otherwise stateless, and a request must outlive the
instance that took it (a restart, a second instance behind the balancer answering the
approver). Why compare-and-set: two approvers can open the same request at once; each
decision is computed from the version read (`broker.workflow.transitions`) and stored only
if nobody stored another since, so exactly one decision wins and the other approver is
told (`ConcurrentUpdate`) instead of silently overwriting.

Methods are synchronous because both drivers are; the broker calls them through
``asyncio.to_thread``, so every implementation is safe to call from several threads.
Every method raises only `ReferenceIndexError` subclasses (or ``ValueError`` for arguments
that break the contract), never a driver exception.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Protocol, runtime_checkable

from broker.workflow.model import DetailsRequest, RequestState


@runtime_checkable
class RequestStore(Protocol):
    """Durable details requests, shared by every broker instance on the same backend."""

    def prepare(self) -> None:
        """Create what the backend needs (tables, index). Idempotent; safe at every start."""
        ...

    def create(self, request: DetailsRequest) -> DetailsRequest:
        """Store a new request; returns it with its first ``version``.

        The id is the caller's, so a create retried after a lost answer is recognised:
        an existing id raises `DuplicateRequest` and stores nothing.
        """
        ...

    def get(self, request_id: str) -> DetailsRequest:
        """The request as stored now, with its current ``version``; `RequestNotFound` if none."""
        ...

    def update(self, request: DetailsRequest, expected_version: str) -> DetailsRequest:
        """Replace the stored request by ``request`` if its version is still
        ``expected_version``; returns it with the new version.

        `ConcurrentUpdate` if another write came first, `RequestNotFound` if there is no
        such request. ``request.version`` itself is ignored: the expected version is
        explicit so that a caller cannot pass a stale object by accident.
        """
        ...

    def list(
        self,
        *,
        requester: str | None = None,
        country: str | None = None,
        states: Collection[RequestState] | None = None,
        overdue_at: datetime | None = None,
        limit: int = 500,
    ) -> list[DetailsRequest]:
        """Requests matching every filter given, newest first (then by id), at most ``limit``.

        ``requester``: one officer's ("mine"); ``country``: owned by that country (an
        approver's queue, with ``states={PENDING}``); ``overdue_at``: only PENDING requests
        whose ``deadline_at`` is before that time. An empty ``states`` matches nothing;
        ``limit`` is 1..`MAX_LIST` (see `RequestQuery`, which both backends use).
        """
        ...

    def count_overdue(self, at: datetime) -> dict[str, int]:
        """Pending requests past their deadline at ``at``, by owning country (for a metric);
        countries with none are absent."""
        ...

    def ping(self) -> bool:
        """Whether the store is reachable and usable now (for health reporting); never raises."""
        ...

    def close(self) -> None:
        """Release connections. The instance must not be used afterwards."""
        ...

    def drop(self) -> None:
        """Delete everything this instance's configuration created (tests clean up with it)."""
        ...

    def documents(self) -> Iterator[dict[str, object]]:
        """Every row or document stored, as plain dicts (for audits and privacy scans)."""
        ...
