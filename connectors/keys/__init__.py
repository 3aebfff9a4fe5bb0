"""Blind keys: keyed hashes of normalized identifiers, so matching never needs plaintext.

See :mod:`connectors.keys.scheme` for the key design, :mod:`connectors.keys.normalize` for
names and :mod:`connectors.keys.canonical` for documents, plates, VINs and phone numbers.
"""

from connectors.keys.canonical import (
    canonical_document,
    canonical_phone,
    canonical_plate,
    canonical_vin,
)
from connectors.keys.errors import InvalidIdentifier
from connectors.keys.scheme import (
    SCHEME_VERSION,
    BlindKey,
    KeyScheme,
    Strength,
    match_strength,
)

__all__ = [
    "SCHEME_VERSION",
    "BlindKey",
    "InvalidIdentifier",
    "KeyScheme",
    "Strength",
    "canonical_document",
    "canonical_phone",
    "canonical_plate",
    "canonical_vin",
    "match_strength",
]
