"""The audit events a details request's stored state owes, derived from that state alone.

Why: the request store and the audit log are two stores, written one after the other.
A broker that dies between the two (after an approval is stored, before its event is
appended) would leave an approval nobody logged, and a retry would find the request
already decided. No transaction spans both stores (two SQLite files, or OpenSearch), so
instead every workflow event is a pure function of the request as stored: its time is
the time the store recorded (``created_at``, ``decided_at``, ``revealed_at``), its
actor the one the store recorded. Whoever finds a stored step without its event (the
approver's retry, the reveal, the broker's start-up sweep) can write exactly the event
the crashed broker would have written, and can tell whether it is already there by its
identity (`event_key`), so it is written once however often it is settled.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from broker.audit import AuditRecord
from broker.index.errors import ReferenceIndexError
from broker.workflow.model import MAX_LIST, DetailsRequest, RequestState
from broker.workflow.protocol import RequestStore

log = logging.getLogger(__name__)

MAX_DETAIL = 200
SETTLE_WINDOW = timedelta(days=1)
"""How far back the start-up sweep looks for steps without their event: a crash loses
at most the steps in flight at that moment, which a broker restarted within this
window settles; older ones are settled when the request is next decided or revealed."""


def _record(
    request: DetailsRequest, action: str, outcome: str, at: datetime, **who: str
) -> AuditRecord:
    return AuditRecord(
        at=at,
        action=action,
        outcome=outcome,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        countries=(request.country,),
        request_id=request.request_id,
        reference=request.reference,
        **who,  # type: ignore[arg-type]
    )


def request_record(request: DetailsRequest) -> AuditRecord:
    """The event of the request's creation, by its requester."""
    return _record(
        request,
        "request",
        "pending",
        request.created_at,
        actor=request.requester,
        actor_country=request.requester_country,
    )


def decision_record(request: DetailsRequest) -> AuditRecord:
    """The event of the owning country's decision (the request must be decided)."""
    if request.decided_at is None:
        raise ValueError("the request is not decided")
    approved = bool(request.handling_code)
    return _record(
        request,
        "decision",
        RequestState.APPROVED.value if approved else RequestState.DENIED.value,
        request.decided_at,
        actor=request.decided_by,
        actor_country=request.country,  # only an approver of the owning country decides
        detail=(request.handling_code if approved else request.denial_reason)[:MAX_DETAIL],
    )


def withdraw_record(request: DetailsRequest) -> AuditRecord:
    """The event of the requester's withdrawal (the request must be withdrawn: a final
    state, so its ``updated_at`` is the withdrawal's time)."""
    if request.state is not RequestState.WITHDRAWN:
        raise ValueError("the request is not withdrawn")
    return _record(
        request,
        "withdraw",
        RequestState.WITHDRAWN.value,
        request.updated_at,
        actor=request.requester,
        actor_country=request.requester_country,
    )


def reveal_record(request: DetailsRequest) -> AuditRecord:
    """The event of the release to the requester (the request must be revealed)."""
    if request.revealed_at is None:
        raise ValueError("the request is not revealed")
    return _record(
        request,
        "reveal",
        RequestState.REVEALED.value,
        request.revealed_at,
        actor=request.requester,
        actor_country=request.requester_country,
        detail=request.handling_code,
    )


def owed_records(request: DetailsRequest) -> list[AuditRecord]:
    """Every event the request's stored state owes, in the order they happened."""
    owed = [request_record(request)]
    if request.decided_at is not None:
        owed.append(decision_record(request))
    if request.state is RequestState.WITHDRAWN:
        owed.append(withdraw_record(request))
    if request.revealed_at is not None:
        owed.append(reveal_record(request))
    return owed


def event_key(record: AuditRecord) -> tuple[str, str, str, datetime]:
    """What makes a workflow event the same event: one step of one request, by one
    person, at the moment the store recorded (microseconds)."""
    return (record.action, record.request_id, record.actor, record.at.astimezone(UTC))


class OnceRecorder(Protocol):
    """Appends an event unless the log already holds it (`broker.audit_trail.AuditTrail`)."""

    async def record_once(self, record: AuditRecord) -> bool:
        """Store ``record`` durably unless an event with its `event_key` is stored; whether
        it was appended now."""
        ...


async def settle(request: DetailsRequest, recorder: OnceRecorder) -> int:
    """Append whichever of the request's owed events the log lacks; how many it lacked."""
    appended = 0
    for record in owed_records(request):
        if await recorder.record_once(record):
            appended += 1
            log.warning(
                "audit event restored action=%s request_id=%s (its step was stored, "
                "its event was not: the broker stopped in between)",
                record.action,
                record.request_id,
            )
    return appended


async def settle_recent(
    store: RequestStore, recorder: OnceRecorder, now: datetime, retry_seconds: float = 5.0
) -> int:
    """At start-up: settle every request changed within `SETTLE_WINDOW` before ``now``.

    Retries while the stores cannot be read (a broker may start before its OpenSearch),
    so it ends only when the sweep is done; how many events it restored.
    """
    since = now - SETTLE_WINDOW
    while True:
        try:
            requests = await asyncio.to_thread(store.list, limit=MAX_LIST)
            restored = 0
            for request in requests:
                if request.updated_at >= since:
                    restored += await settle(request, recorder)
            return restored
        except ReferenceIndexError as exc:
            log.error("cannot settle the audit of recent requests yet: %s; retrying", exc)
            await asyncio.sleep(retry_seconds)
