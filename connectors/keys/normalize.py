"""Name normalization for blind keys: pure functions, no state beyond constant tables and caches.

Two normal forms are produced for a person's name, and keys are built on both:

*Exact form* (:func:`exact_tokens`): the name as written, made insensitive only to what is not a
spelling difference at all: Unicode composition (NFKC, so decomposed ``c`` + U+030C equals
``č``), letter case including the Turkish dotted/dotless i (``İ``/``I``/``ı``/``i`` are one
letter here, because upper-casing in one locale and lower-casing in another must not change the
name), the Romanian legacy cedilla letters ``ş ţ`` versus the correct comma-below ``ș ț``, Greek
accents (Greek capitals are written without tonos, so ``ΒΛΑΣΗΣ`` equals ``Βλάσης``), punctuation
and hyphens (``Dana-Lelia`` equals ``Dana Lelia``) and token order (``Petrović Jovan`` equals
``Jovan Petrović``: Hungarian and many registers put the family name first, and the boundary
between given and family name is not reliable across states). Scripts are *not* converted.

*Folded form* (:func:`fold_token`): a lower-case ASCII skeleton on which the same name written
in any script or transliteration system agrees. It is built in three steps:

1. Script conversion with explicit national tables where the national system matters:
   Serbian/Montenegrin/Bosnian/Macedonian/Bulgarian Cyrillic (one merged table: the letters the
   languages share differ only by diacritic versus digraph, ``ш`` = ``š`` = ``sh``, which step 3
   folds anyway; ``ђ ћ џ љ њ ј ѓ ќ ѕ щ ъ ь ю я й`` follow their national systems, including the
   Bulgarian rule ``-ия`` → ``-ia`` at the end of a word) and Greek ELOT 743 (the system Greek
   passports use, MRZ included; ICAO Doc 9303 tabulates only Latin, Cyrillic and Arabic).
   Records also get the other systems' renderings as *variants* (ICAO Doc 9303 for Cyrillic;
   BGN/PCGN-style and letter-by-letter for Greek; German-style ``ü``→``ue`` for Turkish and
   Hungarian), because those systems disagree on letters the fold cannot reconcile (``щ`` =
   ``sht``/``shch``, ``χ`` = ``ch``/``kh``, ``γι`` = ``gi``/``yi``).
2. Removal of all remaining diacritics and any other script with ``anyascii`` (a maintained,
   table-driven Unicode→ASCII transliterator covering every script; we rely on it for the long
   tail: Latin diacritics ``ë ç ș ő ğ``, and anything outside the region, e.g. Armenian or
   Arabic names in a register).
3. A small set of rewrites that make transliteration systems agree (see :data:`FOLD_RULES`):
   ``sh ch zh kh dh ph ts tz dj gj kj`` collapse to one letter, ``y j`` become ``i``, ``x``
   becomes ``ks``, ``w q`` become ``v k``, ``mb nd`` become ``mp nt`` (Greek ``μπ ντ``). They are
   applied to both sides alike, so they can only merge names whose spellings differ by a
   transliteration choice. Doubled letters are kept: ``Papp`` and ``Pap`` are different
   Hungarian names.

*Typed letters* (:func:`typed_letters`): the national Latin rendering as plain ASCII with only
the Serbian/Bulgarian digraph differences collapsed. Typo forms (:func:`deletions`,
:func:`keyboard_typos`, :func:`squeeze`, :func:`anagram`) are computed on these, because a typist
slips on the letters typed, not on the skeleton. A *phonetic code* (:func:`phonetic`) is computed
on folded tokens. Which of these a key uses, and why, is documented in
:mod:`connectors.keys.scheme`; :func:`name_forms` computes them all for one person.

Libraries: ``anyascii`` for step 2 only (its Cyrillic and Greek output follows no national
system - it renders ``ου`` as ``oy`` and ``ъ`` as an apostrophe - so the national tables come
first); ``jellyfish`` for the Match Rating Approach phonetic codex (a maintained C/Rust
implementation of the standard name-matching codes); ``unicodedata`` for composition and accent
stripping. Small, explicit tables are kept here rather than in a transliteration package
because the national systems (Serbian ``ђ``→``đ``, Macedonian ``ѓ``→``gj``, Bulgarian ``щ``→``sht``
and ``-ия``→``-ia``, ELOT 743 digraph rules) are exactly what has to be right and reviewable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import jellyfish
from anyascii import anyascii

from connectors.keys.errors import InvalidIdentifier

__all__ = [
    "FOLD_RULES",
    "KEYBOARD_NEIGHBOURS",
    "MAX_FAMILY_PARTS",
    "MAX_NAME_LENGTH",
    "TYPED_RULES",
    "VOWELS",
    "NameForms",
    "anagram",
    "clean",
    "clear_caches",
    "deletions",
    "exact_tokens",
    "fold_token",
    "keyboard_typos",
    "name_forms",
    "parse_mrz_name",
    "phonetic",
    "split_tokens",
    "squeeze",
    "transliterate",
    "typed_letters",
]

# --------------------------------------------------------------------------------------------
# Step 0: cleaning and tokenization
# --------------------------------------------------------------------------------------------

#: Characters that separate name tokens. ``<`` is the MRZ filler, so ``PETROVIC<<JOVAN`` splits;
#: ``|`` separates fields in key values, so it must never survive inside a token.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015<,;/_+.|]+")
#: Characters deleted inside a token (apostrophes in O'Neill, D'Amico; digits never belong).
_DROP = re.compile(r"[\u0027\u2018\u2019\u02bc\u02b9\u0060\u00b4\"0-9()\[\]{}*#?!]")

#: Case and letter folding for the exact form. The Turkish dotted capital ``İ`` lower-cases to
#: ``i`` + combining dot in Python; dotless ``ı`` is Turkish lower-case ``I``. Legacy Romanian
#: cedilla letters become the correct comma-below forms. Applied after NFKC.
_EXACT_TABLE = str.maketrans(
    {
        "İ": "i",
        "ı": "i",
        "I": "i",
        "Ş": "ș",
        "ş": "ș",
        "Ţ": "ț",
        "ţ": "ț",
        "ς": "σ",
    }
)
_COMBINING_GREEK_ACCENTS = re.compile("[\u0301\u0300\u0342\u0313\u0314\u0345]")
_HAS_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")

#: Names longer than this are not names; refusing them bounds the work per record.
MAX_NAME_LENGTH = 200


def clean(text: str) -> str:
    """Return ``text`` in NFKC, lower case, Turkish-i and cedilla insensitive (see module doc).

    Raises :class:`InvalidIdentifier` for non-strings and overlong input, because a register
    that hands us those has a bug we should surface rather than key around.
    """
    if not isinstance(text, str):
        raise InvalidIdentifier("name must be a string")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidIdentifier(f"name longer than {MAX_NAME_LENGTH} characters")
    text = unicodedata.normalize("NFKC", text).translate(_EXACT_TABLE).casefold()
    if _HAS_GREEK.search(text):
        # Greek capitals carry no accents, so accents cannot distinguish Greek names.
        text = unicodedata.normalize(
            "NFC", _COMBINING_GREEK_ACCENTS.sub("", unicodedata.normalize("NFD", text))
        )
    return text


def split_tokens(text: str) -> list[str]:
    """Split an already :func:`clean`-ed name into tokens on spaces, hyphens, MRZ ``<``, etc."""
    out = []
    for raw in _SEPARATORS.split(text):
        tok = _DROP.sub("", raw)
        if tok:
            out.append(tok)
    return out


def exact_tokens(*parts: str) -> tuple[str, ...]:
    """Exact-form tokens of all name parts, sorted so that name order does not matter."""
    toks: list[str] = []
    for part in parts:
        toks.extend(split_tokens(clean(part)))
    return tuple(sorted(toks))


def parse_mrz_name(field: str) -> tuple[str, str]:
    """Split an MRZ name field ``FAMILY<<GIVEN<NAMES`` into ``(given, family)``.

    ICAO Doc 9303 writes the primary identifier (family name) first, ``<<`` between the two, and
    ``<`` between words. Returns plain space-separated parts, e.g. ``("JOVAN", "PETROVIC")``.
    """
    if not isinstance(field, str):
        raise InvalidIdentifier("MRZ name must be a string")
    field = field.strip().rstrip("<")
    family, _, given = field.partition("<<")
    family = " ".join(t for t in family.split("<") if t)
    given = " ".join(t for t in given.split("<") if t)
    if not family:
        raise InvalidIdentifier("MRZ name has no primary identifier")
    return given, family


# --------------------------------------------------------------------------------------------
# Step 1: script conversion tables
# --------------------------------------------------------------------------------------------

#: Cyrillic → national Latin (lower case). Serbian/Montenegrin/Bosnian for ђ ћ џ љ њ ј and the
#: shared letters; Macedonian official for ѓ ќ ѕ; Bulgarian official (2009 law, "streamlined
#: system") for щ ъ ь ю я й; the rest of the Cyrillic alphabets by their usual romanization.
_CYR_NATIONAL: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "ѓ": "gj", "е": "e",
    "ж": "ž", "з": "z", "ѕ": "dz", "и": "i", "ј": "j", "й": "y", "к": "k", "ќ": "kj",
    "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č",
    "џ": "dž", "ш": "š", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya", "ы": "y",
    "э": "e", "ё": "yo", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u",
}  # fmt: skip

#: Cyrillic → ICAO Doc 9303 (Part 3, transliteration of Cyrillic characters), lower case.
#: Only letters whose folded result differs from the national table matter; the full table is
#: kept so :func:`transliterate` can render MRZ-style text.
_CYR_ICAO: dict[str, str] = {
    **_CYR_NATIONAL,
    "ђ": "d", "ѓ": "g", "ж": "zh", "ѕ": "dz", "й": "i", "ќ": "k", "ћ": "c", "х": "kh",
    "ц": "ts", "ч": "ch", "џ": "dz", "ш": "sh", "щ": "shch", "ъ": "ie", "ь": "", "ю": "iu",
    "я": "ia", "ы": "y", "ё": "e", "є": "ie", "ї": "i",
}  # fmt: skip

_CYR_NATIONAL_TABLE = str.maketrans(_CYR_NATIONAL)
_CYR_ICAO_TABLE = str.maketrans(_CYR_ICAO)
#: Bulgarian official system: final "-ия" is "-ia", not "-iya" (Мария → Maria).
_BG_FINAL_IYA = re.compile("ия$")

_GREEK_BASE: dict[str, str] = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
    "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
    "ω": "o", "ϊ": "i", "ϋ": "y", "ΐ": "i", "ΰ": "y",
}  # fmt: skip

# Greek systems differ in digraphs and a few letters:
#   "elot":   ELOT 743 / ISO 843 type 2 (Greek passports, including the MRZ).
#   "bgn":    BGN/PCGN 1962 and common English practice: δ=dh, χ=kh, υ=i, γ before e/i = y,
#             μπ/ντ medial = mb/nd.
#   "letter": letter by letter: αυ=au, ευ=eu, γγ=gg, γκ=gk, μπ=mp, ντ=nt.
_GREEK_SYSTEMS = ("elot", "bgn", "letter")
_GREEK_LETTERS: dict[str, dict[str, str]] = {
    "elot": _GREEK_BASE,
    "bgn": {**_GREEK_BASE, "δ": "dh", "χ": "kh", "υ": "i", "ϋ": "i", "ΰ": "i"},
    "letter": _GREEK_BASE,
}
#: Consonant clusters: (rendering at the start of a word, rendering inside a word).
_GREEK_CLUSTERS: dict[str, dict[str, tuple[str, str]]] = {
    "elot": {"μπ": ("b", "mp"), "ντ": ("d", "nt"), "γκ": ("g", "gk"), "γγ": ("ng", "ng"),
             "γξ": ("nx", "nx"), "γχ": ("nch", "nch")},
    "bgn": {"μπ": ("b", "mb"), "ντ": ("d", "nd"), "γκ": ("g", "ng"), "γγ": ("ng", "ng"),
            "γξ": ("nx", "nx"), "γχ": ("nkh", "nkh")},
    "letter": {"μπ": ("mp", "mp"), "ντ": ("nt", "nt")},
}  # fmt: skip
#: αυ ευ ηυ: "letter" writes the vowels; the others write v, or f before a voiceless
#: consonant or at the end of the word.
_GREEK_U_DIPHTHONGS = {"αυ": "a", "ευ": "e", "ηυ": "i"}
_GREEK_VOICELESS = frozenset("θκξπσςτφχψ")
#: Letters and digraphs that sound /e/ or /i/: BGN writes γ before them as y (Γιάννης = Yiannis).
_GREEK_FRONT = frozenset("ειηυϊϋ")


def _greek_to_latin(word: str, system: str) -> str:
    """Transliterate one lower-case, accent-free Greek word under ``system`` (see above)."""
    letters = _GREEK_LETTERS[system]
    clusters = _GREEK_CLUSTERS[system]
    out: list[str] = []
    i = 0
    n = len(word)
    while i < n:
        pair = word[i : i + 2]
        after = word[i + 2 : i + 3]
        if pair in _GREEK_U_DIPHTHONGS:
            vowel = _GREEK_U_DIPHTHONGS[pair]
            if system == "letter":
                out.append(vowel + ("y" if pair == "ηυ" else "u"))
            else:
                out.append(vowel + ("f" if not after or after in _GREEK_VOICELESS else "v"))
            i += 2
        elif pair == "ου":
            out.append("ou")
            i += 2
        elif pair in clusters:
            out.append(clusters[pair][0 if i == 0 else 1])
            i += 2
        elif (
            system == "bgn"
            and word[i] == "γ"
            and (pair[1:] in _GREEK_FRONT or word[i + 1 : i + 3] in ("αι", "οι"))
        ):
            out.append("y")
            i += 1
        else:
            out.append(letters.get(word[i], word[i]))
            i += 1
    return "".join(out)


_GERMAN_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ő": "oe", "ű": "ue"})
_HAS_UMLAUT = re.compile("[äöüőű]")
_HAS_CYRILLIC = re.compile("[\u0400-\u04ff]")


def transliterate(token: str, system: str = "national") -> str:
    """Render one :func:`clean`-ed token in Latin script under a named system.

    ``system`` is ``"national"`` (Serbian/Macedonian/Bulgarian official Latin for Cyrillic,
    ELOT 743 for Greek), ``"icao"`` (ICAO Doc 9303 for Cyrillic; ELOT 743, what Greek
    passports print in the MRZ, for Greek), ``"bgn"`` or ``"letter"`` (Greek only; see
    ``_GREEK_SYSTEMS``) or ``"german"`` (umlauts as ``ae oe ue``, the ICAO alternative and
    common Turkish practice abroad). Letters the system does not cover pass through unchanged.
    Diacritics are kept; :func:`fold_token` removes them.
    """
    if _HAS_CYRILLIC.search(token):
        if system == "icao":
            return token.translate(_CYR_ICAO_TABLE)
        return _BG_FINAL_IYA.sub("ia", token).translate(_CYR_NATIONAL_TABLE)
    if _HAS_GREEK.search(token):
        greek_system = system if system in _GREEK_SYSTEMS else "elot"
        return _greek_to_latin(token, greek_system)
    if system == "german":
        return token.translate(_GERMAN_UMLAUTS)
    return token


# --------------------------------------------------------------------------------------------
# Steps 2 and 3: ASCII folding and the transliteration skeleton
# --------------------------------------------------------------------------------------------

#: Rewrites applied to lower-case ASCII, in four passes (each left to right, longest match
#: first; later passes see the output of earlier ones, so BGN ``ndh`` for Greek ``νδ`` becomes
#: ``nd`` and then ``nt``). Each rule pairs spellings that transliteration systems use for one
#: sound:
#:
#: 1. digraphs for one letter: Serbian ``š`` / Bulgarian and ICAO ``sh`` (and ``ch zh``); ICAO
#:    ``kh`` / national ``h`` for Cyrillic ``х``; BGN ``dh`` / ELOT ``d`` for Greek ``δ``;
#:    ``ph``/``f``; ``dj``/``d`` for ``đ``; Macedonian ``gj kj`` / ICAO ``g k``;
#: 2. letters: ``y``/``j``/``i`` for ``й ј ι υ`` (and the ``ю я`` = ``yu ju iu``, ``ya ja ia``
#:    spellings); ``x``/``ks`` for ``ξ``; ``w``/``v`` and ``q``/``k`` (German-style and
#:    Latin-alphabet renderings);
#: 3. clusters: BGN ``mb nd`` / ELOT ``mp nt`` for Greek ``μπ ντ``;
#: 4. affricates: ``ts``/``tz``/``c`` for ``ц τσ τζ``.
FOLD_RULES: tuple[Mapping[str, str], ...] = tuple(
    MappingProxyType(rules)
    for rules in (
        {"sh": "s", "ch": "c", "zh": "z", "kh": "h", "dh": "d", "ph": "f", "dj": "d",
         "gj": "g", "kj": "k"},
        {"x": "ks", "y": "i", "j": "i", "w": "v", "q": "k"},
        {"mb": "mp", "nd": "nt"},
        {"ts": "c", "tz": "c"},
    )
)  # fmt: skip
_FOLD_PASSES = tuple(
    (re.compile("|".join(sorted(rules, key=len, reverse=True))), rules) for rules in FOLD_RULES
)
#: The rewrites used for :func:`typed_letters`: only the digraphs that the national tables of
#: Cyrillic write one way in Serbian and Macedonian and another in Bulgarian (``č``/``ch``,
#: ``c``/``ts``), so that a Bulgarian and a Serbian rendering type the same letters; no letter
#: merges that could turn a typo into another name (``y`` for ``t`` in ``Marta`` is ``Marya``,
#: not ``Maria``), and none that are letters of their own in a national alphabet (Albanian
#: ``dh gj``).
TYPED_RULES: Mapping[str, str] = MappingProxyType(
    {"sh": "s", "ch": "c", "zh": "z", "kh": "h", "ts": "c", "tz": "c"}
)
_TYPED_PASSES = ((re.compile("|".join(TYPED_RULES)), TYPED_RULES),)
_NON_LETTER = re.compile("[^a-z]+")


def _rewrite(text: str, passes: tuple[tuple[re.Pattern[str], Mapping[str, str]], ...]) -> str:
    for pattern, rules in passes:
        text = pattern.sub(lambda m, r=rules: r[m.group()], text)
    return text


def _skeleton(latin: str) -> str:
    return _rewrite(_NON_LETTER.sub("", anyascii(latin).lower()), _FOLD_PASSES)


@lru_cache(maxsize=65536)
def fold_token(token: str) -> tuple[str, ...]:
    """Folded forms of one :func:`clean`-ed token: the national rendering first, then variants.

    Variants are only returned when they differ after folding, so a plain Latin token without
    umlauts yields exactly one form. Cached: given names and common family names repeat across
    a register, and this function is pure.
    """
    if _HAS_CYRILLIC.search(token):
        systems: tuple[str, ...] = ("national", "icao")
    elif _HAS_GREEK.search(token):
        systems = _GREEK_SYSTEMS
    elif _HAS_UMLAUT.search(token):
        systems = ("national", "german")
    else:
        systems = ("national",)
    out: list[str] = []
    for system in systems:
        form = _skeleton(transliterate(token, system))
        if form and form not in out:
            out.append(form)
    return tuple(out)


@lru_cache(maxsize=65536)
def typed_letters(token: str) -> str:
    """The letters of a :func:`clean`-ed token as typed on a Latin keyboard: national Latin
    rendering, diacritics removed, lower case, ``a``-``z`` only, with only the digraphs of
    :data:`TYPED_RULES` collapsed and *without* the letter merges of the fold.

    Typo forms are computed on these, not on the folded skeleton, because typists slip on the
    letters they type; after a letter merge, a slip can become a different, real name
    (``Marta`` with ``y`` for ``t`` folds to ``Maria``).
    """
    return _rewrite(_NON_LETTER.sub("", anyascii(transliterate(token)).lower()), _TYPED_PASSES)


# --------------------------------------------------------------------------------------------
# Typo neighbourhoods and the phonetic code (on typed letters / folded tokens)
# --------------------------------------------------------------------------------------------

#: Vowels of typed letters. The *final* vowel of a token is never changed or dropped by the typo
#: forms: in Slavic, Romanian, Albanian, Greek and Turkish-Balkan names it is the gender or
#: inflection ending that makes a different name (Jovan/Jovana, Renat/Renata, Pop/Popa,
#: Rotari/Rotaru, Munteanu/Muntean).
VOWELS = frozenset("aeiou")


@lru_cache(maxsize=65536)
def deletions(letters: str) -> tuple[str, ...]:
    """All forms of ``letters`` with one letter removed, except the first and a final vowel, in
    order of the removed position.

    Why keep the first letter: typists rarely get the first letter of a name wrong, while
    genuinely different names often differ exactly there (Medon/Redon, Ina/Mina); phonetic
    codes such as Soundex keep it verbatim for the same reason. Why keep a final vowel: see
    :data:`VOWELS`.
    """
    end = len(letters) - 1 if letters and letters[-1] in VOWELS else len(letters)
    return tuple(dict.fromkeys(letters[:i] + letters[i + 1 :] for i in range(1, end)))


_RUNS = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def squeeze(letters: str) -> str:
    """``letters`` with runs of one letter collapsed (``laszzlo`` → ``laszlo``).

    Catches the commonest insertion typo, a doubled key, without tolerating other insertions:
    an inserted letter is what separates many related names (Florea/Floarea, Angel/Anghel).
    """
    return _RUNS.sub(r"\1", letters)


def anagram(tokens: tuple[str, ...] | list[str]) -> str:
    """All letters of all tokens, sorted: equal for swapped neighbours (``Mentro``/``Mentor``)
    and for tokens written together (``AnemonaIulia``); distinct real names are almost never
    anagrams of each other."""
    return "".join(sorted("".join(tokens)))


#: QWERTY letter rows: the Latin layout in use in every member state (QWERTZ, also common in
#: the region, only swaps ``y`` and ``z``, which the fold merges with ``i`` anyway).
_QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    """Keys around each key in a 3x3 block of the printed layout: its row neighbours and the
    keys in the same and the adjacent columns of the rows above and below (``a`` → ``q w s z
    x``). Deliberately a little wider than the keys a fingertip physically touches on a
    staggered keyboard: a finger that slips to the next row also drifts sideways."""
    pos = {c: (r, i) for r, row in enumerate(_QWERTY_ROWS) for i, c in enumerate(row)}
    out: dict[str, str] = {}
    for c, (r, i) in pos.items():
        near = (
            d
            for d, (r2, i2) in pos.items()
            if d != c
            and ((r2 == r and abs(i2 - i) == 1) or (abs(r2 - r) == 1 and abs(i2 - i) <= 1))
        )
        out[c] = "".join(sorted(near))
    return out


#: Letter → letters on neighbouring QWERTY keys (read-only).
KEYBOARD_NEIGHBOURS: Mapping[str, str] = MappingProxyType(_keyboard_neighbours())


@lru_cache(maxsize=16384)
def keyboard_typos(letters: str) -> frozenset[str]:
    """Forms of ``letters`` (see :func:`typed_letters`) with one letter replaced by a letter on
    a neighbouring QWERTY key (``Aulonw`` for ``Aulona``), except the first letter and a final
    vowel turned into another vowel (see :func:`deletions`, :data:`VOWELS`).

    Only neighbouring keys: an arbitrary substitution is what separates most pairs of related
    real names (Lana/Lena, Omar/Omer, Diana/Diona), and those rarely sit side by side on a
    keyboard.
    """
    out = set()
    last = len(letters) - 1
    for i in range(1, len(letters)):
        for c in KEYBOARD_NEIGHBOURS.get(letters[i], ""):
            if i == last and c in VOWELS and letters[i] in VOWELS:
                continue
            out.add(letters[:i] + c + letters[i + 1 :])
    return frozenset(out)


@lru_cache(maxsize=65536)
def phonetic(folded: str) -> str:
    """Phonetic code of one folded token: the Match Rating Approach codex (``jellyfish``) plus
    the final vowel, if any.

    The MRA codex (Western Airlines, 1977, designed for personal names) keeps the first letter,
    drops the other vowels and doubled letters, and keeps the first and last three consonants;
    on our folded skeleton that absorbs the vowel spellings that differ between scripts and
    typists (Romanian ``ă â``, Albanian ``ë``, Turkish ``ı``, Greek ``η ι υ ει οι``, Serbian
    ``ije``/``e``). The final vowel is appended because the codex drops it, and it is an
    inflection ending (see :data:`VOWELS`). English-oriented codes (Soundex, Metaphone, NYSIIS)
    were measured too and merge more distinct names.
    """
    if not folded:
        return ""
    code = jellyfish.match_rating_codex(folded)
    return code + folded[-1] if folded[-1] in VOWELS else code


# --------------------------------------------------------------------------------------------
# All forms of one person's name
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameForms:
    """Every normalized form of one person's name that keys are built on.

    Token lists are sorted, so name order never matters. ``folds``, ``whole`` and ``parts`` hold
    one entry per transliteration variant that differs (national rendering first).
    """

    exact: str  #: exact-form tokens (see :func:`exact_tokens`)
    folds: tuple[str, ...]  #: folded full name
    whole: tuple[str, ...]  #: first given name + the whole family name, folded
    parts: tuple[str, ...]  #: first given name + one family-name token, folded
    typed: tuple[str, ...]  #: typed letters of each token (typo forms), in name order
    given_count: int  #: how many of ``typed`` are given names
    given_folded: str  #: folded given names (national rendering)
    family_phonetic: str  #: phonetic codes of the family-name tokens, sorted


#: Part keys are made for at most this many family-name tokens (bounds rows per record; real
#: compound family names have two or three parts).
MAX_FAMILY_PARTS = 4


def _pick(variants: tuple[str, ...], i: int) -> str:
    return variants[min(i, len(variants) - 1)]


@lru_cache(maxsize=65536)
def _clean_tokens(text: str) -> tuple[str, ...]:
    return tuple(split_tokens(clean(text)))


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    folds: tuple[str, ...]
    typed: str


@lru_cache(maxsize=65536)
def _token(raw: str) -> _Token | None:
    folds = fold_token(raw)
    return _Token(raw, folds, typed_letters(raw)) if folds else None


def name_forms(given: str, family: str) -> NameForms:
    """Normalize a person's name into :class:`NameForms`.

    Raises :class:`InvalidIdentifier` when the name is not a pair of strings or has no letters.
    ``given`` may be empty (mononyms; an MRZ field passed whole as ``family``). Per-string and
    per-token results are cached (pure functions; names repeat across a register).
    """
    if not isinstance(given, str) or not isinstance(family, str):
        raise InvalidIdentifier("given and family name must be strings")
    g_raw = _clean_tokens(given)
    f_raw = _clean_tokens(family)
    g_tok = [t for t in map(_token, g_raw) if t is not None]
    f_tok = [t for t in map(_token, f_raw) if t is not None]
    if not g_tok and not f_tok:
        raise InvalidIdentifier("name has no letters")
    all_tok = g_tok + f_tok
    n_var = max(len(t.folds) for t in all_tok)

    folds: list[str] = []
    whole: list[str] = []
    parts: list[str] = []
    for i in range(n_var):
        form = " ".join(sorted(_pick(t.folds, i) for t in all_tok))
        if form not in folds:
            folds.append(form)
        if g_tok and f_tok:
            g0 = _pick(g_tok[0].folds, i)
            fam = [_pick(t.folds, i) for t in f_tok]
            form = " ".join(sorted([g0, *fam]))
            if form not in whole:
                whole.append(form)
            for f in fam[:MAX_FAMILY_PARTS]:
                form = f"{g0} {f}" if g0 <= f else f"{f} {g0}"
                if form not in parts:
                    parts.append(form)

    return NameForms(
        exact=" ".join(sorted(g_raw + f_raw)),
        folds=tuple(folds),
        whole=tuple(whole),
        parts=tuple(parts),
        typed=tuple(t.typed for t in all_tok),
        given_count=len(g_tok),
        given_folded=" ".join(sorted(t.folds[0] for t in g_tok)),
        family_phonetic=" ".join(sorted(phonetic(t.folds[0]) for t in f_tok)),
    )


def clear_caches() -> None:
    """Empty the memoization caches (for benchmarks; results never depend on them)."""
    for cached in (
        _clean_tokens, _token, fold_token, typed_letters, deletions, squeeze,
        keyboard_typos, phonetic,
    ):  # fmt: skip
        cached.cache_clear()
