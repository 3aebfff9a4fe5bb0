"""Turning a node's records into what it stores: an opaque reference and blind keys.

The reference is an HMAC of the record id under the node's own reference secret: stable
for a record (re-imports and rebuilds keep it), unguessable without the secret, and
unlinkable to the id, which may itself be meaningful at home (a case number).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.keys import BlindKey, InvalidIdentifier, KeyScheme
from connectors.records import Record, RecordError
from connectors.store import StoredRecord


@contextmanager
def _field(name: str) -> Iterator[None]:
    """Report an identifier the key scheme refuses as a RecordError naming the field."""
    try:
        yield
    except InvalidIdentifier as exc:
        raise RecordError(f"{name}: {exc}") from None


class RecordKeyer:
    """Computes references and blind keys for one country's records."""

    def __init__(self, country: str, scheme: KeyScheme, reference_secret: bytes) -> None:
        if len(reference_secret) < 16:
            raise ValueError("reference secret must be at least 16 bytes")
        self.country = country
        self.scheme = scheme
        self._reference_secret = reference_secret

    def __repr__(self) -> str:
        return f"RecordKeyer(country={self.country!r}, scheme={self.scheme.version!r})"

    def reference(self, record_id: str) -> str:
        """The opaque reference of a record: country, then 128 bits in base32."""
        mac = hmac.digest(
            self._reference_secret, f"{self.country}|{record_id}".encode(), hashlib.sha256
        )
        return f"{self.country}-{base64.b32encode(mac[:16]).decode().rstrip('=')}"

    def keys(self, record: Record) -> list[BlindKey]:
        """Blind keys of a record; a value the scheme cannot read is a RecordError."""
        fields = record.fields
        if record.kind == "person":
            dob, year = fields.get("dob"), fields.get("birth_year")
            with _field("given"):
                return self.scheme.person_record_keys(
                    str(fields["given"]),
                    str(fields["family"]),
                    dt.date.fromisoformat(str(dob)) if dob else None,
                    int(year) if year else None,
                )
        if record.kind == "document":
            with _field("number"):
                return self.scheme.document_keys(
                    str(fields["number"]),
                    str(fields.get("doc_type", "")),
                    str(fields.get("issuing_country", "")),
                )
        if record.kind == "vehicle":
            keys: list[BlindKey] = []
            if fields.get("plate"):
                with _field("plate"):
                    keys += self.scheme.plate_keys(
                        str(fields["plate"]), str(fields.get("plate_country", ""))
                    )
            if fields.get("vin"):
                with _field("vin"):
                    keys += self.scheme.vin_keys(str(fields["vin"]))
            return keys
        with _field("number"):
            return self.scheme.phone_keys(
                str(fields["number"]), str(fields.get("region") or self.country)
            )

    def prepare(self, record: Record) -> StoredRecord:
        """The record with its reference and keys, ready for RecordStore.store."""
        return StoredRecord(record, self.reference(record.record_id), self.keys(record))
