"""Person names as each state's registry writes them.

One builder per state, because the customs differ in ways that matter to matching: script
(Serbian records mix Cyrillic and Latin; Montenegrin and Bosnian ones are mostly Latin),
feminine family-name forms (Bulgarian and Macedonian -ова/-ска, Greek genitive, Russian-style
-ova in Moldova), second given names, Albanian definite and indefinite forms, and Romanian
records typed on old systems with cedilla ş/ţ instead of comma-below ș/ț.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import MappingProxyType

from connectors.synthetic import _names as n
from connectors.synthetic._draw import one

NameBuilder = Callable[[random.Random, str], tuple[str, str]]

_SR_CYR_TO_LAT = str.maketrans(
    {
        "А": "A",
        "Б": "B",
        "В": "V",
        "Г": "G",
        "Д": "D",
        "Ђ": "Đ",
        "Е": "E",
        "Ж": "Ž",
        "З": "Z",
        "И": "I",
        "Ј": "J",
        "К": "K",
        "Л": "L",
        "Љ": "Lj",
        "М": "M",
        "Н": "N",
        "Њ": "Nj",
        "О": "O",
        "П": "P",
        "Р": "R",
        "С": "S",
        "Т": "T",
        "Ћ": "Ć",
        "У": "U",
        "Ф": "F",
        "Х": "H",
        "Ц": "C",
        "Ч": "Č",
        "Џ": "Dž",
        "Ш": "Š",
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "ђ": "đ",
        "е": "e",
        "ж": "ž",
        "з": "z",
        "и": "i",
        "ј": "j",
        "к": "k",
        "л": "l",
        "љ": "lj",
        "м": "m",
        "н": "n",
        "њ": "nj",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "ћ": "ć",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "c",
        "ч": "č",
        "џ": "dž",
        "ш": "š",
    }
)
_SR_LAT_DIGRAPHS = (
    ("DŽ", "Џ"),
    ("Dž", "Џ"),
    ("dž", "џ"),
    ("LJ", "Љ"),
    ("Lj", "Љ"),
    ("lj", "љ"),
    ("NJ", "Њ"),
    ("Nj", "Њ"),
    ("nj", "њ"),
)
_SR_LAT_TO_CYR = str.maketrans(
    {
        lat: cyr
        for cyr, lat in (
            ("А", "A"),
            ("Б", "B"),
            ("В", "V"),
            ("Г", "G"),
            ("Д", "D"),
            ("Ђ", "Đ"),
            ("Е", "E"),
            ("Ж", "Ž"),
            ("З", "Z"),
            ("И", "I"),
            ("Ј", "J"),
            ("К", "K"),
            ("Л", "L"),
            ("М", "M"),
            ("Н", "N"),
            ("О", "O"),
            ("П", "P"),
            ("Р", "R"),
            ("С", "S"),
            ("Т", "T"),
            ("Ћ", "Ć"),
            ("У", "U"),
            ("Ф", "F"),
            ("Х", "H"),
            ("Ц", "C"),
            ("Ч", "Č"),
            ("Ш", "Š"),
            ("а", "a"),
            ("б", "b"),
            ("в", "v"),
            ("г", "g"),
            ("д", "d"),
            ("ђ", "đ"),
            ("е", "e"),
            ("ж", "ž"),
            ("з", "z"),
            ("и", "i"),
            ("ј", "j"),
            ("к", "k"),
            ("л", "l"),
            ("м", "m"),
            ("н", "n"),
            ("о", "o"),
            ("п", "p"),
            ("р", "r"),
            ("с", "s"),
            ("т", "t"),
            ("ћ", "ć"),
            ("у", "u"),
            ("ф", "f"),
            ("х", "h"),
            ("ц", "c"),
            ("ч", "č"),
            ("ш", "š"),
        )
    }
)
_RO_LEGACY_CEDILLA = str.maketrans({"ș": "ş", "ț": "ţ", "Ș": "Ş", "Ț": "Ţ"})
_AL_INDEFINITE = MappingProxyType(dict(n.AL_FAMILY_INDEFINITE))


def serbian_latin(text: str) -> str:
    """Serbian Cyrillic to the official Latin alphabet (gajica); one-to-one, so lossless."""
    return text.translate(_SR_CYR_TO_LAT)


def serbian_cyrillic(text: str) -> str:
    """Serbian/Montenegrin/Bosnian Latin to Cyrillic, digraphs (lj, nj, dž) first."""
    for latin, cyrillic in _SR_LAT_DIGRAPHS:
        text = text.replace(latin, cyrillic)
    return text.translate(_SR_LAT_TO_CYR)


def slavic_feminine(family: str) -> str:
    """Bulgarian and Macedonian feminine family name: -ов/-ев/-ин take -а, -ски becomes -ска."""
    if family.endswith("ски"):
        return family[:-1] + "а"
    if family.endswith(("ов", "ев", "ин")):
        return family + "а"
    return family


def russian_feminine(family: str) -> str:
    """Russian-origin family names as Moldovan records romanize them: Ivanov -> Ivanova."""
    if family.endswith(("ov", "ev", "in")):
        return family + "a"
    return family


def greek_feminine(family: str) -> str:
    """Greek women's family names are the genitive of the masculine form.

    The accent moves forward in -όπουλος (Παπαδόπουλος -> Παπαδοπούλου) because the ending
    becomes long; the other patterns keep it where it is. Genitive-form names (Γεωργίου) are
    the same for both sexes.
    """
    if family.endswith("όπουλος"):
        return family[: -len("όπουλος")] + "οπούλου"
    for masculine, feminine in (
        ("ός", "ού"),
        ("ος", "ου"),
        ("ής", "ή"),
        ("ης", "η"),
        ("άς", "ά"),
        ("ας", "α"),
    ):
        if family.endswith(masculine):
            return family[: -len(masculine)] + feminine
    return family


def _given(
    rng: random.Random,
    male: tuple[str, ...],
    female: tuple[str, ...],
    sex: str,
    *,
    second: float,
    joiner: str = " ",
) -> str:
    """A given name, sometimes two (rate `second`), joined as the state writes them."""
    pool = male if sex == "M" else female
    first = one(rng, pool)
    if rng.random() < second:
        other = one(rng, pool)
        if other != first:
            return f"{first}{joiner}{other}"
    return first


def _rs(rng: random.Random, sex: str) -> tuple[str, str]:
    given = _given(rng, n.RS_MALE, n.RS_FEMALE, sex, second=0.02)
    family = one(rng, n.RS_FAMILY)
    if rng.random() < 0.15:
        return serbian_latin(given), serbian_latin(family)
    return given, family


def _latin_with_cyrillic(
    male: tuple[str, ...],
    female: tuple[str, ...],
    family_names: tuple[str, ...],
    cyrillic_rate: float,
) -> NameBuilder:
    def build(rng: random.Random, sex: str) -> tuple[str, str]:
        given = _given(rng, male, female, sex, second=0.02)
        family = one(rng, family_names)
        if rng.random() < cyrillic_rate:
            return serbian_cyrillic(given), serbian_cyrillic(family)
        return given, family

    return build


def _bg(rng: random.Random, sex: str) -> tuple[str, str]:
    given = _given(rng, n.BG_MALE, n.BG_FEMALE, sex, second=0.02)
    family = one(rng, n.BG_FAMILY)
    return given, family if sex == "M" else slavic_feminine(family)


def _mk(rng: random.Random, sex: str) -> tuple[str, str]:
    given = _given(rng, n.MK_MALE, n.MK_FEMALE, sex, second=0.02)
    family = one(rng, n.MK_FAMILY)
    return given, family if sex == "M" else slavic_feminine(family)


def _gr(rng: random.Random, sex: str) -> tuple[str, str]:
    given = _given(rng, n.GR_MALE, n.GR_FEMALE, sex, second=0.03)
    family = one(rng, n.GR_FAMILY)
    return given, family if sex == "M" else greek_feminine(family)


def _hu(rng: random.Random, sex: str) -> tuple[str, str]:
    return _given(rng, n.HU_MALE, n.HU_FEMALE, sex, second=0.20), one(rng, n.HU_FAMILY)


def _ro(rng: random.Random, sex: str) -> tuple[str, str]:
    joiner = "-" if rng.random() < 0.4 else " "
    given = _given(rng, n.RO_MALE, n.RO_FEMALE, sex, second=0.15, joiner=joiner)
    family = one(rng, n.RO_FAMILY)
    if rng.random() < 0.02:
        other = one(rng, n.RO_FAMILY)
        if other != family:
            family = f"{family}-{other}"
    legacy = (given + family).translate(_RO_LEGACY_CEDILLA)
    if legacy != given + family and rng.random() < 0.2:
        return given.translate(_RO_LEGACY_CEDILLA), family.translate(_RO_LEGACY_CEDILLA)
    return given, family


def _md(rng: random.Random, sex: str) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.75:
        return _given(rng, n.MD_MALE, n.MD_FEMALE, sex, second=0.06), one(rng, n.MD_FAMILY)
    given = _given(rng, n.MD_RU_MALE, n.MD_RU_FEMALE, sex, second=0.0)
    if roll < 0.90:
        return given, one(rng, n.MD_FAMILY)
    family = one(rng, n.MD_RU_FAMILY)
    return given, family if sex == "M" else russian_feminine(family)


def _tr(rng: random.Random, sex: str) -> tuple[str, str]:
    return _given(rng, n.TR_MALE, n.TR_FEMALE, sex, second=0.12), one(rng, n.TR_FAMILY)


def _al(rng: random.Random, sex: str) -> tuple[str, str]:
    given = _given(rng, n.AL_MALE, n.AL_FEMALE, sex, second=0.03)
    family = one(rng, n.AL_FAMILY)
    if family in _AL_INDEFINITE and rng.random() < 0.25:
        family = _AL_INDEFINITE[family]
    if sex == "M" and " " not in given and rng.random() < 0.05:
        given = albanian_definite(given)
    return given, family


def albanian_definite(given: str) -> str:
    """Definite form of a man's name, as it appears in running text copied into a record."""
    if given.endswith("ë"):
        return given[:-1] + "a"
    if given[-1] in "aeiouy":
        return given
    return given + "i"


NAME_BUILDERS: MappingProxyType[str, NameBuilder] = MappingProxyType(
    {
        "AL": _al,
        "BA": _latin_with_cyrillic(n.BA_MALE, n.BA_FEMALE, n.BA_FAMILY, 0.10),
        "BG": _bg,
        "GR": _gr,
        "HU": _hu,
        "MD": _md,
        "ME": _latin_with_cyrillic(n.ME_MALE, n.ME_FEMALE, n.ME_FAMILY, 0.10),
        "MK": _mk,
        "RO": _ro,
        "RS": _rs,
        "TR": _tr,
    }
)
