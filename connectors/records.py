"""The records a member state holds, and how an import line becomes one.

The import format (JSON Lines or CSV with a header) is documented in docs/import-format.md.
Parsing is strict and explains itself: every problem is reported with the field it is in,
so `selec import` can print line-numbered errors and import nothing until the file is clean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from selec.v1 import common_pb2

KINDS: dict[str, int] = {
    "person": common_pb2.RECORD_KIND_PERSON,
    "document": common_pb2.RECORD_KIND_DOCUMENT,
    "vehicle": common_pb2.RECORD_KIND_VEHICLE,
    "phone": common_pb2.RECORD_KIND_PHONE,
}

CATEGORIES: dict[str, int] = {
    "wanted": common_pb2.CATEGORY_WANTED,
    "missing": common_pb2.CATEGORY_MISSING,
    "suspect": common_pb2.CATEGORY_SUSPECT,
    "stolen": common_pb2.CATEGORY_STOLEN,
    "lost": common_pb2.CATEGORY_LOST,
    "forged": common_pb2.CATEGORY_FORGED,
    "invalidated": common_pb2.CATEGORY_INVALIDATED,
    "monitored": common_pb2.CATEGORY_MONITORED,
}

DOCUMENT_TYPES = ("passport", "id_card", "driving_licence", "residence_permit")
SEXES = ("M", "F", "X")

# Fields each kind reads; anything else in a line is an error, so a misspelt column
# is never silently dropped.
_FIELDS: dict[str, frozenset[str]] = {
    "person": frozenset({"given", "family", "dob", "birth_year", "sex", "nationality"}),
    "document": frozenset({"doc_type", "number", "issuing_country", "person_id"}),
    "vehicle": frozenset({"plate", "plate_country", "vin"}),
    "phone": frozenset({"number", "region"}),
}
_COMMON = frozenset({"id", "kind", "category"})
MAX_FIELD_LENGTH = 200
MIN_BIRTH_YEAR = 1900


class RecordError(ValueError):
    """An import line is not a valid record; the message names the field."""


@dataclass(frozen=True, slots=True)
class Record:
    """One record as the owning state holds it. Never leaves the node but through Reveal."""

    record_id: str
    kind: str
    category: str
    fields: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def sex(self) -> str:
        """Recorded sex of a person (M, F, X) or empty."""
        value = self.fields.get("sex", "")
        return value if isinstance(value, str) else ""


def _text(raw: Mapping[str, object], name: str, required: bool) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise RecordError(f"{name}: required")
        return ""
    if not isinstance(value, str):
        raise RecordError(f"{name}: expected a string, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise RecordError(f"{name}: required")
    if len(value) > MAX_FIELD_LENGTH:
        raise RecordError(f"{name}: longer than {MAX_FIELD_LENGTH} characters")
    if any(ch < " " for ch in value):
        raise RecordError(f"{name}: contains control characters")
    return value


def _country(raw: Mapping[str, object], name: str, required: bool) -> str:
    value = _text(raw, name, required).upper()
    if value and (len(value) != 2 or not value.isascii() or not value.isalpha()):
        raise RecordError(f"{name}: expected an ISO 3166-1 alpha-2 code, got {value!r}")
    return value


def parse_date(value: str, name: str = "dob") -> dt.date:
    """A YYYY-MM-DD date between 1900 and today."""
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{name}: expected YYYY-MM-DD, got {value!r}") from None
    if len(value) != 10:
        raise RecordError(f"{name}: expected YYYY-MM-DD, got {value!r}")
    if parsed.year < MIN_BIRTH_YEAR or parsed > dt.date.today():
        raise RecordError(f"{name}: {value} is out of range")
    return parsed


def parse_record(raw: Mapping[str, object]) -> Record:
    """Validate one import line (already decoded from JSON or CSV) into a Record."""
    record_id = _text(raw, "id", required=True)
    kind = _text(raw, "kind", required=True).lower()
    if kind not in KINDS:
        raise RecordError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    category = _text(raw, "category", required=True).lower()
    if category not in CATEGORIES:
        raise RecordError(f"category: expected one of {', '.join(CATEGORIES)}, got {category!r}")
    unknown = sorted(k for k, v in raw.items() if k not in _COMMON | _FIELDS[kind] and v)
    if unknown:
        raise RecordError(f"{unknown[0]}: not a field of a {kind} record")
    fields = _KIND_PARSERS[kind](raw)
    return Record(record_id, kind, category, {k: v for k, v in fields.items() if v != ""})


def _person_fields(raw: Mapping[str, object]) -> dict[str, str | int]:
    fields: dict[str, str | int] = {
        "given": _text(raw, "given", required=True),
        "family": _text(raw, "family", required=True),
    }
    dob = _text(raw, "dob", required=False)
    if dob:
        fields["dob"] = parse_date(dob).isoformat()
    birth_year = raw.get("birth_year")
    if birth_year not in (None, ""):
        year = _year(birth_year)
        if dob and int(dob[:4]) != year:
            raise RecordError("birth_year: disagrees with dob")
        fields["birth_year"] = year
    sex = _text(raw, "sex", required=False).upper()
    if sex and sex not in SEXES:
        raise RecordError(f"sex: expected M, F or X, got {sex!r}")
    fields["sex"] = sex
    fields["nationality"] = _country(raw, "nationality", required=False)
    return fields


def _document_fields(raw: Mapping[str, object]) -> dict[str, str | int]:
    doc_type = _text(raw, "doc_type", required=False).lower()
    if doc_type and doc_type not in DOCUMENT_TYPES:
        raise RecordError(f"doc_type: expected one of {', '.join(DOCUMENT_TYPES)}")
    return {
        "doc_type": doc_type,
        "number": _text(raw, "number", required=True),
        "issuing_country": _country(raw, "issuing_country", required=False),
        "person_id": _text(raw, "person_id", required=False),
    }


def _vehicle_fields(raw: Mapping[str, object]) -> dict[str, str | int]:
    plate = _text(raw, "plate", required=False)
    vin = _text(raw, "vin", required=False)
    if not plate and not vin:
        raise RecordError("plate: a vehicle needs a plate, a vin or both")
    return {
        "plate": plate,
        "plate_country": _country(raw, "plate_country", required=False),
        "vin": vin,
    }


def _phone_fields(raw: Mapping[str, object]) -> dict[str, str | int]:
    return {
        "number": _text(raw, "number", required=True),
        "region": _country(raw, "region", required=False),
    }


_KIND_PARSERS = {
    "person": _person_fields,
    "document": _document_fields,
    "vehicle": _vehicle_fields,
    "phone": _phone_fields,
}


def _year(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"birth_year: expected a year, got {value!r}")
    if not MIN_BIRTH_YEAR <= value <= dt.date.today().year:
        raise RecordError(f"birth_year: {value} is out of range")
    return value
