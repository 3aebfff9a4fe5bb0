"""Deterministic synthetic national data for the demo federation and the tests.

Each member state's node needs records that look like that state's own: its script, its
naming customs, its plate, document and phone formats. Real data cannot be used, so this
package makes it up, reproducibly: the same (country, persons, seed) always yields the same
records, in the import schema the connectors load (one dict per JSONL line).

Every kind of record (person, document, vehicle, phone) draws from its own random stream,
seeded from (seed, country, kind), and no record depends on the requested size. So a smaller
data set is a prefix of a larger one, and adding persons never reshuffles the documents.

A handful of fixed subjects (`DEMO_SUBJECTS`) is always included, whatever the seed and size
(but nothing at all is generated for ``persons=0``), so the README and the tests can search
for known names, numbers and plates.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from types import MappingProxyType

from connectors.synthetic._demo import DEMO_RECORDS
from connectors.synthetic._draw import one, weighted
from connectors.synthetic._identifiers import (
    PLATES,
    compact,
    document_number,
    phone,
    phone_key,
    vin,
)
from connectors.synthetic._people import NAME_BUILDERS

__all__ = ["COUNTRIES", "DEMO_SUBJECTS", "generate"]

COUNTRIES: tuple[str, ...] = ("AL", "BA", "BG", "GR", "HU", "MD", "ME", "MK", "RO", "RS", "TR")

DEMO_SUBJECTS: tuple[dict, ...] = tuple(
    {"country": country, "record": dict(pairs)} for country, pairs in DEMO_RECORDS
)

# Other nationalities a state's records plausibly hold (Moldovans with Romanian passports,
# Hungarians from Vojvodina and Transylvania, ...).
_OTHER_NATIONALITIES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "AL": ("GR", "IT", "MK"),
        "BA": ("HR", "RS"),
        "BG": ("TR", "MK", "RO"),
        "GR": ("AL", "CY", "BG"),
        "HU": ("RO", "RS", "SK"),
        "MD": ("RO", "UA", "RU"),
        "ME": ("RS", "BA"),
        "MK": ("AL", "BG", "RS"),
        "RO": ("MD", "HU"),
        "RS": ("BA", "ME", "HU"),
        "TR": ("BG", "DE", "AZ"),
    }
)
_NEIGHBOURS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "AL": ("GR", "MK", "ME"),
        "BA": ("RS", "ME"),
        "BG": ("RO", "GR", "TR", "MK", "RS"),
        "GR": ("AL", "BG", "MK", "TR"),
        "HU": ("RO", "RS"),
        "MD": ("RO",),
        "ME": ("RS", "BA", "AL"),
        "MK": ("AL", "BG", "GR", "RS"),
        "RO": ("MD", "HU", "BG", "RS"),
        "RS": ("BA", "ME", "MK", "HU", "RO", "BG"),
        "TR": ("BG", "GR"),
    }
)
_DOB_FIRST = date(1940, 1, 1).toordinal()
_DOB_LAST = date(2008, 12, 31).toordinal()
_DOB_MODE = date(1986, 1, 1).toordinal()

# Values with cumulative weights (see `weighted`): most persons are wanted or suspects.
_PERSON_CATEGORIES = (("wanted", "suspect", "missing"), (0.42, 0.85, 1.0))
_DOC_TYPES = (
    ("passport", "id_card", "driving_licence", "residence_permit"),
    (0.35, 0.75, 0.90, 1.0),
)
_DOC_CATEGORIES = (("stolen", "lost", "invalidated", "forged"), (0.45, 0.80, 0.92, 1.0))
_PHONE_CATEGORIES = (("suspect", "monitored", "stolen"), (0.50, 0.80, 1.0))


def generate(country: str, persons: int = 10_000, seed: int = 2026) -> Iterator[dict[str, object]]:
    """Yield `country`'s synthetic records: persons, then documents, vehicles and phones.

    About persons/4 documents, persons/10 vehicles and persons/10 phones come with the
    persons. The demo subjects held by `country` come first within their kind, with the
    lowest ids, and count towards these numbers (a kind gets more records than asked only
    when its demo subjects alone exceed the count). Arguments are checked here, before the
    first record, so a typo fails at the call rather than deep inside a consumer's loop.
    """
    if country not in COUNTRIES:
        raise ValueError(f"unknown country {country!r}; expected one of {', '.join(COUNTRIES)}")
    if isinstance(persons, bool) or not isinstance(persons, int) or persons < 0:
        raise ValueError(f"persons must be a non-negative int, got {persons!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    return _records(country, persons, seed)


def _records(country: str, persons: int, seed: int) -> Iterator[dict[str, object]]:
    if persons == 0:
        return
    demo = [dict(pairs) for owner, pairs in DEMO_RECORDS if owner == country]
    plan = (
        ("person", "P", persons, _person),
        ("document", "D", persons // 4, _document),
        ("vehicle", "V", persons // 10, _vehicle),
        ("phone", "T", persons // 10, _phone),
    )
    for kind, letter, wanted, make in plan:
        fixed = [record for record in demo if record["kind"] == kind]
        yield from fixed
        seen = {key for record in fixed for key in _unique_keys(country, record)}
        rng = random.Random(f"selec-synthetic/{seed}/{country}/{kind}")
        for number in range(len(fixed) + 1, wanted + 1):
            record = make(rng, country)
            keys = _unique_keys(country, record)
            while not seen.isdisjoint(keys):
                record = make(rng, country)
                keys = _unique_keys(country, record)
            seen.update(keys)
            yield {"id": f"{country}-{letter}-{number:06d}", **record}


def _unique_keys(country: str, record: dict[str, object]) -> tuple[object, ...]:
    """What must not repeat within one state's data: a document, a plate, a VIN, a phone.

    Compared in canonical form, so a random record never duplicates a demo subject's number
    written another way ("RX123456", "+381 64 1234567"), which would blur the demo's hits.
    Namesakes are kept (they are real, and matching must cope with them); only a person
    identical in name and date of birth to an earlier one is drawn again.
    """
    kind = record["kind"]
    if kind == "document":
        return ((record["issuing_country"], compact(str(record["number"]))),)
    if kind == "vehicle":
        plate = (record["plate_country"], compact(str(record["plate"])))
        return (plate, record["vin"]) if "vin" in record else (plate,)
    if kind == "phone":
        return (phone_key(country, str(record["number"])),)
    return ((record["given"], record["family"], record["dob"], record.get("birth_year")),)


def _person(rng: random.Random, country: str) -> dict[str, object]:
    sex = "M" if rng.random() < 0.62 else "F"
    given, family = NAME_BUILDERS[country](rng, sex)
    day = int(rng.triangular(_DOB_FIRST, _DOB_LAST + 1, _DOB_MODE))
    record: dict[str, object] = {"kind": "person", "given": given, "family": family}
    if rng.random() < 0.03:
        record["dob"] = None
    else:
        record["dob"] = date.fromordinal(day).isoformat()
    record["sex"] = sex
    roll = rng.random()
    if roll < 0.90:
        record["nationality"] = country
    elif roll < 0.94:
        record["nationality"] = one(rng, _OTHER_NATIONALITIES[country])
    record["category"] = weighted(rng, _PERSON_CATEGORIES)
    if record["dob"] is None:
        record["birth_year"] = date.fromordinal(day).year
    return record


def _document(rng: random.Random, country: str) -> dict[str, object]:
    doc_type = weighted(rng, _DOC_TYPES)
    issuer = country if rng.random() < 0.92 else one(rng, _NEIGHBOURS[country])
    return {
        "kind": "document",
        "doc_type": doc_type,
        "number": document_number(rng, issuer, doc_type),
        "issuing_country": issuer,
        "category": weighted(rng, _DOC_CATEGORIES),
    }


def _vehicle(rng: random.Random, country: str) -> dict[str, object]:
    plate_country = country if rng.random() < 0.93 else one(rng, _NEIGHBOURS[country])
    record: dict[str, object] = {
        "kind": "vehicle",
        "plate": PLATES[plate_country](rng),
        "plate_country": plate_country,
    }
    if rng.random() < 0.90:
        record["vin"] = vin(rng)
    record["category"] = "stolen" if rng.random() < 0.85 else "wanted"
    return record


def _phone(rng: random.Random, country: str) -> dict[str, object]:
    return {
        "kind": "phone",
        "number": phone(rng, country),
        "category": weighted(rng, _PHONE_CATEGORIES),
    }
