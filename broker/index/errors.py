"""The reference index's own errors, each knowing the gRPC status the broker answers with.

Backends translate their driver's exceptions (opensearch-py, sqlite3) into these at the
edge, so the broker never handles a transport exception and never has to guess a status.
Messages are written by this package, never copied from the driver: a store's error text
can quote the document it choked on (OpenSearch's mapping errors preview field values),
and a digest or reference in a log line is exactly the leak the index exists to avoid.
"""

from __future__ import annotations

import grpc


class ReferenceIndexError(Exception):
    """The reference index could not do what was asked. ``str()`` is safe to log and show."""

    status: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, status: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The safe, human-readable description."""
        return str(self.args[0]) if self.args else ""


class IndexUnavailable(ReferenceIndexError):
    """The store cannot be reached or cannot serve now (refused, timed out, red, locked).

    Transient by nature: the broker may retry later, and must report countries it could
    only have answered from the index as UNAVAILABLE, never as NO_HIT.
    """

    status = grpc.StatusCode.UNAVAILABLE


class IndexRequestFailed(ReferenceIndexError):
    """The store refused the request: a bug on our side (INTERNAL) or a state that does not
    allow it, such as a missing index or a concurrent publish (FAILED_PRECONDITION)."""

    status = grpc.StatusCode.INTERNAL


class TooManyMatches(IndexRequestFailed):
    """More references match than one lookup may return.

    Raised rather than truncating: a silently cut answer could drop a country that does
    hold a hit, and the broker would then report it as NO_HIT.
    """

    status = grpc.StatusCode.RESOURCE_EXHAUSTED
