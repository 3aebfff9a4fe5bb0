"""The error contract the fuzzers hold every RPC to (written down in docs/errors.md).

Every reply ends in one of its RPC's documented status codes; never INTERNAL or UNKNOWN
(which mean "our bug"), never a reply whose message carries a traceback, a file path, an
exception's class name or SQL. `test_contract_doc.py` checks that this table and the
one in docs/errors.md say the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc

C = grpc.StatusCode
# Every RPC may answer these: the caller's deadline passed (DEADLINE_EXCEEDED), a message
# over the size limit or a rate limit (RESOURCE_EXHAUSTED), a request that cannot be parsed
# (INVALID_ARGUMENT).
COMMON = frozenset({C.OK, C.INVALID_ARGUMENT, C.RESOURCE_EXHAUSTED, C.DEADLINE_EXCEEDED})
# A broker with authentication answers these to any call but health and reflection.
AUTH = frozenset({C.UNAUTHENTICATED, C.PERMISSION_DENIED})

ALLOWED: dict[str, frozenset[grpc.StatusCode]] = {
    "/selec.v1.BrokerService/Search": COMMON | AUTH,
    "/selec.v1.BrokerService/Screen": COMMON | AUTH,
    "/selec.v1.BrokerService/GetStatus": COMMON | AUTH,
    "/selec.v1.BrokerService/Publish": COMMON | AUTH | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.RequestService/RequestDetails": COMMON
    | AUTH
    | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.RequestService/ListRequests": COMMON | AUTH | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.RequestService/Decide": COMMON
    | AUTH
    | {C.NOT_FOUND, C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.RequestService/Withdraw": COMMON
    | AUTH
    | {C.NOT_FOUND, C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.RequestService/Reveal": COMMON
    | AUTH
    | {C.NOT_FOUND, C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.AuditService/ExportAudit": COMMON | AUTH | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.AuditService/VerifyAudit": COMMON | AUTH | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.ConnectorService/Match": COMMON | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.ConnectorService/MatchBatch": COMMON | {C.FAILED_PRECONDITION, C.UNAVAILABLE},
    "/selec.v1.ConnectorService/Describe": COMMON | {C.UNAVAILABLE},
    "/selec.v1.ConnectorService/Release": COMMON
    | {C.NOT_FOUND, C.PERMISSION_DENIED, C.FAILED_PRECONDITION, C.UNAVAILABLE},
}
NEVER = frozenset({C.INTERNAL, C.UNKNOWN, C.UNIMPLEMENTED, C.DATA_LOSS})

# What must never appear in a reply's message: the signs of an exception or a query
# escaping to the caller.
LEAKS = (
    ("a traceback", re.compile(r"Traceback|File \"", re.IGNORECASE)),
    ("a file path", re.compile(r"(?:/[\w.-]+){2,}\.py\b|site-packages|\.db\b|/tmp/")),
    ("an exception class", re.compile(r"<class '|Error\(|Exception\(|DecodeError|sqlite3\.")),
    (
        "SQL",
        re.compile(
            r"\b(?:SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
            r"no such (?:table|column)|syntax error|near \"|OperationalError|"
            r"IntegrityError|UNIQUE constraint)",
            re.IGNORECASE | re.DOTALL,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one fuzzed call ended."""

    method: str
    code: grpc.StatusCode
    details: str
    responses: int = 0
    sent: str = ""  # the request's bytes as text: a message may echo what the caller sent


def problems(outcome: Outcome, allowed: frozenset[grpc.StatusCode] | None = None) -> list[str]:
    """Everything wrong with how a call ended; empty when it kept the contract.

    allowed narrows the RPC's documented codes (the fuzzer's deadline is generous, so a
    DEADLINE_EXCEEDED there is a hang, not an answer).
    """
    found = []
    codes = ALLOWED[outcome.method] if allowed is None else allowed
    if outcome.code in NEVER or outcome.code not in codes:
        found.append(
            f"{outcome.method}: status {outcome.code.name} is not documented "
            f"(expected one of {', '.join(sorted(c.name for c in codes))})"
        )
    echoed = outcome.sent.lower()
    for what, pattern in LEAKS:
        leaked = [
            m.group(0)
            for m in pattern.finditer(outcome.details or "")
            if m.group(0).lower() not in echoed
        ]
        if leaked:
            found.append(f"{outcome.method}: the message leaks {what}: {outcome.details[:300]!r}")
    if outcome.code != C.OK and not (outcome.details or "").strip():
        found.append(f"{outcome.method}: {outcome.code.name} without a message")
    return found
