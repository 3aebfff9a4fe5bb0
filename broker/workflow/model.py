"""A details request: what an officer asked for after a hit, and where it stands.

Step two of the two-step exchange: an officer asks the owning country for the details
behind a hit, an approver of that country decides, and on approval the requester may
reveal the record once before the approval expires. `DetailsRequest` is the whole state
of one request; the store keeps it, `broker.workflow.transitions` moves it on.

Every field is validated on construction, so a half-decided request (approved without a
grant nonce, denied without a reason) cannot be built, stored or read back unnoticed.
Messages never repeat the rejected value: it may be a justification, which can hold
personal data.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from broker.index.model import check_country, utc

HANDLING_CODES: tuple[str, ...] = ("H0", "H1", "H2", "H3")
"""SELEC/Europol handling codes: what the recipient may do with released data."""

MAX_LINE = 200
MAX_TEXT = 4_000
MAX_PRINCIPAL = 128

_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_VERSION = re.compile(r"[0-9:]{1,64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
"""Control characters other than tab and newline, and lone surrogates (not UTF-8)."""
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class RequestState(enum.StrEnum):
    """Where a request stands. PENDING is the only state a decision may leave."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REVEALED = "revealed"


FINAL_STATES: frozenset[RequestState] = frozenset(
    {RequestState.DENIED, RequestState.EXPIRED, RequestState.WITHDRAWN, RequestState.REVEALED}
)


def format_time(moment: datetime) -> str:
    """A time as both stores keep it: UTC, microseconds, ``Z``.

    Fixed width, so SQLite compares the text in time order, and OpenSearch's
    ``date_nanos`` parses it without losing the microseconds.
    """
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """The inverse of `format_time` (any ISO 8601 time with an offset is accepted)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a stored time has no offset")
    return moment.astimezone(UTC)


def _text(value: object, what: str, limit: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if required and not value.strip():
        raise ValueError(f"{what} is required")
    if len(value) > limit:
        raise ValueError(f"{what} must be at most {limit} characters")
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not contain control characters")


def check_principal(value: object, what: str = "officer id", *, required: bool = True) -> str:
    """An officer id as the broker's tokens carry it: 1..128 characters, no control
    characters, no surrounding spaces (the token issuer chooses the rest)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if not value and not required:
        return value
    if (
        not value
        or len(value) > MAX_PRINCIPAL
        or value != value.strip()
        or _CONTROL.search(value)
        or "\n" in value
        or "\t" in value
    ):
        raise ValueError(f"{what} must be one line of 1..{MAX_PRINCIPAL} characters")
    return value


def _token(value: object, pattern: re.Pattern[str], what: str, *, required: bool) -> None:
    if not isinstance(value, str) or ((value or required) and not pattern.fullmatch(value)):
        raise ValueError(f"{what} is not well formed")


def check_request_id(request_id: object) -> str:
    """A request id: a uuid4 in hex, made by the caller (so a retried create is detectable)."""
    _token(request_id, _REQUEST_ID, "request_id", required=True)
    return str(request_id)


@dataclass(frozen=True, slots=True)
class DetailsRequest:
    """One request for the details behind a hit. Times are converted to aware UTC.

    ``version`` is the store's optimistic-concurrency token: opaque, set by the store on
    every read and write, and handed back to `RequestStore.update` as the version the
    caller's decision was based on.
    """

    request_id: str
    country: str
    reference: str
    purpose: str
    legal_basis: str
    justification: str
    requester: str
    requester_country: str
    state: RequestState
    created_at: datetime
    deadline_at: datetime
    updated_at: datetime
    decided_by: str = ""
    decided_at: datetime | None = None
    handling_code: str = ""
    handling_note: str = ""
    expires_at: datetime | None = None
    denial_reason: str = ""
    grant_nonce: str = ""
    revealed_at: datetime | None = None
    version: str = ""

    def __post_init__(self) -> None:
        check_request_id(self.request_id)
        check_country(self.country)
        check_country(self.requester_country)
        _token(self.reference, _REFERENCE, "reference", required=True)
        check_principal(self.requester, "requester")
        check_principal(self.decided_by, "decided_by", required=False)
        _token(self.grant_nonce, _NONCE, "grant_nonce", required=False)
        _token(self.version, _VERSION, "version", required=False)
        _text(self.purpose, "purpose", MAX_LINE, required=True)
        _text(self.legal_basis, "legal_basis", MAX_LINE, required=True)
        _text(self.justification, "justification", MAX_TEXT, required=False)
        _text(self.handling_note, "handling_note", MAX_TEXT, required=False)
        _text(self.denial_reason, "denial_reason", MAX_TEXT, required=False)
        if self.handling_code and self.handling_code not in HANDLING_CODES:
            raise ValueError(f"handling_code must be one of {', '.join(HANDLING_CODES)}")
        try:
            state = RequestState(self.state)
        except ValueError:
            raise ValueError("state is not a request state") from None
        object.__setattr__(self, "state", state)
        for name in ("created_at", "deadline_at", "updated_at"):
            object.__setattr__(self, name, utc(getattr(self, name), name))
        for name in ("decided_at", "expires_at", "revealed_at"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, utc(getattr(self, name), name))
        if self.deadline_at < self.created_at:
            raise ValueError("deadline_at must not be before created_at")
        self._check_state()

    def _check_state(self) -> None:
        """The fields each state must (and must not) have, so no half decision is stored."""
        decided = bool(self.decided_by) or self.decided_at is not None
        approval = (self.handling_code, self.expires_at, self.grant_nonce)
        approved = any(approval)
        if decided != (bool(self.decided_by) and self.decided_at is not None):
            raise ValueError("decided_by and decided_at go together")
        if approved and not all(approval):
            raise ValueError("an approval needs handling_code, expires_at and grant_nonce")
        if approved and (not decided or self.denial_reason):
            raise ValueError("an approval needs a decider and no denial_reason")
        if self.handling_code == "H3" and not self.handling_note.strip():
            raise ValueError("handling code H3 needs a handling_note")
        if self.handling_note and not approved:
            raise ValueError("handling_note is only for approvals")
        if (self.revealed_at is not None) != (self.state is RequestState.REVEALED):
            raise ValueError("revealed_at is set exactly when the request is revealed")
        if self.state is RequestState.PENDING and (decided or approved or self.denial_reason):
            raise ValueError("a pending request carries no decision")
        if self.state in (RequestState.APPROVED, RequestState.REVEALED) and not approved:
            raise ValueError(f"a {self.state.value} request needs its approval fields")
        if self.state is RequestState.DENIED and not (decided and self.denial_reason.strip()):
            raise ValueError("a denied request needs a decider and a denial_reason")
        if self.denial_reason and self.state is not RequestState.DENIED:
            raise ValueError("denial_reason is only for denied requests")

    def is_overdue(self, at: datetime) -> bool:
        """Still pending after the owner's deadline (what the overdue metric counts)."""
        return self.state is RequestState.PENDING and self.deadline_at < utc(at, "at")


STORED_FIELDS: tuple[str, ...] = (
    "request_id",
    "country",
    "reference",
    "purpose",
    "legal_basis",
    "justification",
    "requester",
    "requester_country",
    "state",
    "created_at",
    "deadline_at",
    "updated_at",
    "decided_by",
    "decided_at",
    "handling_code",
    "handling_note",
    "expires_at",
    "denial_reason",
    "grant_nonce",
    "revealed_at",
)
"""What both stores keep of a request: every field but ``version``, which each store
derives from its own concurrency control (a counter column, OpenSearch's seq_no)."""

_TIME_FIELDS = frozenset(
    {"created_at", "deadline_at", "updated_at", "decided_at", "expires_at", "revealed_at"}
)


def stored_fields(request: DetailsRequest) -> dict[str, str | None]:
    """A request as a flat row or document: strings, times by `format_time`, None for unset
    times. Both backends store exactly this, so they read back identical requests."""
    fields: dict[str, str | None] = {}
    for name in STORED_FIELDS:
        value = getattr(request, name)
        if name in _TIME_FIELDS:
            fields[name] = None if value is None else format_time(value)
        else:
            fields[name] = str(value)
    return fields


def from_stored(fields: dict[str, object], version: str) -> DetailsRequest:
    """The request a row or document holds; ``ValueError`` (or ``KeyError``) if it is not one."""
    values: dict[str, object] = {}
    for name in STORED_FIELDS:
        value = fields[name]
        if name in _TIME_FIELDS:
            values[name] = None if value is None else parse_time(str(value))
        else:
            values[name] = value
    return DetailsRequest(**values, version=version)  # type: ignore[arg-type]


MAX_LIST = 10_000
"""The most requests one `RequestStore.list` returns (OpenSearch's result window)."""


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """The validated filters of one `RequestStore.list`, shared by both backends.

    ``states`` is None for any state; ``()`` matches nothing. ``overdue_at`` implies
    PENDING, so it is folded into ``states`` here once rather than in each backend.
    """

    requester: str | None
    country: str | None
    states: tuple[RequestState, ...] | None
    overdue_at: datetime | None
    limit: int

    @classmethod
    def build(
        cls,
        *,
        requester: str | None = None,
        country: str | None = None,
        states: Collection[RequestState] | None = None,
        overdue_at: datetime | None = None,
        limit: int = 500,
    ) -> RequestQuery:
        """Validate ``list``'s arguments (``ValueError`` names the one that is wrong)."""
        if requester is not None:
            check_principal(requester, "requester")
        if country is not None:
            check_country(country)
        wanted: tuple[RequestState, ...] | None = None
        if states is not None:
            if isinstance(states, str):
                raise ValueError("states must be a collection of states, not one string")
            try:
                wanted = tuple(sorted({RequestState(state) for state in states}))
            except ValueError:
                raise ValueError("states holds something that is not a request state") from None
        if overdue_at is not None:
            overdue_at = utc(overdue_at, "overdue_at")
            pending = wanted is None or RequestState.PENDING in wanted
            wanted = (RequestState.PENDING,) if pending else ()
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise ValueError(f"limit must be an integer 1..{MAX_LIST}")
        return cls(requester, country, wanted, overdue_at, limit)

    @property
    def matches_nothing(self) -> bool:
        """Whether the filters exclude every request (then no store is asked)."""
        return self.states == ()

    def matches(self, request: DetailsRequest) -> bool:
        """The filters' meaning, stated once (the tests hold both backends to it)."""
        return (
            (self.requester is None or request.requester == self.requester)
            and (self.country is None or request.country == self.country)
            and (self.states is None or request.state in self.states)
            and (self.overdue_at is None or request.deadline_at < self.overdue_at)
        )


def newest_first(requests: Iterable[DetailsRequest]) -> list[DetailsRequest]:
    """The order `RequestStore.list` answers in: newest created first, then by id."""
    ordered = sorted(requests, key=lambda request: request.request_id)
    return sorted(ordered, key=lambda request: request.created_at, reverse=True)
