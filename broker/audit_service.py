"""The AuditService: export and verify the hash-chained audit trail (role auditor)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import grpc

from broker.audit import AuditEvent, AuditLog
from broker.audit_trail import AuditTrail
from selec.v1 import audit_pb2, audit_pb2_grpc

EXPORT_BATCH = 500


def event_message(event: AuditEvent) -> audit_pb2.AuditEvent:
    """The wire form of an audit event."""
    message = audit_pb2.AuditEvent(
        seq=event.seq,
        actor=event.actor,
        actor_country=event.actor_country,
        action=event.action,
        outcome=event.outcome,
        purpose=event.purpose,
        legal_basis=event.legal_basis,
        countries=list(event.countries),
        blind_keys=list(event.blind_keys),
        request_id=event.request_id,
        reference=event.reference,
        search_id=event.search_id,
        detail=event.detail,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )
    message.at.FromDatetime(event.at)
    return message


def _batches(events: Iterator[AuditEvent]) -> list[AuditEvent]:
    batch = []
    for event in events:
        batch.append(event)
        if len(batch) >= EXPORT_BATCH:
            break
    return batch


def _moment(request: audit_pb2.ExportAuditRequest, field: str) -> dt.datetime | None:
    """The request's time field, None when unset; ValueError naming it when out of range."""
    if not request.HasField(field):
        return None
    try:
        return getattr(request, field).ToDatetime(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(
            f"{field}: not a valid time (years 1 to 9999, nanos 0 to 999,999,999)"
        ) from None


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """Serves the audit trail to auditors; the trail is flushed first so it is complete."""

    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    @property
    def _log(self) -> AuditLog:
        return self._trail.log

    async def ExportAudit(
        self, request: audit_pb2.ExportAuditRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.AuditEvent]:
        """Events in the range, in chain order, streamed in batches."""
        try:
            since = _moment(request, "since")
            until = _moment(request, "until")
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        await self._trail.flush()
        events = self._log.events(since=since, until=until, actor=request.officer or None)
        while True:
            batch = await asyncio.to_thread(_batches, events)
            if not batch:
                return
            for event in batch:
                yield event_message(event)

    async def VerifyAudit(
        self, request: audit_pb2.VerifyAuditRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.VerifyAuditResponse:
        """Recompute the chain over every stored event."""
        await self._trail.flush()
        report = await asyncio.to_thread(self._log.verify)
        return audit_pb2.VerifyAuditResponse(
            ok=report.ok,
            checked=report.checked,
            problem=report.problem,
            at_seq=report.at_seq or 0,
        )
