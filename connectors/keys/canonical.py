"""Canonical forms of non-name identifiers: document numbers, plates, VINs, phone numbers.

Pure functions. Each returns the one string both sides key on, or raises
:class:`~connectors.keys.errors.InvalidIdentifier` with a message that says what is wrong and
does not repeat the identifier (messages reach logs).

Why each rule:

* **Look-alike letters.** Registers in Cyrillic- and Greek-script states store plates and some
  document numbers with the native letters that *look* Latin (Bulgarian ``СА 1234 ВХ``, Greek
  ``ΙΚΥ-1234``); a foreign officer types Latin. Only true look-alikes are folded (``А В Е К М Н
  О Р С Т Х У`` and their Greek twins, plus ``І Ј Ѕ`` and Greek ``Ζ Ι Ν``); any other
  non-Latin letter is an error rather than a guess.
* **Separators.** Spaces, dashes, dots and slashes are presentation, never part of the number.
* **Phones** become E.164 with the ``phonenumbers`` library (Google's libphonenumber metadata,
  maintained with every numbering-plan change; national trunk prefixes such as the ``0`` in
  ``064 123 4567`` or the Hungarian ``06`` are only removable with per-country rules, which
  is exactly what it carries).
* **VINs**: see :func:`canonical_vin`.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from connectors.keys.errors import InvalidIdentifier

__all__ = [
    "canonical_country",
    "canonical_document",
    "canonical_phone",
    "canonical_plate",
    "canonical_vin",
    "vin_check_digit",
]

#: Cyrillic and Greek capitals that are visually identical to a Latin capital.
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S",
        # Greek
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015./_<]+")
_DOC_RE = re.compile(r"[A-Z0-9]{3,20}")
_PLATE_RE = re.compile(r"[A-Z0-9]{2,12}")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_MAX_INPUT = 64


def _prepare(value: str, what: str) -> str:
    """NFKC, upper case, separators removed, look-alikes folded; shared by the simple forms."""
    if not isinstance(value, str):
        raise InvalidIdentifier(f"{what} must be a string")
    if len(value) > _MAX_INPUT:
        raise InvalidIdentifier(f"{what} longer than {_MAX_INPUT} characters")
    text = unicodedata.normalize("NFKC", value).upper()
    return _SEPARATORS.sub("", text).translate(_LOOKALIKES)


def _strip_latin_diacritics(text: str) -> str:
    """``Š`` → ``S``: plates may carry national letters a foreign keyboard cannot type."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("Đ", "D")


def canonical_country(code: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper case (``rs`` → ``RS``)."""
    if not isinstance(code, str):
        raise InvalidIdentifier("country must be a string")
    cc = code.strip().upper()
    if not _COUNTRY_RE.fullmatch(cc):
        raise InvalidIdentifier("country must be an ISO 3166-1 alpha-2 code")
    return cc


def canonical_document(number: str) -> str:
    """Document number: upper case, no spaces/dashes/dots, Cyrillic/Greek look-alikes folded.

    3 to 20 letters and digits (ICAO 9303 document numbers are up to 9 in the MRZ, national
    ID numbers longer). The letter ``O`` and the digit ``0`` are *not* merged: both occur in
    real numbers, and the check digit in an MRZ is what resolves a misread, not this function.
    """
    text = _prepare(number, "document number")
    if not text:
        raise InvalidIdentifier("document number is empty")
    if not _DOC_RE.fullmatch(text):
        raise InvalidIdentifier(
            "document number must be 3-20 Latin letters or digits after removing separators"
        )
    return text


def canonical_plate(plate: str) -> str:
    """Plate: upper case, no spaces/dashes, look-alikes folded, Latin diacritics removed.

    Diacritics are removed because Serbian and other plates use ``Č Ć Đ Š Ž`` that foreign
    keyboards cannot type; two plates differing only by a diacritic are a negligible risk
    compared with missing every foreign query. 2 to 12 characters.
    """
    text = _strip_latin_diacritics(_prepare(plate, "plate"))
    if not text:
        raise InvalidIdentifier("plate is empty")
    if not _PLATE_RE.fullmatch(text):
        raise InvalidIdentifier("plate must be 2-12 Latin letters or digits after folding")
    return text


# ISO 3779 / 49 CFR 565 check digit: letter values and position weights.
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_RE = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
#: World manufacturer identifier regions where the check digit is mandatory: North America
#: (first character 1-5, 49 CFR 565) and China (L, GB 16735).
_VIN_CHECKED_REGIONS = frozenset("12345L")
#: ISO 3779 excludes I, O and Q precisely because they are read as 1, 0 and 0.
_VIN_CONFUSABLES = str.maketrans({"I": "1", "O": "0", "Q": "0"})


def vin_check_digit(vin: str) -> str:
    """The check character (``0``-``9`` or ``X``) for a 17-character VIN, position 9."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    rem = total % 11
    return "X" if rem == 10 else str(rem)


def canonical_vin(vin: str) -> str:
    """VIN: 17 characters, upper case, no separators, ``I O Q`` read as ``1 0 0``.

    Check digit decision: ISO 3779 does not require position 9 to be a check digit, and most
    European manufacturers do not use one, so it is **only enforced where it is mandatory**
    (world manufacturer identifiers starting with 1-5, North America, and L, China). Elsewhere a
    VIN is accepted as is: rejecting it would drop valid European VINs, and recomputing it
    would change the identifier. ``I O Q`` are not allowed in a VIN at all; a typed ``O`` is a
    misread ``0``, so they are mapped rather than rejected (the check digit, where present,
    still catches a wrong guess).
    """
    text = _prepare(vin, "VIN").translate(_VIN_CONFUSABLES)
    if len(text) != 17:
        raise InvalidIdentifier("VIN must have 17 characters")
    if not _VIN_RE.fullmatch(text):
        raise InvalidIdentifier("VIN may contain only Latin letters (not I, O, Q) and digits")
    if text[0] in _VIN_CHECKED_REGIONS and text[8] != vin_check_digit(text):
        raise InvalidIdentifier("VIN check digit (position 9) does not match")
    return text


_MAX_PHONE_INPUT = 40


def canonical_phone(number: str, default_region: str = "") -> str:
    """Phone number in E.164 (``+38164123456``) via ``phonenumbers``.

    ``default_region`` (ISO alpha-2) says how to read a number without ``+`` or ``00``: the
    national format of that state, trunk prefix included. Without it such a number cannot be
    read and is rejected. The number must be *possible* for its country (right length); full
    validity against allocated ranges is not required, because ranges change faster than any
    deployed metadata and a missed hit costs more than an unallocated number ever could.
    """
    if not isinstance(number, str) or not isinstance(default_region, str):
        raise InvalidIdentifier("phone number and region must be strings")
    if len(number) > _MAX_PHONE_INPUT:
        raise InvalidIdentifier(f"phone number longer than {_MAX_PHONE_INPUT} characters")
    text = unicodedata.normalize("NFKC", number).strip()
    region = default_region.strip().upper() or None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidIdentifier("default region is not a known ISO alpha-2 region")
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    if region is None and not text.startswith("+"):
        raise InvalidIdentifier("phone number without +country code needs a default region")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier("phone number could not be parsed") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidIdentifier("phone number has the wrong length for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
