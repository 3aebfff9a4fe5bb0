"""The approval workflow: durable details requests and the rules that move them on.

One interface (`RequestStore`), two backends: `SqliteRequestStore` (embedded, the
default) and `OpenSearchRequestStore` (shared by several broker instances);
`open_request_store` picks one. `broker.workflow.transitions` holds the steps (approve,
deny, withdraw, reveal, expire) as pure functions; a step is stored with
`RequestStore.update` and the version it was computed from, so of two racing steps
exactly one is stored.
"""

from broker.workflow.errors import (
    ConcurrentUpdate,
    DuplicateRequest,
    InvalidTransition,
    NotPermitted,
    RequestNotFound,
)
from broker.workflow.factory import BACKENDS, open_request_store
from broker.workflow.model import (
    FINAL_STATES,
    HANDLING_CODES,
    MAX_LIST,
    DetailsRequest,
    RequestQuery,
    RequestState,
)
from broker.workflow.opensearch import OpenSearchRequestStore
from broker.workflow.protocol import RequestStore
from broker.workflow.sqlite import SqliteRequestStore

__all__ = [
    "BACKENDS",
    "FINAL_STATES",
    "HANDLING_CODES",
    "MAX_LIST",
    "ConcurrentUpdate",
    "DetailsRequest",
    "DuplicateRequest",
    "InvalidTransition",
    "NotPermitted",
    "OpenSearchRequestStore",
    "RequestNotFound",
    "RequestQuery",
    "RequestState",
    "RequestStore",
    "SqliteRequestStore",
    "open_request_store",
]
