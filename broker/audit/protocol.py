"""The one interface the broker logs through; SQLite and OpenSearch both implement it.

Append-only by construction: there is no method that changes or removes an event. Each
append takes the store's head (last seq and hash) and writes the next events *atomically
with respect to every other writer*, so several broker instances on one store extend ONE
chain and never fork it. How each backend makes that atomic is in its module docstring.

Methods are synchronous because both drivers are; the broker calls them through
``asyncio.to_thread`` (and batches events off its hot path with `append_many`), so every
implementation is safe to call from several threads. Every method raises only
`ReferenceIndexError` subclasses (or ``ValueError`` for arguments that break the
contract), never a driver exception; `verify` reports problems instead of raising them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from broker.audit.model import AuditEvent, AuditRecord, ChainHead, VerifyReport


@runtime_checkable
class AuditLog(Protocol):
    """The hash-chained audit trail of every search, hit, request, decision and reveal."""

    def prepare(self) -> None:
        """Create what the backend needs (tables, indices). Idempotent; safe at every start."""
        ...

    def append(self, record: AuditRecord) -> AuditEvent:
        """Append one record after the current head; returns it numbered and hashed."""
        ...

    def append_many(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        """Append ``records`` in order, as consecutive events, in one transaction or bulk.

        Either all of a batch is appended or none (large inputs are split into batches
        of the backend's size, each atomic).
        """
        ...

    def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
    ) -> Iterator[AuditEvent]:
        """Events in seq order, streamed: ``since`` inclusive, ``until`` exclusive (on
        ``at``), only ``actor``'s if given. A snapshot as of the call: events appended
        while streaming are not included."""
        ...

    def verify(self, *, anchor: ChainHead | None = None) -> VerifyReport:
        """Read every stored event as stored (no filter, no repair) and check the chain.

        Also checks it ends at the store's own head record, and, given an ``anchor``
        recorded earlier, that the chain still holds that event. Tampering done directly
        in the store (an edited, removed or swapped event, a damaged file) is reported,
        never raised; only a store that cannot be reached at all raises.
        """
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
