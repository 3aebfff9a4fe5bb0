"""The one interface the broker codes against; SQLite and OpenSearch both implement it.

Methods are synchronous because both drivers are; the broker calls them through
``asyncio.to_thread``, so every implementation must be safe to call from several threads.
Every method raises only `ReferenceIndexError` subclasses (or ``ValueError`` for arguments
that break the contract), never a driver exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from broker.index.model import IndexedReference, IndexMatch, Publication


@runtime_checkable
class ReferenceIndex(Protocol):
    """Anonymized references published by member-state nodes, looked up by blind-key digest."""

    def prepare(self) -> None:
        """Create what the backend needs (templates, tables). Idempotent; safe at every start."""
        ...

    def publish(
        self, country: str, references: Iterable[IndexedReference], as_of: datetime
    ) -> Publication:
        """Replace everything the index holds for ``country`` with ``references``, atomically.

        Afterwards the country holds exactly these references (records deleted at home are
        gone, changed ones changed); other countries are untouched. ``references`` is
        consumed once, in chunks, so a publication may be far larger than memory. If
        anything fails half-way, including the iterator raising, the previous publication
        stays fully in place and the error is re-raised (translated when it is the store's).
        A reference of another country, or the same reference twice, is a ``ValueError``
        and changes nothing. An empty iterable clears the country.
        """
        ...

    def lookup(
        self, digests: Sequence[str], countries: Sequence[str] | None = None
    ) -> list[IndexMatch]:
        """Every reference (of ``countries``, if given) holding at least one of ``digests``.

        One `IndexMatch` per reference, strongest first, then by country and reference.
        Raises `TooManyMatches` rather than truncating an answer.
        """
        ...

    def publications(self) -> dict[str, Publication]:
        """The publication currently served for each country that has published."""
        ...

    def ping(self) -> bool:
        """Whether the store is reachable and usable now (for health reporting); never raises."""
        ...

    def close(self) -> None:
        """Release connections. The instance must not be used afterwards."""
        ...

    def documents(self) -> Iterator[dict[str, object]]:
        """Every document or row this backend stores, metadata included, as plain dicts.

        For audits and the privacy test that scans the store for plaintext: it must cover
        everything written, not only what lookups read.
        """
        ...

    def drop(self) -> None:
        """Delete everything this instance's configuration created (tests clean up with it)."""
        ...
