"""The request store's own errors, each knowing the gRPC status the broker answers with.

They subclass the reference index's errors (`broker.index.errors`), so the broker maps
every store failure to a status in one place, and a store that cannot be reached is the
same `IndexUnavailable` whichever store it is. As there, messages are written here and
never copied from a driver: a driver's text can quote the document it choked on, and a
justification is exactly what must not end up in a log line.
"""

from __future__ import annotations

import grpc

from broker.index.errors import IndexRequestFailed


class ConcurrentUpdate(IndexRequestFailed):
    """Someone changed the request after the caller read it (the version token is stale).

    The caller re-reads and decides again; for two approvers racing on one request this is
    the loser's answer, so exactly one decision is ever stored.
    """

    status = grpc.StatusCode.FAILED_PRECONDITION


class RequestNotFound(IndexRequestFailed):
    """No request has this id (never created, or created in another deployment)."""

    status = grpc.StatusCode.NOT_FOUND


class DuplicateRequest(IndexRequestFailed):
    """A request with this id already exists; ids are made by the caller and never reused."""

    status = grpc.StatusCode.ALREADY_EXISTS


class InvalidTransition(IndexRequestFailed):
    """The request is not in a state that allows this step (deciding twice, revealing a
    denied or expired request, revealing twice)."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class NotPermitted(IndexRequestFailed):
    """The caller may not take this step on this request: the requester deciding their own
    request (four eyes), an approver of another country, someone else revealing."""

    status = grpc.StatusCode.PERMISSION_DENIED
