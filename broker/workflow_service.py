"""The RequestService: request, decide, withdraw, reveal — four eyes, one release.

Rules enforced here (roles are the AuthInterceptor's job):
- purpose and legal basis are mandatory on every request;
- only an approver of the owning country decides, and never the requester;
- approval needs a handling code (H3 with its note) and sets an expiry; denial a reason;
- only the requester reveals, once, before the expiry; the node verifies the signed grant
  itself;
- two approvers deciding at once: the store's compare-and-set lets exactly one win, the
  other gets FAILED_PRECONDITION.
Every step, and every refusal, is an audit event.

Enumeration: a caller must not learn whether a request exists unless it may see it (its
requester, or an approver of the owning country). An unknown request id and a real one the
caller may not see get the same NOT_FOUND and the same message, after the same work: the
store is read on both paths, and both refusals are audited alike. Request ids are 128
random bits. References are the nodes' (an HMAC of the record id under the node's own
secret, `connectors.keying`), and `RequestDetails` deliberately does not look them up: the
answer to a request cannot depend on whether the reference exists, and judging that is the
owning state's approver's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar

import grpc

from broker.audit import AuditRecord
from broker.audit_trail import AuditTrail
from broker.auth import current_identity
from broker.config import CountrySettings
from broker.grants import GrantSigner
from broker.index import ReferenceIndexError
from broker.metrics import BrokerMetrics
from broker.nodes import NodeClient
from broker.workflow import (
    ConcurrentUpdate,
    DetailsRequest,
    InvalidTransition,
    NotPermitted,
    RequestNotFound,
    RequestState,
    RequestStore,
    audit_events,
    transitions,
)
from selec.tokens import Identity
from selec.v1 import connector_pb2, requests_pb2, requests_pb2_grpc

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TEXT = 200
UNKNOWN_REQUEST = "no such request (or not one you may see)"
MAX_JUSTIFICATION = 2000
DEFAULT_VALID_HOURS = 72
MAX_VALID_HOURS = 720
RELEASE_DEADLINE_SECONDS = 5.0
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_HANDLING = {
    requests_pb2.HANDLING_CODE_H0: "H0",
    requests_pb2.HANDLING_CODE_H1: "H1",
    requests_pb2.HANDLING_CODE_H2: "H2",
    requests_pb2.HANDLING_CODE_H3: "H3",
}
_HANDLING_NUMBER = {name: number for number, name in _HANDLING.items()}
_STATE_NUMBER = {
    RequestState.PENDING: requests_pb2.REQUEST_STATE_PENDING,
    RequestState.APPROVED: requests_pb2.REQUEST_STATE_APPROVED,
    RequestState.DENIED: requests_pb2.REQUEST_STATE_DENIED,
    RequestState.EXPIRED: requests_pb2.REQUEST_STATE_EXPIRED,
    RequestState.WITHDRAWN: requests_pb2.REQUEST_STATE_WITHDRAWN,
    RequestState.REVEALED: requests_pb2.REQUEST_STATE_REVEALED,
}


class Refused(Exception):
    """A call the rules refuse: its status code and a message that names the problem."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _text(value: str, field: str, limit: int = MAX_TEXT, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: required")
    if len(value) > limit:
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: longer than {limit} characters")
    if any(ch < " " and ch not in "\n\t" for ch in value):
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: contains control characters")
    return value


def _step(step: Callable[[], DetailsRequest]) -> DetailsRequest:
    """Apply a transition; its refusals become Refused with their gRPC status."""
    try:
        return step()
    except NotPermitted as exc:
        raise Refused(grpc.StatusCode.PERMISSION_DENIED, str(exc)) from None
    except InvalidTransition as exc:
        raise Refused(grpc.StatusCode.FAILED_PRECONDITION, str(exc)) from None
    except ValueError as exc:
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None


def _may_see(who: Identity, request: DetailsRequest) -> bool:
    """Whether who may know the request exists: its requester, or an approver of the
    owning country (who lists it as pending)."""
    if (who.officer, who.country) == (request.requester, request.requester_country):
        return True
    return who.has("approver") and who.country == request.country


def _stamp(message: object, field: str, moment: dt.datetime | None) -> None:
    if moment is not None:
        getattr(message, field).FromDatetime(moment)


def to_message(request: DetailsRequest, now: dt.datetime) -> requests_pb2.DetailsRequest:
    """The wire form of a stored request."""
    message = requests_pb2.DetailsRequest(
        request_id=request.request_id,
        country=request.country,
        reference=request.reference,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        justification=request.justification,
        requester=request.requester,
        requester_country=request.requester_country,
        state=_STATE_NUMBER[request.state],
        overdue=request.state == RequestState.PENDING and request.deadline_at < now,
        decided_by=request.decided_by,
        handling_code=_HANDLING_NUMBER.get(request.handling_code, 0),  # type: ignore[arg-type]
        handling_note=request.handling_note,
        denial_reason=request.denial_reason,
    )
    _stamp(message, "created_at", request.created_at)
    _stamp(message, "deadline_at", request.deadline_at)
    _stamp(message, "decided_at", request.decided_at)
    _stamp(message, "expires_at", request.expires_at)
    return message


def _repeats(request: requests_pb2.DecideRequest, current: DetailsRequest, who: Identity) -> bool:
    """Whether the stored decision is this very decision by this approver: a retry whose
    first answer was lost. It gets the stored request again (and any missing audit
    event), not a refusal, so a decision is taken and logged exactly once."""
    if current.decided_at is None or (current.decided_by, current.country) != (
        who.officer,
        who.country,
    ):
        return False
    if request.approve:
        return (current.handling_code, current.handling_note) == (
            _HANDLING.get(request.handling_code),
            request.handling_note.strip(),
        )
    return bool(current.denial_reason) and current.denial_reason == request.reason.strip()


class RequestServicer(requests_pb2_grpc.RequestServiceServicer):
    """Serves the approval workflow over a RequestStore, the nodes and the audit trail."""

    def __init__(
        self,
        store: RequestStore,
        countries: Mapping[str, CountrySettings],
        clients: Mapping[str, NodeClient],
        signer: GrantSigner | None,
        *,
        audit: AuditTrail,
        metrics: BrokerMetrics,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._countries = countries
        self._clients = clients
        self._signer = signer
        self._audit = audit

    async def _audit_event(
        self,
        action: str,
        outcome: str,
        request: DetailsRequest | None = None,
        detail: str = "",
        *,
        durable: bool = True,
    ) -> None:
        who = current_identity.get()
        record = AuditRecord(
            at=dt.datetime.now(dt.UTC),
            actor=who.officer,
            actor_country=who.country,
            action=action,
            outcome=outcome,
            purpose=request.purpose if request else "",
            legal_basis=request.legal_basis if request else "",
            countries=(request.country,) if request else (),
            request_id=request.request_id if request else "",
            reference=request.reference if request else "",
            detail=detail[:200],
        )
        if durable:
            await self._audit.record_durably(record)
        else:
            self._audit.record(record)  # queued, and retried until the log takes it

    async def _log_step(self, record: AuditRecord) -> None:
        """Log a step the store holds; if the audit log is down, the caller hears
        UNAVAILABLE, and the event is written from the stored step later (the retry, the
        reveal or the next start: `broker.workflow.audit_events`)."""
        try:
            await self._audit.record_once(record)
        except ReferenceIndexError as exc:
            log.error("audit log down after a stored %s: %s", record.action, exc)
            raise Refused(
                grpc.StatusCode.UNAVAILABLE,
                f"audit log: {exc.message}; the {record.action} is stored, ask again to confirm it",
            ) from None

    async def _refuse(
        self,
        context: grpc.aio.ServicerContext,
        action: str,
        refused: Refused,
        request: DetailsRequest | None = None,
    ) -> None:
        try:
            await self._audit_event("refused", action, request, str(refused))
        except ReferenceIndexError:  # the log is down: the refusal changed nothing; queue it
            await self._audit_event("refused", action, request, str(refused), durable=False)
        await context.abort(refused.code, str(refused))

    async def _stored(self, call: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run a store call in a thread; its failures become Refused with their status."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except RequestNotFound:
            raise Refused(grpc.StatusCode.NOT_FOUND, UNKNOWN_REQUEST) from None
        except ConcurrentUpdate:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION,
                "the request was changed by someone else meanwhile (decided concurrently?)",
            ) from None
        except ReferenceIndexError as exc:
            log.error("request store failed: %s", exc)
            raise Refused(exc.status, f"request store: {exc.message}") from None

    async def _load(self, request_id: str, who: Identity) -> DetailsRequest:
        """The request, if it exists and who may see it; else the same NOT_FOUND either way
        (and the store was read either way), so a guess teaches nothing."""
        if not re.fullmatch(r"[0-9a-f]{32}", request_id):
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "request_id: expected 32 hex digits")
        found = await self._stored(self._store.get, request_id)
        if not _may_see(who, found):
            raise Refused(grpc.StatusCode.NOT_FOUND, UNKNOWN_REQUEST)
        return found

    async def _save(self, updated: DetailsRequest, expected: str) -> DetailsRequest:
        saved = await self._stored(self._store.update, updated, expected)
        self._metrics.requests.labels(saved.country, saved.state.value).inc()
        return saved

    async def RequestDetails(
        self, request: requests_pb2.RequestDetailsRequest, context: grpc.aio.ServicerContext
    ) -> requests_pb2.DetailsRequest:
        """Create a pending request for the owning country."""
        who = current_identity.get()
        try:
            country = request.country.strip().upper()
            if country not in self._countries:
                raise Refused(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"country: not in this federation: {country[:8]!r}",
                )
            if not _REFERENCE.fullmatch(request.reference):
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "reference: malformed")
            now = dt.datetime.now(dt.UTC)
            deadline = dt.timedelta(hours=self._countries[country].decision_deadline_hours)
            created = DetailsRequest(
                request_id=uuid.uuid4().hex,
                country=country,
                reference=request.reference,
                purpose=_text(request.purpose, "purpose"),
                legal_basis=_text(request.legal_basis, "legal_basis"),
                justification=_text(
                    request.justification, "justification", MAX_JUSTIFICATION, required=False
                ),
                requester=who.officer,
                requester_country=who.country,
                state=RequestState.PENDING,
                created_at=now,
                deadline_at=now + deadline,
                updated_at=now,
            )
            stored = await self._stored(self._store.create, created)
            self._metrics.requests.labels(stored.country, stored.state.value).inc()
        except Refused as refused:
            await self._refuse(context, "request", refused)
            raise AssertionError from None  # abort raised
        try:
            await self._log_step(audit_events.request_record(stored))
        except Refused as refused:
            await self._refuse(context, "request", refused, stored)
        return to_message(stored, now)

    async def ListRequests(
        self, request: requests_pb2.ListRequestsRequest, context: grpc.aio.ServicerContext
    ) -> requests_pb2.ListRequestsResponse:
        """The caller's own requests and, for approvers, those pending for their country."""
        who = current_identity.get()
        now = dt.datetime.now(dt.UTC)
        overdue_at = now if request.overdue else None
        found: dict[str, DetailsRequest] = {}
        want_mine = request.mine or not request.pending_for_my_country
        want_pending = request.pending_for_my_country or (not request.mine and who.has("approver"))
        if request.pending_for_my_country and not who.has("approver"):
            await self._refuse(
                context,
                "list",
                Refused(
                    grpc.StatusCode.PERMISSION_DENIED, "pending_for_my_country needs role approver"
                ),
            )
        try:
            if want_mine and who.has("officer"):
                for item in await self._stored(
                    self._store.list, requester=who.officer, overdue_at=overdue_at
                ):
                    if item.requester_country == who.country:
                        found[item.request_id] = item
            if want_pending and who.has("approver"):
                for item in await self._stored(
                    self._store.list,
                    country=who.country,
                    states=[RequestState.PENDING],
                    overdue_at=overdue_at,
                ):
                    found[item.request_id] = item
        except Refused as refused:
            await context.abort(refused.code, str(refused))
        ordered = sorted(found.values(), key=lambda r: r.created_at, reverse=True)
        return requests_pb2.ListRequestsResponse(requests=[to_message(r, now) for r in ordered])

    async def Decide(
        self, request: requests_pb2.DecideRequest, context: grpc.aio.ServicerContext
    ) -> requests_pb2.DetailsRequest:
        """Approve (with handling code and expiry) or deny (with reason); four eyes."""
        who = current_identity.get()
        current: DetailsRequest | None = None
        now = dt.datetime.now(dt.UTC)
        try:
            current = await self._load(request.request_id, who)
            if _repeats(request, current, who):  # a retry after a lost answer (a restart)
                for owed in audit_events.owed_records(current):
                    await self._log_step(owed)
                return to_message(current, now)
            decided = _step(lambda: self._decision(request, current, who, now))
            # Shielded: a caller who gives up must not leave a stored decision unlogged.
            saved = await asyncio.shield(self._save_logged(decided, current.version))
        except Refused as refused:
            await self._refuse(context, "decision", refused, current)
            raise AssertionError from None
        return to_message(saved, now)

    async def _save_logged(self, decided: DetailsRequest, expected: str) -> DetailsRequest:
        saved = await self._save(decided, expected)
        await self._log_step(audit_events.decision_record(saved))
        return saved

    @staticmethod
    def _decision(
        request: requests_pb2.DecideRequest,
        current: DetailsRequest,
        who: Identity,
        now: dt.datetime,
    ) -> DetailsRequest:
        """Read the decision's fields, then apply the shared rules (transitions)."""
        decider = {"by": who.officer, "by_country": who.country, "at": now}
        if not request.approve:
            reason = _text(request.reason, "reason", MAX_JUSTIFICATION)
            return transitions.deny(current, reason=reason, **decider)  # type: ignore[arg-type]
        code = _HANDLING.get(request.handling_code)
        if code is None:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "handling_code: required on approval (H0, H1, H2 or H3)",
            )
        note = _text(request.handling_note, "handling_note", MAX_TEXT, required=code == "H3")
        hours = request.valid_hours or DEFAULT_VALID_HOURS
        if hours > MAX_VALID_HOURS:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, f"valid_hours: at most {MAX_VALID_HOURS}"
            )
        return transitions.approve(
            current,
            handling_code=code,
            handling_note=note,
            expires_at=now + dt.timedelta(hours=hours),
            grant_nonce=secrets.token_hex(16),
            **decider,  # type: ignore[arg-type]
        )

    async def Withdraw(
        self, request: requests_pb2.WithdrawRequest, context: grpc.aio.ServicerContext
    ) -> requests_pb2.DetailsRequest:
        """The requester withdraws a request not yet revealed."""
        who = current_identity.get()
        current: DetailsRequest | None = None
        now = dt.datetime.now(dt.UTC)
        try:
            current = await self._load(request.request_id, who)
            self._check_requester(who, current)
            withdrawn = _step(lambda: transitions.withdraw(current, by=who.officer, at=now))
            saved = await self._save(withdrawn, current.version)
        except Refused as refused:
            await self._refuse(context, "withdraw", refused, current)
            raise AssertionError from None
        try:
            await self._log_step(audit_events.withdraw_record(saved))
        except Refused as refused:
            await self._refuse(context, "withdraw", refused, saved)
        return to_message(saved, now)

    @staticmethod
    def _check_requester(who: Identity, current: DetailsRequest) -> None:
        """The caller is the requester: same officer id and same country."""
        if (who.officer, who.country) != (current.requester, current.requester_country):
            raise Refused(grpc.StatusCode.PERMISSION_DENIED, "only the requester may do this")

    async def Reveal(
        self, request: requests_pb2.RevealRequest, context: grpc.aio.ServicerContext
    ) -> requests_pb2.RevealResponse:
        """Release the record of an approved request to its requester, once."""
        who = current_identity.get()
        current: DetailsRequest | None = None
        try:
            current = await self._load(request.request_id, who)
            self._check_requester(who, current)
            revealed = await self._revealed(current, who)
            for owed in audit_events.owed_records(current):  # its approval is logged first
                await self._log_step(owed)
            released = await self._release(current)
            saved = await self._save(revealed, current.version)
        except Refused as refused:
            await self._refuse(context, "reveal", refused, current)
            raise AssertionError from None
        try:
            await self._audit.record_once(audit_events.reveal_record(saved))
        except ReferenceIndexError as exc:  # released already: answer, and queue its event
            log.error("audit log down after a reveal: %s; the event is queued", exc)
            self._audit.record(audit_events.reveal_record(saved))
        return requests_pb2.RevealResponse(
            request_id=current.request_id,
            country=current.country,
            reference=current.reference,
            kind=released.kind,
            category=released.category,
            fields=dict(released.fields),
            handling_code=_HANDLING_NUMBER.get(released.handling_code, 0),  # type: ignore[arg-type]
            handling_note=released.handling_note,
        )

    async def _revealed(self, current: DetailsRequest, who: Identity) -> DetailsRequest:
        """The request's revealed state; an approval found expired is stored as EXPIRED."""
        now = dt.datetime.now(dt.UTC)
        try:
            revealed = _step(lambda: transitions.reveal(current, by=who.officer, at=now))
        except Refused:
            if current.state is RequestState.APPROVED:
                with contextlib.suppress(Refused):
                    await self._save(
                        _step(lambda: transitions.expire(current, at=now)), current.version
                    )
            raise
        if self._signer is None:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this broker has no grant signing key configured",
            )
        return revealed

    async def _release(self, current: DetailsRequest) -> connector_pb2.ReleaseResponse:
        assert self._signer is not None and current.expires_at is not None
        _, signed = self._signer.grant(
            request_id=current.request_id,
            country=current.country,
            reference=current.reference,
            requester=current.requester,
            requester_country=current.requester_country,
            expires_at=current.expires_at,
            handling_code=current.handling_code,
            handling_note=current.handling_note,
            purpose=current.purpose,
            nonce=current.grant_nonce,
        )
        try:
            released = await self._clients[current.country].release(
                signed, RELEASE_DEADLINE_SECONDS
            )
            self._metrics.reveals.labels(current.country, "released").inc()
            return released
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            unreachable = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            self._metrics.reveals.labels(
                current.country, "unavailable" if unreachable else "refused"
            ).inc()
            if unreachable:
                raise Refused(
                    grpc.StatusCode.UNAVAILABLE,
                    "the owning node cannot be reached; try again later",
                ) from None
            if code == grpc.StatusCode.NOT_FOUND:
                # The node holds no record under the reference: never issued (a node that
                # answered a search with a reference it did not issue) or gone since (a
                # replace-import). Nothing was released; the request stays APPROVED until
                # it expires, and a retry gets the same answer: search again instead.
                raise Refused(
                    code,
                    "the owning state holds no such record (never issued, or removed since "
                    "the search); nothing was released",
                ) from None
            raise Refused(code, f"the owning node refused: {exc.details()}") from None
