"""Name normalization: the same person across scripts and spellings, and what must stay apart."""

from __future__ import annotations

import unicodedata

import pytest

from connectors.keys import InvalidIdentifier
from connectors.keys.normalize import (
    FOLD_RULES,
    KEYBOARD_NEIGHBOURS,
    anagram,
    clean,
    deletions,
    exact_tokens,
    fold_token,
    keyboard_typos,
    name_forms,
    parse_mrz_name,
    phonetic,
    split_tokens,
    squeeze,
    transliterate,
    typed_letters,
)


def folded(given: str, family: str) -> set[str]:
    """All folded full-name variants of a person."""
    return set(name_forms(given, family).folds)


def primary(given: str, family: str) -> str:
    return name_forms(given, family).folds[0]


# --- the architecture's example -------------------------------------------------------------


def test_petrovic_cyrillic_mrz_and_latin_fold_alike() -> None:
    given, family = parse_mrz_name("PETROVIC<<JOVAN")
    assert (given, family) == ("JOVAN", "PETROVIC")
    cyrillic = primary("Јован", "Петровић")
    assert cyrillic == "iovan petrovic"
    assert primary(given, family) == cyrillic
    assert primary("Jovan", "Petrović") == cyrillic
    assert primary("PETROVIC", "JOVAN") == cyrillic  # family name first
    assert primary("", "PETROVIC<<JOVAN") == cyrillic  # MRZ field passed whole


def test_exact_form_is_case_composition_and_order_insensitive_but_keeps_script() -> None:
    latin = exact_tokens("Jovan", "Petrović")
    assert exact_tokens("PETROVIĆ", "JOVAN") == latin
    assert exact_tokens("Jovan", "Petrovic\u0301") == latin  # c + combining acute = ć
    assert exact_tokens("Jovan", unicodedata.normalize("NFD", "Petrović")) == latin
    assert exact_tokens("Јован", "Петровић") != latin  # scripts are not converted
    assert exact_tokens("ЈОВАН", "ПЕТРОВИЋ") == exact_tokens("Јован", "Петровић")


def test_mrz_parsing() -> None:
    assert parse_mrz_name("ERIKSSON<<ANNA<MARIA<<<<<<") == ("ANNA MARIA", "ERIKSSON")
    assert parse_mrz_name("DINU<POPESCU<<ZENOBIA") == ("ZENOBIA", "DINU POPESCU")
    with pytest.raises(InvalidIdentifier):
        parse_mrz_name("<<JOVAN")


# --- national scripts and systems -----------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "latin"),
    [
        (("Ђорђе", "Стојановић"), ("Djordje", "Stojanovic")),  # Serbian đ as dj
        (("Ђорђе", "Стојановић"), ("Đorđe", "Stojanović")),
        (("Ђорђе", "Стојановић"), ("DORDE", "STOJANOVIC")),  # ICAO Ђ = D
        (("Џан", "Башић"), ("Džan", "Bašić")),
        (("Џан", "Башић"), ("DZAN", "BASIC")),
        (("Љиљана", "Његош"), ("Ljiljana", "Njegoš")),
        (("Ѓорѓи", "Ќосев"), ("Gjorgji", "Kjosev")),  # Macedonian official
        (("Ѓорѓи", "Ќосев"), ("GORGI", "KOSEV")),  # ICAO
        (("Ѕвонко", "Петрески"), ("Dzvonko", "Petreski")),
        (("Юлиан", "Каракашев"), ("Yulian", "Karakashev")),  # Bulgarian official
        (("Юлиан", "Каракашев"), ("IULIAN", "KARAKASHEV")),  # ICAO
        (("Мария", "Щерева"), ("Maria", "Shtereva")),  # -ия at the end is -ia
        (("Мария", "Щерева"), ("MARIIA", "SHCHEREVA")),  # ICAO variant stored too
        (("Цвета", "Пановска"), ("Tsveta", "Panovska")),
        (("Цвета", "Пановска"), ("Cveta", "Panovska")),
        (("Виктор", "Братухчев"), ("VIKTOR", "BRATUKHCHEV")),
    ],
)
def test_cyrillic_matches_national_and_icao_latin(
    native: tuple[str, str], latin: tuple[str, str]
) -> None:
    assert primary(*latin) in folded(*native)


@pytest.mark.parametrize(
    ("native", "latin"),
    [
        (("Βλάσης", "Καρατζαφέρης"), ("VLASIS", "KARATZAFERIS")),  # ELOT 743 = ICAO
        (("Χαραλαμπία", "Γιανναρά"), ("Charalampia", "Giannara")),
        (("Χαραλαμπία", "Γιανναρά"), ("Kharalambia", "Yiannara")),  # BGN-style
        (("Σταύρος", "Αγγελίκας"), ("Stavros", "Angelikas")),
        (("Σταύρος", "Αγγελίκας"), ("Stauros", "Aggelikas")),  # letter by letter
        (("Νεφέλη", "Μπούζα"), ("Nefeli", "Bouza")),
        (("Νεφέλη", "Μπούζα"), ("Nefeli", "Mpouza")),
        (("Δαμιανός", "Χονδρολίδης"), ("Dhamianos", "Khondrolidhis")),
        (("Υπαπαντή", "Κυργιά"), ("Ipapandi", "Kiryia")),
    ],
)
def test_greek_matches_elot_and_other_systems(
    native: tuple[str, str], latin: tuple[str, str]
) -> None:
    assert primary(*latin) in folded(*native)


def test_greek_capitals_without_accents_are_exact() -> None:
    assert exact_tokens("ΒΛΑΣΗΣ", "ΚΑΡΑΤΖΑΦΕΡΗΣ") == exact_tokens("Βλάσης", "Καρατζαφέρης")
    assert clean("Σαρρής") == clean("ΣΑΡΡΗΣ")  # final sigma


def test_turkish_dotted_and_dotless_i() -> None:
    assert clean("İHSANOĞLU") == clean("İhsanoğlu") == "ihsanoğlu"
    assert clean("SAYIN") == clean("Sayın") == "sayin"
    assert exact_tokens("MEVLÜDİYE", "AKGÜNDÜZ") == exact_tokens("Mevlüdiye", "Akgündüz")
    assert primary("Tuğrulhan", "İhsanoğlu") == primary("TUGRULHAN", "IHSANOGLU")


def test_turkish_german_style_umlauts_are_a_stored_variant() -> None:
    assert fold_token(clean("Gökay")) == ("gokai", "goekai")
    assert primary("Goekay", "Demirel") in folded("Gökay", "Demirel")
    assert primary("Mevluediye", "Akguenduez") in folded("Mevlüdiye", "Akgündüz")


def test_romanian_legacy_cedilla_equals_comma_below() -> None:
    assert clean("Niţă") == clean("Niță")
    assert clean("Nemeş") == clean("Nemeș")
    assert exact_tokens("Graţiana", "Aanei") == exact_tokens("Grațiana", "Aanei")
    assert primary("Inocențiu", "Voinea") == primary("Inocentiu", "VOINEA")


def test_hungarian_family_name_first() -> None:
    assert exact_tokens("Tóth", "József") == exact_tokens("József", "Tóth")
    assert primary("Papp", "Márta Mária") == primary("Márta Mária", "Papp")


def test_albanian_e_diaeresis_and_c_cedilla() -> None:
    assert primary("Vjollca", "Përmeti") == primary("VJOLLCA", "PERMETI")
    assert fold_token(clean("Çela")) == ("cela",)
    assert primary("Xhemal", "Gjinaj") == primary("XHEMAL", "GJINAJ")


def test_hyphen_and_space_are_the_same_separator() -> None:
    assert split_tokens(clean("Dana-Lelia")) == ["dana", "lelia"]
    assert exact_tokens("Dana-Lelia", "Niță") == exact_tokens("Dana Lelia", "Niță")
    assert split_tokens(clean("O'Neill")) == ["oneill"]


# --- what must stay apart ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Jovan", "Petrović"), ("Jovana", "Petrović")),
        (("Jovan", "Petrović"), ("Jovan", "Petković")),
        (("Márta", "Papp"), ("Márta", "Pap")),  # doubled letters are kept
        (("Lana", "Kovač"), ("Lena", "Kovač")),
        (("Anghel", "Nemeș"), ("Angel", "Nemeș")),
    ],
)
def test_different_real_names_fold_apart(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert not folded(*a) & folded(*b)


# --- building blocks -----------------------------------------------------------------------


def test_transliterate_systems() -> None:
    assert transliterate("петровић") == "petrović"
    assert transliterate("петровић", "icao") == "petrovic"
    assert transliterate("щерю") == "shteryu"
    assert transliterate("щерю", "icao") == "shcheriu"
    assert transliterate(clean("Χαραλαμπία")) == "charalampia"
    assert transliterate(clean("Χαραλαμπία"), "bgn") == "kharalambia"
    assert transliterate(clean("Σταύρος"), "letter") == "stauros"
    assert transliterate("gökay", "german") == "goekay"
    assert transliterate("jovan") == "jovan"


def test_fold_rules_are_constant_and_cover_the_systems() -> None:
    merged = {k: v for rules in FOLD_RULES for k, v in rules.items()}
    for digraph in ("sh", "ch", "zh", "kh", "ts", "dj", "gj", "y", "j"):
        assert digraph in merged
    with pytest.raises(TypeError):
        FOLD_RULES[0]["sh"] = "x"  # type: ignore[index]


def test_typed_letters_collapse_only_serbian_bulgarian_digraphs() -> None:
    assert typed_letters(clean("Павлинчо")) == typed_letters(clean("Pavlincho")) == "pavlinco"
    assert typed_letters(clean("Цицков")) == typed_letters(clean("Tsitskov")) == "cickov"
    assert typed_letters(clean("Marya")) == "marya"  # y is not merged into i here
    assert typed_letters(clean("Hadergjonaj")) == "hadergjonaj"  # Albanian gj kept


def test_deletions_keep_first_letter_and_final_vowel() -> None:
    assert deletions("jovan") == ("jvan", "joan", "jovn", "jova")
    assert deletions("renata") == ("rnata", "reata", "renta", "renaa")
    assert deletions("papp") == ("ppp", "pap")
    assert "enata" not in deletions("renata")


def test_keyboard_typos() -> None:
    assert set(KEYBOARD_NEIGHBOURS["a"]) == set("qwszx")
    assert set(KEYBOARD_NEIGHBOURS["g"]) >= set("fhtyvb")
    forms = keyboard_typos("aulona")
    assert {"aulonw", "aulons", "ailona"} <= forms  # neighbouring keys
    assert "qulona" not in forms  # first letter kept
    assert "rotari" not in keyboard_typos("rotaru")  # final vowel to vowel: a different name
    assert "rotarh" in keyboard_typos("rotaru")
    for c, near in KEYBOARD_NEIGHBOURS.items():
        for d in near:
            assert c in KEYBOARD_NEIGHBOURS[d]


def test_squeeze_and_anagram() -> None:
    assert squeeze("laszzlo") == "laszlo"
    assert squeeze("eyyup") == "eyup"
    assert anagram(("mentro", "rrahmani")) == anagram(("mentor", "rrahmani"))
    assert anagram(("anemonaiulia",)) == anagram(("anemona", "iulia"))


def test_phonetic_keeps_first_letter_and_final_vowel() -> None:
    assert phonetic("prisacaru") == phonetic("prisecaru")
    assert phonetic("rotari") != phonetic("rotaru")
    assert phonetic("pop") != phonetic("popa")
    assert phonetic("") == ""


def test_name_forms_parts() -> None:
    forms = name_forms("Zenobia-Adriana", "Dinu-Popescu")
    assert forms.whole == ("dinu popescu zenobia",)
    assert set(forms.parts) == {"dinu zenobia", "popescu zenobia"}
    assert forms.given_folded == "adriana zenobia"
    assert forms.typed == ("zenobia", "adriana", "dinu", "popescu")


@pytest.mark.parametrize("bad", ["", "  - ", "123", "<<<"])
def test_name_without_letters_is_invalid(bad: str) -> None:
    with pytest.raises(InvalidIdentifier, match="no letters"):
        name_forms(bad, bad)


def test_non_string_and_overlong_names_are_invalid() -> None:
    with pytest.raises(InvalidIdentifier):
        name_forms(None, "Petrović")  # type: ignore[arg-type]
    with pytest.raises(InvalidIdentifier, match="longer than"):
        clean("a" * 500)
