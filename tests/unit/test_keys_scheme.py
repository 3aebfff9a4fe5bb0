"""KeyScheme: the public API, secret handling, key construction and matching behaviour."""

from __future__ import annotations

import datetime as dt
import hmac
import os
import pickle
from pathlib import Path

import pytest

from connectors.keys import (
    SCHEME_VERSION,
    BlindKey,
    InvalidIdentifier,
    KeyScheme,
    Strength,
    match_strength,
)
from connectors.keys.evaluate import DEFAULT_PATH, benchmark
from connectors.keys.scheme import KEY_STRENGTHS

SECRET = b"unit-test-secret-not-a-real-one-32b"
D = dt.date(1985, 3, 14)


@pytest.fixture(scope="module")
def scheme() -> KeyScheme:
    return KeyScheme(SECRET)


def strength(
    scheme: KeyScheme,
    record: tuple[str, str, dt.date | None],
    query: tuple[str, str, dt.date | None],
) -> Strength | None:
    return match_strength(scheme.person_query_keys(*query), scheme.person_record_keys(*record))


# --- secret handling ------------------------------------------------------------------------


def test_short_or_non_bytes_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        KeyScheme(b"x" * 15)
    with pytest.raises(ValueError):
        KeyScheme("a string secret of some length")  # type: ignore[arg-type]
    KeyScheme(b"x" * 16)
    KeyScheme(bytearray(b"y" * 100))


def test_secret_never_appears_in_repr_or_pickle(scheme: KeyScheme) -> None:
    for text in (repr(scheme), str(scheme)):
        assert SECRET.decode() not in text
        assert SECRET.hex() not in text
        assert "redacted" in text
    with pytest.raises(TypeError):
        pickle.dumps(scheme)
    assert not hasattr(scheme, "__dict__")


def test_scheme_is_immutable(scheme: KeyScheme) -> None:
    with pytest.raises(AttributeError):
        scheme.version = "bk0"  # type: ignore[misc]
    assert scheme.version == SCHEME_VERSION


def test_digest_is_truncated_hmac_sha256_of_version_type_value(scheme: KeyScheme) -> None:
    (key,) = scheme.phone_keys("+381641234567")
    expected = hmac.digest(SECRET, f"{SCHEME_VERSION}|phone.e164|+381641234567".encode(), "sha256")
    assert key == BlindKey("phone.e164", Strength.EXACT, expected[:16].hex())
    assert len(key.digest) == 32 and key.digest == key.digest.lower()


@pytest.mark.parametrize("length", [16, 32, 64, 65, 200])
def test_precomputed_pads_equal_hmac_digest(length: int) -> None:
    secret = os.urandom(length)
    ks = KeyScheme(secret)
    for message in (b"", b"bk1|x|y", os.urandom(300)):
        assert ks.mac(message) == hmac.digest(secret, message, "sha256")


def test_other_secret_gives_other_digests(scheme: KeyScheme) -> None:
    other = KeyScheme(b"another-secret-of-enough-length")
    mine = {k.digest for k in scheme.person_record_keys("Jovan", "Petrović", D)}
    theirs = {k.digest for k in other.person_record_keys("Jovan", "Petrović", D)}
    assert not mine & theirs


def test_key_types_are_domain_separated(scheme: KeyScheme) -> None:
    doc = scheme.document_keys("AB1234")
    plate = scheme.plate_keys("AB1234")
    assert {k.digest for k in doc}.isdisjoint(k.digest for k in plate)


def test_key_types_carry_no_personal_data_and_fixed_strengths(scheme: KeyScheme) -> None:
    keys = [
        *scheme.person_record_keys("Јован", "Петровић", D),
        *scheme.person_query_keys("Jovan", "Petrovic", D),
        *scheme.document_keys("AB123456", "passport", "RS"),
        *scheme.plate_keys("BG 123-AB", "RS"),
        *scheme.vin_keys("1HGCM82633A004352"),
        *scheme.phone_keys("064 123 4567", "RS"),
    ]
    for key in keys:
        assert key.strength == KEY_STRENGTHS[key.key_type]
        assert "jovan" not in key.key_type.lower()


def test_keys_are_deterministic_and_distinct(scheme: KeyScheme) -> None:
    a = scheme.person_record_keys("Elvira Aurora", "Arifi", dt.date(1964, 5, 12))
    b = KeyScheme(SECRET).person_record_keys("Elvira Aurora", "Arifi", dt.date(1964, 5, 12))
    assert a == b
    assert len({k.digest for k in a}) == len(a)


# --- person keys: which keys are sent -------------------------------------------------------


def test_query_with_dob_sends_no_name_only_keys(scheme: KeyScheme) -> None:
    keys = scheme.person_query_keys("Jovan", "Petrović", D)
    assert Strength.WEAK not in {k.strength for k in keys}
    assert "person.fold" not in {k.key_type for k in keys}


def test_query_without_date_sends_only_name_keys(scheme: KeyScheme) -> None:
    keys = scheme.person_query_keys("Jovan", "Petrović")
    assert {k.key_type for k in keys} == {"person.fold"}


def test_query_with_year_only_sends_year_keys(scheme: KeyScheme) -> None:
    keys = scheme.person_query_keys("Jovan", "Petrović", birth_year=1985)
    assert {k.key_type for k in keys} == {"person.fold.yob"}


def test_record_key_count_is_bounded(scheme: KeyScheme) -> None:
    for given, family in [
        ("Jovan", "Petrović"),
        ("Χαραλαμπία Ευαγγελία", "Γιανναρά-Χατζηχριστοδούλου"),
        ("Zenobia-Adriana Maria", "Dinu-Popescu-Ionescu"),
        ("Щерю Юлиан", "Ъглев-Щерев"),
    ]:
        assert len(scheme.person_record_keys(given, family, D)) <= 60


def test_record_with_year_only(scheme: KeyScheme) -> None:
    rec = scheme.person_record_keys("Jovan", "Petrović", None, 1985)
    assert {k.key_type for k in rec} == {"person.fold.yob", "person.fold"}
    assert match_strength(scheme.person_query_keys("JOVAN", "PETROVIC", D), rec) == Strength.MEDIUM
    assert (
        match_strength(scheme.person_query_keys("JOVAN", "PETROVIC", dt.date(1987, 3, 14)), rec)
        is None
    )


# --- person keys: matching ------------------------------------------------------------------

PETROVIC = ("Јован", "Петровић", D)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (("ЈОВАН", "ПЕТРОВИЋ", D), Strength.EXACT),
        (("Петровић", "Јован", D), Strength.EXACT),  # order
        (("Jovan", "Petrović", D), Strength.STRONG),
        (("JOVAN", "PETROVIC", D), Strength.STRONG),  # MRZ PETROVIC<<JOVAN
        (("PETROVIC", "JOVAN", D), Strength.STRONG),
        (("Jovan", "Petrovich", D), Strength.STRONG),  # ICAO-style ć
        (("Jovan", "Petrović", None), Strength.WEAK),  # no date
        (("Jovan", "Petrovic", dt.date(1985, 3, 15)), Strength.MEDIUM),  # same year only
        (("Jovan", "Petrović", dt.date(1984, 3, 14)), None),  # another year
        (("Jovan", "Petrović", dt.date(1982, 3, 14)), None),
        (("Jovana", "Petrović", D), None),  # a different name one letter away
        (("Jovan", "Petković", D), None),
        (("Jovan", "Petrovć", D), Strength.MEDIUM),  # dropped letter
        (("Jovan", "Petrovvić", D), Strength.MEDIUM),  # doubled letter
        (("Jovan", "Petorvić", D), Strength.MEDIUM),  # swapped letters
        (("Jovan", "Petrocić", D), Strength.MEDIUM),  # neighbouring key
        (("Jvan", "Petrović", None), None),  # typos need a date of birth
    ],
)
def test_petrovic(
    scheme: KeyScheme, query: tuple[str, str, dt.date | None], expected: Strength | None
) -> None:
    assert strength(scheme, PETROVIC, query) == expected


def test_day_month_swap_is_medium(scheme: KeyScheme) -> None:
    record = ("Jovan", "Petrović", dt.date(1985, 3, 4))
    assert strength(scheme, record, ("Jovan", "Petrović", dt.date(1985, 4, 3))) == Strength.MEDIUM
    keys = scheme.person_record_keys("Jovan", "Petrović", dt.date(1985, 3, 24))
    assert "person.swap.dob" not in {k.key_type for k in keys}  # 24 cannot be a month
    same_day_month = scheme.person_record_keys("Jovan", "Petrović", dt.date(1985, 5, 5))
    assert "person.swap.dob" not in {k.key_type for k in same_day_month}


@pytest.mark.parametrize(
    ("record", "query", "expected"),
    [
        (("Υπαπαντή", "Κυργιά"), ("YPAPANTI", "KYRGIA"), Strength.STRONG),
        (("Χαραλαμπία", "Γιανναρά"), ("Kharalambia", "Yiannara"), Strength.STRONG),
        (("Mevlüdiye", "Akgündüz"), ("MEVLÜDİYE", "AKGÜNDÜZ"), Strength.EXACT),
        (("Mevlüdiye", "Akgündüz"), ("Mevluediye", "Akguenduez"), Strength.STRONG),
        (("Grațiana", "Aanei"), ("Graţiana", "Aanei"), Strength.EXACT),
        (("József", "Tóth"), ("Tóth", "József"), Strength.EXACT),
        (("Vjollca", "Përmeti"), ("Vjollca", "Permeti"), Strength.STRONG),
        (("Elvira Aurora", "Arifi"), ("Elvira", "Arifi"), Strength.MEDIUM),  # dropped given
        (("Lana", "Bajramović-Arnautović"), ("Lana", "Bajramovic"), Strength.MEDIUM),
        (("Andrea", "Molnár-Pintér"), ("Andrea", "Molnár-Péter"), None),
        (("Renata", "Rotari"), ("Renat", "Rotari"), None),  # final vowel is an ending
        (("Eugeniu", "Prisacaru"), ("Eugeniu", "Prisecaru"), Strength.MEDIUM),  # phonetic
        (("Lana", "Kovač"), ("Lena", "Kovač"), None),
    ],
)
def test_cross_script_and_near_names(
    scheme: KeyScheme, record: tuple[str, str], query: tuple[str, str], expected: Strength | None
) -> None:
    day = dt.date(1990, 2, 11)
    assert strength(scheme, (*record, day), (*query, day)) == expected


def test_match_strength_takes_the_strongest_shared_key() -> None:
    a = BlindKey("person.fold", Strength.WEAK, "a" * 32)
    b = BlindKey("person.fold.dob", Strength.STRONG, "b" * 32)
    c = BlindKey("person.exact.dob", Strength.EXACT, "c" * 32)
    assert match_strength([a, b], [a, b, c]) == Strength.STRONG
    assert match_strength([c], [a, b]) is None
    assert match_strength([], []) is None


# --- other identifiers ----------------------------------------------------------------------


def test_document_keys_with_and_without_issuer(scheme: KeyScheme) -> None:
    rs = scheme.document_keys("AB 123456", "passport", "RS")
    assert {k.key_type for k in rs} == {"doc.number", "doc.number.issuer"}
    assert match_strength(scheme.document_keys("ab123456", "id_card", "rs"), rs) == Strength.EXACT
    assert match_strength(scheme.document_keys("AB123456"), rs) == Strength.STRONG
    assert (
        match_strength(scheme.document_keys("AB123456", issuing_country="BG"), rs)
        == Strength.STRONG
    )
    assert match_strength(scheme.document_keys("AB123457", issuing_country="RS"), rs) is None


def test_plate_keys_across_scripts(scheme: KeyScheme) -> None:
    record = scheme.plate_keys("СА 1234 ВХ", "BG")
    assert match_strength(scheme.plate_keys("CA1234BX", "bg"), record) == Strength.EXACT
    assert match_strength(scheme.plate_keys("CA-1234-BX"), record) == Strength.STRONG


def test_vin_and_phone_keys(scheme: KeyScheme) -> None:
    assert (
        match_strength(scheme.vin_keys("1hgcm8263 3a004352"), scheme.vin_keys("1HGCM82633A004352"))
        == Strength.EXACT
    )
    assert (
        match_strength(
            scheme.phone_keys("064 123 4567", "RS"), scheme.phone_keys("+381 64 1234567")
        )
        == Strength.EXACT
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.person_record_keys("", "", D),
        lambda s: s.person_record_keys("123", "<<", D),
        lambda s: s.person_record_keys("Jovan", "Petrović", "1985-03-14"),
        lambda s: s.person_record_keys("Jovan", "Petrović", D, 1990),
        lambda s: s.person_query_keys("Jovan", "Petrović", None, 1700),
        lambda s: s.person_query_keys("Jovan", "Petrović", dt.datetime(1985, 3, 14, 12)),
        lambda s: s.document_keys("#"),
        lambda s: s.document_keys("AB123456", issuing_country="Serbia"),
        lambda s: s.plate_keys("ЖЖ 123"),
        lambda s: s.vin_keys("123"),
        lambda s: s.phone_keys("064 123 4567"),
    ],
)
def test_invalid_identifiers_raise(scheme: KeyScheme, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidIdentifier):
        call(scheme)


# --- size ---------------------------------------------------------------------------------


def test_record_key_count_stays_bounded() -> None:
    """Every record key is a row in a node's database: keep the count per person bounded.

    Speed is measured, not asserted: `python -m connectors.keys.evaluate --bench`.
    """
    if not Path(DEFAULT_PATH).is_file():
        pytest.fail(f"development set missing: {DEFAULT_PATH}")
    bench = benchmark(DEFAULT_PATH, 2_000)
    assert bench.keys_per_person <= 60
