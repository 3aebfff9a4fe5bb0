"""Plates, VINs, document numbers and phone numbers in each state's own formats.

Formats are plausible rather than authoritative: they follow the visible shape of each
state's plates and documents (what an officer would type), so that canonicalization code
meets spaces, dashes, Cyrillic and Greek letters that look Latin, and both national and
international phone notations. Phone numbers use real mobile ranges so `phonenumbers`
accepts them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import MappingProxyType

from connectors.synthetic._draw import one

_DIGITS = "0123456789"
_LATIN = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q: issuers avoid them next to 1 and 0
_SERBIAN_PLATE = "ABCDEFGHIJKLMNOPRSTUVZ"  # the Latin letters of the Serbian alphabet
_TURKISH_PLATE = "ABCDEFGHIJKLMNOPRSTUVYZ"
_BG_PLATE = "АВЕКМНОРСТУХ"  # Cyrillic letters that look like Latin ones
_GR_PLATE = "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"  # Greek capitals that look like Latin ones
_BA_PLATE = "AEJKMOT"  # the same in Latin and Cyrillic

_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_VIN_YEAR = "ABCDEFGHJKLMNPRSTVWXY123456789"
_VIN_VALUES = MappingProxyType(
    {
        **{d: int(d) for d in _DIGITS},
        **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
        **dict(zip("JKLMN", range(1, 6), strict=True)),
        "P": 7,
        "R": 9,
        **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
    }
)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_WMI = (
    "WVW",
    "WV2",
    "WBA",
    "WDB",
    "WDD",
    "WAU",
    "VF1",
    "VF3",
    "VF7",
    "ZFA",
    "UU1",
    "TMB",
    "VSS",
    "WF0",
    "W0L",
    "JTD",
    "KMH",
    "KNA",
    "SAL",
    "YV1",
    "NMT",
    "NM0",
    "SJN",
    "VNK",
    "TMA",
    "U5Y",
    "ZAR",
    "JMZ",
    "JHM",
    "WMW",
    "VR3",
)

_RS_AREAS = (
    "BG",
    "BG",
    "BG",
    "NS",
    "NS",
    "NI",
    "KG",
    "SU",
    "ZR",
    "SM",
    "SD",
    "PA",
    "VA",
    "UE",
    "LE",
    "VR",
    "JA",
    "KŠ",
    "ZA",
    "SO",
    "KI",
    "VŠ",
    "LO",
    "NP",
    "PI",
    "PK",
    "BO",
    "ČA",
    "ŠA",
    "ĆU",
    "KV",
    "PO",
    "AR",
    "GM",
    "RU",
    "IN",
    "BP",
    "VB",
    "BČ",
    "SA",
)
_BG_AREAS = (
    "С",
    "СА",
    "СВ",
    "СА",
    "СВ",
    "А",
    "В",
    "ВТ",
    "ВН",
    "ВР",
    "ЕВ",
    "ТХ",
    "К",
    "КН",
    "ОВ",
    "М",
    "РА",
    "РК",
    "ЕН",
    "РВ",
    "РР",
    "Р",
    "СС",
    "СН",
    "СМ",
    "СО",
    "СТ",
    "Т",
    "Х",
    "Н",
    "У",
    "Е",
)
_RO_COUNTIES = (
    "AB",
    "AR",
    "AG",
    "BC",
    "BH",
    "BN",
    "BT",
    "BV",
    "BR",
    "BZ",
    "CS",
    "CL",
    "CJ",
    "CT",
    "CV",
    "DB",
    "DJ",
    "GL",
    "GR",
    "GJ",
    "HR",
    "HD",
    "IL",
    "IS",
    "IF",
    "MM",
    "MH",
    "MS",
    "NT",
    "OT",
    "PH",
    "SM",
    "SJ",
    "SB",
    "SV",
    "TR",
    "TM",
    "TL",
    "VS",
    "VL",
    "VN",
)
_RO_ID_SERIES = (
    "RX",
    "RD",
    "RT",
    "RR",
    "RK",
    "XB",
    "XT",
    "XR",
    "KX",
    "KZ",
    "MX",
    "MZ",
    "IZ",
    "TZ",
    "SB",
    "BV",
    "CT",
    "DX",
    "DP",
    "GL",
    "PH",
    "AR",
    "HD",
    "MM",
    "NT",
    "SV",
    "VN",
    "ZC",
)
_MK_AREAS = (
    "SK",
    "SK",
    "SK",
    "BT",
    "KU",
    "OH",
    "PP",
    "ST",
    "TE",
    "VE",
    "GV",
    "KI",
    "KO",
    "KP",
    "KR",
    "KS",
    "GE",
    "DE",
    "SR",
    "RA",
    "NE",
    "VI",
    "KA",
    "DB",
    "BE",
    "RE",
)
_ME_AREAS = (
    "PG",
    "PG",
    "PG",
    "NK",
    "BR",
    "BD",
    "BA",
    "BP",
    "CT",
    "DG",
    "HN",
    "KO",
    "KT",
    "PV",
    "PL",
    "PŽ",
    "RO",
    "TV",
    "UL",
    "ŽB",
    "AN",
    "GS",
    "ŠN",
)


def _fill(rng: random.Random, pattern: str, letters: str = _LATIN) -> str:
    """Expand '#' to a digit and '@' to one of `letters`; keep everything else."""
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(_DIGITS[int(rng.random() * 10)])
        elif ch == "@":
            out.append(one(rng, letters))
        else:
            out.append(ch)
    return "".join(out)


def vin_check_digit(vin: str) -> str:
    """ISO 3779 / FMVSS 565 check character (position 9) of a 17-character VIN."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin: str) -> str:
    """Return `vin` with position 9 set to its check character."""
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def vin(rng: random.Random) -> str:
    """A 17-character VIN with a real WMI, a model-year code and a valid check digit."""
    body = (
        one(rng, _WMI)
        + "".join(one(rng, _VIN_CHARS) for _ in range(5))
        + "0"
        + one(rng, _VIN_YEAR)
        + one(rng, _VIN_CHARS)
        + f"{rng.randrange(1_000_000):06d}"
    )
    return with_check_digit(body)


def _plate_rs(rng: random.Random) -> str:
    digits = "###" if rng.random() < 0.4 else "####"
    return f"{one(rng, _RS_AREAS)} {_fill(rng, digits)}-{_fill(rng, '@@', _SERBIAN_PLATE)}"


def _plate_bg(rng: random.Random) -> str:
    return f"{one(rng, _BG_AREAS)} {_fill(rng, '####')} {_fill(rng, '@@', _BG_PLATE)}"


def _plate_gr(rng: random.Random) -> str:
    return f"{_fill(rng, '@@@', _GR_PLATE)}-{rng.randint(1000, 9999)}"


def _plate_tr(rng: random.Random) -> str:
    pattern = one(rng, ("@ ####", "@@ ###", "@@ ####", "@@@ ##", "@@@ ###", "@@@ ###"))
    return f"{rng.randint(1, 81):02d} {_fill(rng, pattern, _TURKISH_PLATE)}"


def _plate_ro(rng: random.Random) -> str:
    letters = _LATIN.replace("W", "")
    if rng.random() < 0.3:
        return f"B {_fill(rng, '###' if rng.random() < 0.5 else '##')} {_fill(rng, '@@@', letters)}"
    return f"{one(rng, _RO_COUNTIES)} {_fill(rng, '##')} {_fill(rng, '@@@', letters)}"


def _plate_hu(rng: random.Random) -> str:
    if rng.random() < 0.15:  # the 2022 format, issued from "AA AA-001" onwards
        return f"A{one(rng, 'ABCD')} {_fill(rng, '@@-###')}"
    return _fill(rng, "@@@-###")


def _plate_al(rng: random.Random) -> str:
    return _fill(rng, "@@ ### @@")


def _plate_mk(rng: random.Random) -> str:
    return f"{one(rng, _MK_AREAS)} {_fill(rng, '#### @@')}"


def _plate_ba(rng: random.Random) -> str:
    return _fill(rng, "@##-@-###", _BA_PLATE)


def _plate_me(rng: random.Random) -> str:
    return f"{one(rng, _ME_AREAS)} {_fill(rng, '@@###')}"


def _plate_md(rng: random.Random) -> str:
    return _fill(rng, "@@@ ###")


PLATES: MappingProxyType[str, Callable[[random.Random], str]] = MappingProxyType(
    {
        "AL": _plate_al,
        "BA": _plate_ba,
        "BG": _plate_bg,
        "GR": _plate_gr,
        "HU": _plate_hu,
        "MD": _plate_md,
        "ME": _plate_me,
        "MK": _plate_mk,
        "RO": _plate_ro,
        "RS": _plate_rs,
        "TR": _plate_tr,
    }
)

# Per state: passport, id_card, driving_licence, residence_permit number shapes.
# '#' digit, '@' Latin letter, '%' Greek capital; "{ro}" a Romanian ID-card series.
_DOCUMENTS: MappingProxyType[str, MappingProxyType[str, tuple[str, ...]]] = MappingProxyType(
    {
        country: MappingProxyType(
            dict(
                zip(
                    ("passport", "id_card", "driving_licence", "residence_permit"),
                    shapes,
                    strict=True,
                )
            )
        )
        for country, shapes in {
            "AL": (
                ("B@#######", "@@#######"),
                ("I########@", "#########"),
                ("@######",),
                ("RP#######",),
            ),
            "BA": (("@#######",), ("##@@@####",), ("@@######",), ("#@@######",)),
            "BG": (
                ("3########", "38#######", "39#######"),
                ("64#######", "6########"),
                ("28#######",),
                ("9########",),
            ),
            "GR": (
                ("@@#######",),
                ("%% ######", "%%######", "%-######"),
                ("#########",),
                ("@@#######",),
            ),
            "HU": (("@@#######",), ("######@@",), ("@@######",), ("@@#######",)),
            "MD": (("@@#######",), ("@########",), ("@@######",), ("@@#######",)),
            "ME": (("@@#######",), ("#########",), ("@@######",), ("###@@####",)),
            "MK": (("M#######", "A#######"), ("@######",), ("@@######",), ("@#######",)),
            "RO": (
                ("05#######", "04#######"),
                ("{ro} ######", "{ro}######"),
                ("#########@@",),
                ("@@#######",),
            ),
            "RS": (
                ("0########", "01#######"),
                ("00#######", "#########"),
                ("#######",),
                ("@########",),
            ),
            "TR": (
                ("U########", "S########", "Z########"),
                ("@##@#####",),
                ("######",),
                ("99#######",),
            ),
        }.items()
    }
)


def document_number(rng: random.Random, country: str, doc_type: str) -> str:
    """A number shaped like `country`'s documents of `doc_type`."""
    pattern = one(rng, _DOCUMENTS[country][doc_type])
    if "{ro}" in pattern:
        pattern = pattern.replace("{ro}", one(rng, _RO_ID_SERIES))
    number = _fill(rng, pattern)
    if "%" in number:
        number = "".join(one(rng, _GR_PLATE) if c == "%" else c for c in number)
    return number


# Per state: country code, trunk prefix, mobile ranges (leading digits of the national
# significant number), length of that number, and its national / international groupings.
_PHONES = MappingProxyType(
    {
        "AL": (
            "355",
            "0",
            (
                "672",
                "682",
                "684",
                "686",
                "688",
                "692",
                "693",
                "694",
                "695",
                "696",
                "697",
                "698",
                "699",
            ),
            9,
            (2, 3, 4),
            (2, 3, 4),
        ),
        "BA": ("387", "0", ("61", "62", "63", "65", "66"), 8, (2, 3, 3), (2, 3, 3)),
        "BG": ("359", "0", ("87", "88", "89", "98"), 9, (3, 3, 3), (2, 3, 4)),
        "GR": (
            "30",
            "",
            ("690", "693", "694", "695", "697", "698", "699"),
            10,
            (3, 3, 4),
            (3, 3, 4),
        ),
        "HU": ("36", "06", ("20", "30", "31", "50", "70"), 9, (2, 3, 4), (2, 3, 4)),
        "MD": ("373", "0", ("60", "67", "68", "69", "76", "78", "79"), 8, (2, 3, 3), (2, 3, 3)),
        "ME": ("382", "0", ("67", "68", "69"), 8, (2, 3, 3), (2, 3, 3)),
        "MK": ("389", "0", ("70", "71", "72", "75", "76", "77", "78"), 8, (2, 3, 3), (2, 3, 3)),
        "RO": ("40", "0", ("72", "73", "74", "75", "76", "77", "78"), 9, (3, 3, 3), (3, 3, 3)),
        "RS": ("381", "0", ("60", "61", "62", "63", "64", "65", "66", "69"), 9, (2, 3, 4), (2, 7)),
        "TR": ("90", "0", ("50", "53", "54", "55"), 10, (3, 3, 2, 2), (3, 3, 2, 2)),
    }
)


def _group(digits: str, sizes: tuple[int, ...]) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(digits[start : start + size])
        start += size
    if start < len(digits):
        parts[-1] += digits[start:]
    return " ".join(parts)


def phone_key(country: str, number: str) -> str:
    """E.164 form of a number written in `country`'s national or international notation."""
    digits = "".join(c for c in number if c.isdigit())
    if number.lstrip().startswith("+"):
        return "+" + digits
    code, trunk = _PHONES[country][:2]
    return f"+{code}{digits.removeprefix(trunk)}"


def compact(value: str) -> str:
    """A plate or document number without the spaces and dashes people type differently."""
    return value.replace(" ", "").replace("-", "")


def phone(rng: random.Random, country: str) -> str:
    """A mobile number as the state writes it.

    Mostly national notation with the trunk prefix and the usual spacing, some written
    without spaces, some in international notation; Serbian numbers come in both the
    six- and seven-digit subscriber lengths.
    """
    code, trunk, ranges, length, national, international = _PHONES[country]
    prefix = one(rng, ranges)
    if country == "RO" and prefix == "78":
        prefix += one(rng, "0345678")
    if country == "RS" and rng.random() < 0.3:
        length -= 1
    nsn = prefix + "".join(one(rng, _DIGITS) for _ in range(length - len(prefix)))
    style = rng.random()
    if style < 0.70:
        grouped = _group(nsn, national)
        if trunk == "06":
            return f"06 {grouped}"
        head, _, rest = grouped.partition(" ")
        return f"{trunk}{head} {rest}"
    if style < 0.80:
        return f"{trunk}{nsn}"
    return f"+{code} {_group(nsn, international)}"
