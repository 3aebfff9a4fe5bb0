"""The reference index: anonymized references published by member-state nodes.

One interface (`ReferenceIndex`), two backends: `SqliteReferenceIndex` (embedded, the
default) and `OpenSearchReferenceIndex` (production). `open_reference_index` picks one.
"""

from broker.index.errors import (
    IndexRequestFailed,
    IndexUnavailable,
    ReferenceIndexError,
    TooManyMatches,
)
from broker.index.factory import BACKENDS, open_reference_index
from broker.index.model import (
    KINDS,
    IndexedKey,
    IndexedReference,
    IndexMatch,
    Publication,
)
from broker.index.opensearch import OpenSearchReferenceIndex
from broker.index.protocol import ReferenceIndex
from broker.index.sqlite import SqliteReferenceIndex

__all__ = [
    "BACKENDS",
    "KINDS",
    "IndexMatch",
    "IndexRequestFailed",
    "IndexUnavailable",
    "IndexedKey",
    "IndexedReference",
    "OpenSearchReferenceIndex",
    "Publication",
    "ReferenceIndex",
    "ReferenceIndexError",
    "SqliteReferenceIndex",
    "TooManyMatches",
    "open_reference_index",
]
