"""Small builders of workflow and audit test data."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from broker.audit import AuditRecord
from broker.workflow import DetailsRequest, RequestState

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
DEADLINE = timedelta(hours=48)
SECRET_NAME = "PETROVIC JOVAN 1980-04-12"
"""Plaintext criteria that must never reach an audit store."""


def new_id() -> str:
    return uuid.uuid4().hex


def details(
    *,
    country: str = "RS",
    requester: str = "officer-ro-1",
    requester_country: str = "RO",
    created: datetime = T0,
    deadline: timedelta = DEADLINE,
    reference: str = "RS-JOVAN",
    justification: str = "Suspect in a cross-border fraud case;\nsee file 2025/17.",
    **changes: object,
) -> DetailsRequest:
    """A pending request (its fields overridable)."""
    request = DetailsRequest(
        request_id=new_id(),
        country=country,
        reference=reference,
        purpose="criminal investigation",
        legal_basis="SELEC Convention art. 5",
        justification=justification,
        requester=requester,
        requester_country=requester_country,
        state=RequestState.PENDING,
        created_at=created,
        deadline_at=created + deadline,
        updated_at=created,
    )
    return replace(request, **changes) if changes else request  # type: ignore[arg-type]


def digest(label: str) -> str:
    """A stable 32-hex digest for a label (stores never see the label)."""
    return hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()


def record(
    n: int = 0,
    *,
    actor: str = "officer-ro-1",
    at: datetime | None = None,
    action: str = "search",
    outcome: str = "hit",
    **changes: object,
) -> AuditRecord:
    """An audit record of a search whose criteria are blind keys of ``SECRET_NAME``."""
    values: dict[str, object] = {
        "at": at or T0 + timedelta(seconds=n),
        "actor": actor,
        "actor_country": "RO",
        "action": action,
        "outcome": outcome,
        "purpose": "criminal investigation",
        "legal_basis": "SELEC Convention art. 5",
        "countries": ("RS", "BG", "GR"),
        "blind_keys": (
            f"person.fold.dob:{digest(SECRET_NAME)}",
            f"person.fold:{digest(SECRET_NAME[:15])}",
        ),
        "search_id": f"search-{n}",
        "detail": "3 countries asked, 1 hit",
    }
    values.update(changes)
    return AuditRecord(**values)  # type: ignore[arg-type]
