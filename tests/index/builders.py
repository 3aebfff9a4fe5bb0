"""Small builders of index test data: deterministic digests and references."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

from broker.index import IndexedKey, IndexedReference

AS_OF = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
LATER = datetime(2025, 3, 2, 6, 0, tzinfo=UTC)


def digest(label: str) -> str:
    """A stable 32-hex digest for a test label (the index never sees the label)."""
    return hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()


def key(label: str, strength: int = 3, key_type: str = "person.fold.dob") -> IndexedKey:
    """A blind key whose digest is derived from ``label``."""
    return IndexedKey(key_type, strength, digest(label))


def ref(
    country: str,
    name: str,
    *keys: IndexedKey,
    kind: str = "person",
    category: str = "wanted",
) -> IndexedReference:
    """A reference ``{country}-{NAME}`` with the given keys."""
    return IndexedReference(country, f"{country}-{name.upper()}", kind, category, tuple(keys))


def many(country: str, count: int, start: int = 0) -> Iterator[IndexedReference]:
    """``count`` references of ``country``, each with three keys of its own and one shared
    by every tenth reference, generated lazily."""
    for n in range(start, start + count):
        yield IndexedReference(
            country,
            f"{country}-N{n:07d}",
            "person",
            "wanted",
            (
                IndexedKey("person.exact.dob", 4, digest(f"{country}-{n}-exact")),
                IndexedKey("person.fold.dob", 3, digest(f"{country}-{n}-fold")),
                IndexedKey("person.fold", 1, digest(f"{country}-{n}-name")),
                IndexedKey("person.fold.yob", 2, digest(f"{country}-{n // 10}-shared")),
            ),
        )
