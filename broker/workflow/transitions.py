"""The steps of a request's life, as pure functions: each returns the next state or raises.

Kept apart from the stores so the rules (four eyes, owning country only, reveal once
before expiry) are tested without a backend, and so every broker instance applies the
same rules to whatever version it read. The store's compare-and-set then makes sure that
of two steps based on one version, only one is stored.

Each function checks *who* first (`NotPermitted`) and *whether now* second
(`InvalidTransition`), and returns a new `DetailsRequest` with ``updated_at`` = ``at``;
the ``version`` is kept, as the one the step was based on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from broker.workflow.errors import InvalidTransition, NotPermitted
from broker.workflow.model import HANDLING_CODES, DetailsRequest, RequestState


def approve(
    request: DetailsRequest,
    *,
    by: str,
    by_country: str,
    at: datetime,
    handling_code: str,
    expires_at: datetime,
    grant_nonce: str,
    handling_note: str = "",
) -> DetailsRequest:
    """The owning country's approval: a handling code, an expiry and the grant's nonce."""
    _check_decider(request, by, by_country)
    _check_pending(request, "approved")
    if handling_code not in HANDLING_CODES:
        raise ValueError(f"an approval needs a handling code, one of {', '.join(HANDLING_CODES)}")
    if expires_at <= at:
        raise ValueError("an approval must expire after it is given")
    return replace(
        request,
        state=RequestState.APPROVED,
        decided_by=by,
        decided_at=at,
        handling_code=handling_code,
        handling_note=handling_note,
        expires_at=expires_at,
        grant_nonce=grant_nonce,
        updated_at=at,
    )


def deny(
    request: DetailsRequest, *, by: str, by_country: str, at: datetime, reason: str
) -> DetailsRequest:
    """The owning country's refusal, with the reason the requester will read."""
    _check_decider(request, by, by_country)
    _check_pending(request, "denied")
    if not reason.strip():
        raise ValueError("a denial needs a reason")
    return replace(
        request,
        state=RequestState.DENIED,
        decided_by=by,
        decided_at=at,
        denial_reason=reason,
        updated_at=at,
    )


def withdraw(request: DetailsRequest, *, by: str, at: datetime) -> DetailsRequest:
    """The requester no longer needs the details (before a decision or before the reveal)."""
    if by != request.requester:
        raise NotPermitted("only the requester may withdraw a request")
    if request.state not in (RequestState.PENDING, RequestState.APPROVED):
        raise InvalidTransition(f"a {request.state.value} request cannot be withdrawn")
    return replace(request, state=RequestState.WITHDRAWN, updated_at=at)


def reveal(request: DetailsRequest, *, by: str, at: datetime) -> DetailsRequest:
    """The requester's one reveal of an approved request, before the approval expires.

    An approval found expired here is not revealed; the caller stores `expire` instead.
    """
    if by != request.requester:
        raise NotPermitted("only the requester may reveal a request")
    if request.state is RequestState.REVEALED:
        raise InvalidTransition("the request was already revealed")
    if request.state is not RequestState.APPROVED:
        raise InvalidTransition(f"a {request.state.value} request cannot be revealed")
    if request.expires_at is None or at >= request.expires_at:
        raise InvalidTransition("the approval has expired")
    return replace(request, state=RequestState.REVEALED, revealed_at=at, updated_at=at)


def expire(request: DetailsRequest, *, at: datetime) -> DetailsRequest:
    """An approval past its expiry that was never revealed becomes EXPIRED.

    Pending requests past their deadline do not expire: the deadline only makes them
    overdue (a metric and a reminder), the owner may still decide.
    """
    if request.state is not RequestState.APPROVED:
        raise InvalidTransition(f"a {request.state.value} request cannot expire")
    if request.expires_at is None or at < request.expires_at:
        raise InvalidTransition("the approval has not expired yet")
    return replace(request, state=RequestState.EXPIRED, updated_at=at)


def _check_decider(request: DetailsRequest, by: str, by_country: str) -> None:
    if by == request.requester:
        raise NotPermitted("the requester may not decide their own request (four eyes)")
    if by_country != request.country:
        raise NotPermitted("only an approver of the owning country may decide")


def _check_pending(request: DetailsRequest, step: str) -> None:
    if request.state is not RequestState.PENDING:
        raise InvalidTransition(f"a {request.state.value} request cannot be {step}")
