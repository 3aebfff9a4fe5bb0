"""Validating an officer's criteria and turning them into blind keys.

This is the only place where the broker holds criteria in the clear; what leaves it is the
list of keys. Each problem is reported with the field's path, e.g.
``criteria.person.date_of_birth: expected YYYY-MM-DD, got '14.03.1985'``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from connectors.keys import BlindKey, InvalidIdentifier, KeyScheme
from connectors.keys.scheme import KEY_STRENGTHS
from connectors.service import MAX_KEYS_PER_MATCH
from selec.v1 import common_pb2

MAX_TEXT = 200
MAX_NAME_PARTS = 8
# A node refuses a Match with more keys than this; a search yielding more would fail in
# every country, so it is refused here, before the fan-out, with a message that says why.
MAX_KEYS_PER_SEARCH = MAX_KEYS_PER_MATCH
MIN_BIRTH_YEAR = 1900
_DOCUMENT_TYPES = {
    common_pb2.DOCUMENT_TYPE_UNSPECIFIED: "",
    common_pb2.DOCUMENT_TYPE_PASSPORT: "passport",
    common_pb2.DOCUMENT_TYPE_ID_CARD: "id_card",
    common_pb2.DOCUMENT_TYPE_DRIVING_LICENCE: "driving_licence",
    common_pb2.DOCUMENT_TYPE_RESIDENCE_PERMIT: "residence_permit",
}


_SEX_VALUES = frozenset(common_pb2.Sex.values())  # Sex.values() builds a list on each call


class InvalidCriteria(ValueError):
    """The criteria cannot be searched; the message names the field and the problem."""


class CriteriaOverLimit(InvalidCriteria):
    """The criteria go past a configured limit (blind keys per search, name parts).

    The Search answers RESOURCE_EXHAUSTED, the code of every broker limit, without
    `retry-after` (waiting will not help; the message says what to give fewer of). In a
    screening it is that subject's error, like any other bad subject.
    """


@dataclass(frozen=True, slots=True)
class CriteriaLimits:
    """How much one search (or one screened subject) may ask: name parts per name and
    blind keys in all. Configured in the broker's `limits:` (docs/configuration.md)."""

    max_name_parts: int = MAX_NAME_PARTS
    max_keys: int = MAX_KEYS_PER_SEARCH


DEFAULT_LIMITS = CriteriaLimits()


@dataclass(frozen=True, slots=True)
class SearchKeys:
    """What the broker sends to the nodes for one search."""

    keys: tuple[BlindKey, ...]
    sex: int


@dataclass(frozen=True, slots=True)
class SearchDigests:
    """One screened subject's keys as a MatchBatch carries them: the raw 16-byte digests,
    concatenated (`KeySet.digests`). No hex and no object per key: a subject has ~75 keys
    and a screening keys thousands of subjects a second."""

    digests: bytes
    count: int
    sex: int


def _text(value: str, field: str) -> str:
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidCriteria(f"{field}: longer than {MAX_TEXT} characters")
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise InvalidCriteria(f"{field}: contains control characters")
    return value


def _country(value: str, field: str) -> str:
    value = _text(value, field).upper()
    if value and (len(value) != 2 or not value.isascii() or not value.isalpha()):
        raise InvalidCriteria(f"{field}: expected an ISO 3166-1 alpha-2 code, got {value!r}")
    return value


def _has_any(message: object, fields: tuple[str, ...]) -> bool:
    return any(getattr(message, name) for name in fields)


def _person_keys(
    person: common_pb2.PersonCriteria, scheme: KeyScheme, max_name_parts: int
) -> list[tuple[str, bytes]]:
    field = "criteria.person"
    given = _text(person.given_names, f"{field}.given_names")
    family = _text(person.family_names, f"{field}.family_names")
    if not given or not family:
        missing = "given_names" if not given else "family_names"
        raise InvalidCriteria(f"{field}.{missing}: required (search a person by both names)")
    for name, value in (("given_names", given), ("family_names", family)):
        if len(value.split()) > max_name_parts:
            raise CriteriaOverLimit(f"{field}.{name}: more than {max_name_parts} names")
        if not any(ch.isalpha() for ch in value):
            raise InvalidCriteria(f"{field}.{name}: has no letters")
    dob: dt.date | None = None
    raw_dob = _text(person.date_of_birth, f"{field}.date_of_birth")
    if raw_dob:
        try:
            dob = dt.date.fromisoformat(raw_dob)
        except ValueError:
            dob = None
        if dob is None or len(raw_dob) != 10:
            raise InvalidCriteria(f"{field}.date_of_birth: expected YYYY-MM-DD, got {raw_dob!r}")
        if dob.year < MIN_BIRTH_YEAR or dob > dt.date.today():
            raise InvalidCriteria(f"{field}.date_of_birth: {raw_dob} is out of range")
    year = person.birth_year or None
    if year is not None:
        if not MIN_BIRTH_YEAR <= year <= dt.date.today().year:
            raise InvalidCriteria(f"{field}.birth_year: {year} is out of range")
        if dob is not None and dob.year != year:
            raise InvalidCriteria(f"{field}.birth_year: disagrees with date_of_birth")
    if person.sex not in _SEX_VALUES:
        raise InvalidCriteria(f"{field}.sex: unknown value {person.sex}")
    _country(person.nationality, f"{field}.nationality")
    try:
        return scheme.person_query_digests(given, family, dob, year)
    except InvalidIdentifier as exc:
        raise InvalidCriteria(f"{field}: {exc}") from None


def _document_keys(document: common_pb2.DocumentCriteria, scheme: KeyScheme) -> list[BlindKey]:
    field = "criteria.document"
    number = _text(document.number, f"{field}.number")
    if not number:
        raise InvalidCriteria(f"{field}.number: required")
    if document.type not in _DOCUMENT_TYPES:
        raise InvalidCriteria(f"{field}.type: unknown value {document.type}")
    country = _country(document.issuing_country, f"{field}.issuing_country")
    try:
        return scheme.document_keys(number, _DOCUMENT_TYPES[document.type], country)
    except InvalidIdentifier as exc:
        raise InvalidCriteria(f"{field}.number: {exc}") from None


def _vehicle_keys(vehicle: common_pb2.VehicleCriteria, scheme: KeyScheme) -> list[BlindKey]:
    field = "criteria.vehicle"
    plate = _text(vehicle.plate, f"{field}.plate")
    vin = _text(vehicle.vin, f"{field}.vin")
    country = _country(vehicle.plate_country, f"{field}.plate_country")
    if not plate and not vin:
        raise InvalidCriteria(f"{field}: give a plate, a vin or both")
    keys: list[BlindKey] = []
    try:
        if plate:
            keys += scheme.plate_keys(plate, country)
    except InvalidIdentifier as exc:
        raise InvalidCriteria(f"{field}.plate: {exc}") from None
    try:
        if vin:
            keys += scheme.vin_keys(vin)
    except InvalidIdentifier as exc:
        raise InvalidCriteria(f"{field}.vin: {exc}") from None
    return keys


def _phone_keys(phone: common_pb2.PhoneCriteria, scheme: KeyScheme) -> list[BlindKey]:
    field = "criteria.phone"
    number = _text(phone.number, f"{field}.number")
    if not number:
        raise InvalidCriteria(f"{field}.number: required")
    region = _country(phone.region, f"{field}.region")
    try:
        return scheme.phone_keys(number, region)
    except InvalidIdentifier as exc:
        raise InvalidCriteria(f"{field}.number: {exc}") from None


def _unique_digests(
    criteria: common_pb2.Criteria, scheme: KeyScheme, limits: CriteriaLimits
) -> dict[bytes, str]:
    """Validate criteria; the raw digest -> key type of every part that is set, in order."""
    raw: list[tuple[str, bytes]] = []
    person = criteria.person
    if _has_any(person, ("given_names", "family_names", "date_of_birth", "birth_year")):
        raw += _person_keys(person, scheme, limits.max_name_parts)
    elif person.sex or person.nationality:
        raise InvalidCriteria("criteria.person: sex and nationality only narrow a name search")
    keys: list[BlindKey] = []
    if _has_any(criteria.document, ("number", "issuing_country", "type")):
        keys += _document_keys(criteria.document, scheme)
    if _has_any(criteria.vehicle, ("plate", "plate_country", "vin")):
        keys += _vehicle_keys(criteria.vehicle, scheme)
    if _has_any(criteria.phone, ("number", "region")):
        keys += _phone_keys(criteria.phone, scheme)
    raw += [(key.key_type, bytes.fromhex(key.digest)) for key in keys]
    if not raw:
        raise InvalidCriteria("criteria: empty; give a person, document, vehicle or phone")
    unique = {digest: key_type for key_type, digest in raw}
    if len(unique) > limits.max_keys:
        raise CriteriaOverLimit(
            f"criteria: yield {len(unique)} blind keys, at most {limits.max_keys} per search; "
            "give fewer name parts or fewer identifiers at once"
        )
    return unique


def search_keys(
    criteria: common_pb2.Criteria, scheme: KeyScheme, limits: CriteriaLimits = DEFAULT_LIMITS
) -> SearchKeys:
    """Validate criteria and compute the blind keys of every part that is set."""
    unique = _unique_digests(criteria, scheme, limits)
    return SearchKeys(
        keys=tuple(
            BlindKey(key_type, KEY_STRENGTHS[key_type], digest.hex())
            for digest, key_type in unique.items()
        ),
        sex=criteria.person.sex,
    )


def search_digests(
    criteria: common_pb2.Criteria, scheme: KeyScheme, limits: CriteriaLimits = DEFAULT_LIMITS
) -> SearchDigests:
    """`search_keys` for batch screening: the same validation, errors and keys, as raw
    digests (key types do not travel in a MatchBatch; see `KeySet.digests`)."""
    unique = _unique_digests(criteria, scheme, limits)
    return SearchDigests(b"".join(unique), len(unique), criteria.person.sex)
