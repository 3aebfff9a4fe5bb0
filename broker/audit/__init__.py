"""The audit log: append-only, hash-chained, verifiable (EU Law Enforcement Directive Art. 25).

One interface (`AuditLog`), two backends: `SqliteAuditLog` (embedded, the default) and
`OpenSearchAuditLog` (one chain shared by several broker instances); `open_audit_log`
picks one. `broker.audit.chain` holds the hashing and verification both share, as pure
functions, so an auditor's tool can check an export without a store.
"""

from broker.audit.chain import SCHEMA, ChainVerifier, canonical, chain, event_hash, verify_chain
from broker.audit.factory import BACKENDS, open_audit_log
from broker.audit.model import (
    ACTIONS,
    EMPTY_HEAD,
    EVENT_FIELDS,
    GENESIS,
    RECORD_FIELDS,
    AuditEvent,
    AuditRecord,
    ChainHead,
    VerifyReport,
)
from broker.audit.opensearch import OpenSearchAuditLog
from broker.audit.protocol import AuditLog
from broker.audit.sqlite import SqliteAuditLog

__all__ = [
    "ACTIONS",
    "BACKENDS",
    "EMPTY_HEAD",
    "EVENT_FIELDS",
    "GENESIS",
    "RECORD_FIELDS",
    "SCHEMA",
    "AuditEvent",
    "AuditLog",
    "AuditRecord",
    "ChainHead",
    "ChainVerifier",
    "OpenSearchAuditLog",
    "SqliteAuditLog",
    "VerifyReport",
    "canonical",
    "chain",
    "event_hash",
    "open_audit_log",
    "verify_chain",
]
