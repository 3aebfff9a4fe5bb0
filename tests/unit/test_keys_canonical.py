"""Canonical forms of documents, plates, VINs and phone numbers."""

from __future__ import annotations

import pytest

from connectors.keys import (
    InvalidIdentifier,
    canonical_document,
    canonical_phone,
    canonical_plate,
    canonical_vin,
)
from connectors.keys.canonical import canonical_country, vin_check_digit

# --- documents ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AB 123-456", "AB123456"),
        ("ab.123.456", "AB123456"),
        ("АВ 123456", "AB123456"),  # Cyrillic А В
        ("ΑΒ-123456", "AB123456"),  # Greek Α Β
        ("P1234567<", "P1234567"),  # MRZ filler
        ("００７１２３４５６７", "0071234567"),  # full-width digits (NFKC)
    ],
)
def test_document_numbers(raw: str, expected: str) -> None:
    assert canonical_document(raw) == expected


def test_document_letter_o_and_digit_zero_stay_distinct() -> None:
    assert canonical_document("AO12345") != canonical_document("A012345")


@pytest.mark.parametrize("bad", ["", "  ", "A1", "Ж1234567", "AB#1234", "1" * 21, "Č123456"])
def test_invalid_document_numbers(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        canonical_document(bad)


def test_invalid_input_is_not_echoed() -> None:
    secret_looking = "ЖЖ-SECRET-99"
    with pytest.raises(InvalidIdentifier) as info:
        canonical_document(secret_looking)
    assert "SECRET" not in str(info.value)
    with pytest.raises(InvalidIdentifier):
        canonical_document(12345)  # type: ignore[arg-type]


# --- plates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("СА 1234 ВХ", "CA1234BX"),  # Bulgarian plate in Cyrillic
        ("CA-1234-BX", "CA1234BX"),
        ("ca 1234 bx", "CA1234BX"),
        ("ΙΚΥ-1234", "IKY1234"),  # Greek plate in Greek letters
        ("IKY 1234", "IKY1234"),
        ("BG 123-ŠĐ", "BG123SD"),  # Serbian letters a foreign keyboard lacks
        ("ВG 123-АВ", "BG123AB"),  # mixed scripts
        ("КМ 1234 ТР", "KM1234TP"),
    ],
)
def test_plates(raw: str, expected: str) -> None:
    assert canonical_plate(raw) == expected


def test_cyrillic_and_latin_plates_are_equal() -> None:
    assert canonical_plate("РВ 4567 МН") == canonical_plate("PB 4567 MH")


@pytest.mark.parametrize("bad", ["", "-", "A", "ЖЖ 1234", "ΩΩ 1234", "A" * 13])
def test_invalid_plates(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        canonical_plate(bad)


# --- VINs -----------------------------------------------------------------------------------


def test_vin_check_digit_values() -> None:
    assert vin_check_digit("1HGCM82633A004352") == "3"
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_check_digit("11111111111111111") == "1"


def test_vin_with_valid_north_american_check_digit() -> None:
    assert canonical_vin("1hgcm82633a004352") == "1HGCM82633A004352"
    assert canonical_vin("1M8-GDM9A-XKP042788") == "1M8GDM9AXKP042788"


def test_vin_with_wrong_check_digit_is_rejected_where_mandatory() -> None:
    with pytest.raises(InvalidIdentifier, match="check digit"):
        canonical_vin("1HGCM82643A004352")  # position 9 should be 3
    with pytest.raises(InvalidIdentifier, match="check digit"):
        canonical_vin("LSVAL41Z982104202")  # China: mandatory too


def test_european_vin_without_check_digit_is_accepted() -> None:
    # Volkswagen writes Z at position 9, not a check digit.
    assert canonical_vin("WVWZZZ1JZXW000001") == "WVWZZZ1JZXW000001"
    assert canonical_vin("VF1BB05CF23456789") == "VF1BB05CF23456789"


def test_vin_confusable_letters_are_read_as_digits() -> None:
    assert canonical_vin("1HGCM82633AOO4352") == "1HGCM82633A004352"
    assert canonical_vin("WVWZZZIJZXW000001") == "WVWZZZ1JZXW000001"


@pytest.mark.parametrize("bad", ["", "1HGCM82633A00435", "1HGCM82633A0043521", "1HGCM8263#A004352"])
def test_invalid_vins(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        canonical_vin(bad)


# --- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("064 123 4567", "RS", "+381641234567"),  # Serbia, trunk 0
        ("+381 64 123 4567", "", "+381641234567"),
        ("00381 64 1234567", "", "+381641234567"),
        ("00381 64 1234567", "RS", "+381641234567"),  # IDD prefix of the region
        ("06 30 123 4567", "HU", "+36301234567"),  # Hungary, trunk 06
        ("0888 123 456", "BG", "+359888123456"),
        ("694 123 4567", "GR", "+306941234567"),  # Greece, no trunk prefix
        ("0532 123 45 67", "TR", "+905321234567"),
        ("0722 123 456", "RO", "+40722123456"),
        ("069 123 456", "MD", "+37369123456"),
        ("069 123 4567", "AL", "+355691234567"),
        ("070 123 456", "MK", "+38970123456"),
        ("067 123 456", "ME", "+38267123456"),
        ("061 123 456", "BA", "+38761123456"),
        ("+30 694 123 4567", "RS", "+306941234567"),  # + wins over the region
        ("(064) 123-45-67", "rs", "+381641234567"),
    ],
)
def test_phones_to_e164(raw: str, region: str, expected: str) -> None:
    assert canonical_phone(raw, region) == expected


def test_national_and_international_forms_agree() -> None:
    assert canonical_phone("064 123 4567", "RS") == canonical_phone("+381641234567")


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("064 123 4567", ""),  # national number without a region
        ("064 123 4567", "XX"),  # unknown region
        ("hello", "RS"),
        ("+381 6", ""),  # too short
        ("", "RS"),
        ("1" * 60, "RS"),
    ],
)
def test_invalid_phones(raw: str, region: str) -> None:
    with pytest.raises(InvalidIdentifier):
        canonical_phone(raw, region)


# --- countries ------------------------------------------------------------------------------


def test_country_codes() -> None:
    assert canonical_country(" rs ") == "RS"
    for bad in ("SRB", "R", "1S", ""):
        with pytest.raises(InvalidIdentifier):
            canonical_country(bad)
