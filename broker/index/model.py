"""What the reference index holds and answers: anonymized references, never plaintext.

A member-state node publishes, for each of its records, an opaque reference, the record's
kind and category, and the record's blind keys (keyed hashes). The classes here validate
every field on construction, with patterns narrow enough that a name, a date or a number
in the clear cannot slip in by mistake (a digest must be 32 hex digits, a category a short
lowercase token). Validation messages never repeat the rejected value: it might be exactly
the plaintext the check exists to keep out of logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

KINDS: frozenset[str] = frozenset({"person", "document", "vehicle", "phone"})
MIN_STRENGTH = 1
MAX_STRENGTH = 4

_COUNTRY = re.compile(r"[A-Z]{2}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TOKEN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_DIGEST = re.compile(r"[0-9a-f]{32}")


def check_country(country: object) -> str:
    """A country code as the index stores it: ISO 3166-1 alpha-2, upper case."""
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        raise ValueError("country must be an ISO 3166-1 alpha-2 code in upper case")
    return country


def check_digest(digest: object) -> str:
    """A blind-key digest: 32 lowercase hex characters (128 bits)."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError("a digest must be 32 lowercase hexadecimal characters")
    return digest


def utc(moment: object, what: str) -> datetime:
    """A timezone-aware datetime converted to UTC; naive datetimes are ambiguous, so refused."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class IndexedKey:
    """One blind key of a record: its type (no personal data), strength 1..4 and digest."""

    key_type: str
    strength: int
    digest: str

    def __post_init__(self) -> None:
        if not isinstance(self.key_type, str) or not _TOKEN.fullmatch(self.key_type):
            raise ValueError("key_type must be a short lowercase token such as person.fold.dob")
        if (
            not isinstance(self.strength, int)
            or isinstance(self.strength, bool)
            or not MIN_STRENGTH <= self.strength <= MAX_STRENGTH
        ):
            raise ValueError(f"strength must be an integer {MIN_STRENGTH}..{MAX_STRENGTH}")
        check_digest(self.digest)


@dataclass(frozen=True, slots=True)
class IndexedReference:
    """One record as a member state publishes it to the index: opaque and keyed only."""

    country: str
    reference: str
    kind: str
    category: str
    keys: tuple[IndexedKey, ...]

    def __post_init__(self) -> None:
        check_country(self.country)
        if not isinstance(self.reference, str) or not _REFERENCE.fullmatch(self.reference):
            raise ValueError("reference must be an opaque token of at most 128 characters")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(sorted(KINDS))}")
        if not isinstance(self.category, str) or not _TOKEN.fullmatch(self.category):
            raise ValueError("category must be a short lowercase token such as wanted")
        if not isinstance(self.keys, tuple) or not all(
            isinstance(key, IndexedKey) for key in self.keys
        ):
            raise ValueError("keys must be a tuple of IndexedKey")


@dataclass(frozen=True, slots=True)
class Publication:
    """A country's latest full publication: what it said its data was as of, and when."""

    country: str
    as_of: datetime
    reference_count: int
    published_at: datetime


@dataclass(frozen=True, slots=True)
class IndexMatch:
    """One reference that holds at least one looked-up digest.

    ``strength`` is the strongest matched key; ``matched_key_types`` lists each matched key
    type once, strongest first (ties by name, so both backends answer identically);
    ``as_of`` is the publication the answer comes from, for "indexed as of T".
    """

    country: str
    reference: str
    kind: str
    category: str
    strength: int
    matched_key_types: tuple[str, ...]
    as_of: datetime

    @classmethod
    def from_keys(
        cls,
        country: str,
        reference: str,
        kind: str,
        category: str,
        *,
        matched: Iterable[tuple[str, int]],
        as_of: datetime,
    ) -> IndexMatch:
        """The match of one reference from its matched (key_type, strength) pairs.

        Both backends build matches here so the ordering rules live in one place.
        """
        ordered = sorted(set(matched), key=lambda pair: (-pair[1], pair[0]))
        if not ordered:
            raise ValueError("a match needs at least one matched key")
        return cls(
            country=country,
            reference=reference,
            kind=kind,
            category=category,
            strength=ordered[0][1],
            matched_key_types=tuple(dict.fromkeys(key_type for key_type, _ in ordered)),
            as_of=as_of,
        )


def ordered_matches(matches: Iterable[IndexMatch]) -> list[IndexMatch]:
    """Matches in the order both backends return them: strongest, then country, reference."""
    return sorted(matches, key=lambda m: (-m.strength, m.country, m.reference))


def lookup_digests(digests: Iterable[str], limit: int) -> list[str]:
    """Validated, de-duplicated digests of one lookup, in their first-seen order.

    A lookup is a search's keys, a few dozen; ``limit`` stops a runaway caller from sending
    a request the store would refuse or take seconds over.
    """
    if isinstance(digests, str):
        raise ValueError("digests must be a sequence of digests, not one string")
    unique = list(dict.fromkeys(check_digest(d) for d in digests))
    if len(unique) > limit:
        raise ValueError(f"at most {limit} digests per lookup")
    return unique


def lookup_countries(countries: Iterable[str] | None) -> list[str] | None:
    """Validated, de-duplicated country filter; None means every country."""
    if countries is None:
        return None
    if isinstance(countries, str):
        raise ValueError("countries must be a sequence of country codes, not one string")
    return sorted({check_country(c) for c in countries})
