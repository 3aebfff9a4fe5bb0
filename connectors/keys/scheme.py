"""The blind-key scheme: which keys a person, document, plate, VIN or phone number yields.

Every key is ``HMAC-SHA256(secret, f"{SCHEME_VERSION}|{key_type}|{value}")`` truncated to 16 bytes
(128 bits: collisions between distinct values are negligible at any register size, and a row is
half the size of a full digest). ``key_type`` and the version are inside the MAC input, so the
same value keyed as two types, or under two scheme versions, never collides. A record is a hit
when any query digest equals any record digest; the two key sets are deliberately asymmetric
(records store some variants, queries send others) so that each side does the expansion that
is cheap for it: records are many and stored, queries are few and transient.

Person keys
===========

A name is normalized (:func:`connectors.keys.normalize.name_forms`) into an *exact* form (tokens
as written; case, composition and order insensitive), a *folded* form (script- and
transliteration-independent ASCII skeleton, with per-system variants for Cyrillic and Greek
records), *typed letters* (for typo forms) and a *phonetic* code of the family name. Keys
combine a name form with a date:

=====================  ========  =========================================================
key type               strength  value
=====================  ========  =========================================================
``person.exact.dob``   EXACT     exact tokens + date of birth
``person.fold.dob``    STRONG    folded tokens (each transliteration variant) + dob
``person.swap.dob``    MEDIUM    folded tokens + dob with day and month exchanged
``person.part.dob``    MEDIUM    first given name + family name or one of its parts + dob
``person.phon.dob``    MEDIUM    folded given names + phonetic family name + dob
``person.typo.dob``    MEDIUM    typo-tolerant forms of the name + dob (below)
``person.fold.yob``    MEDIUM    folded tokens + year of birth
``person.fold``        WEAK      folded tokens alone
=====================  ========  =========================================================

The strength is a function of the key type alone (:data:`KEY_STRENGTHS`), the same on both
sides, because only ``key_type`` and ``digest`` travel between broker and connectors: a
connector reports the strongest key type that matched.

Rules, and why:

* **A query that carries a date never sends name-only keys.** Otherwise the same name with a
  date of birth years apart (a namesake) would hit; a date that disagrees is strong evidence
  of a *different* person.
* **Day/month swap** (``person.swap.dob``): records also store their folded name with day and
  month of the date exchanged (when that is a different valid date); queries send their
  folded name with their date as given under the same type. ``03/04`` versus ``04/03`` is the
  commonest date-entry error across states. Done on the record side so that the swap has a
  key type, and so a strength, of its own.
* **Year of birth**: records store it; queries with a full date send it too, so a register
  that only knows the year is still found (MEDIUM). A date of birth in another year never
  hits: dated queries send no undated keys.
* **Parts of a name** (``person.part.dob``): records store *(first given name, family-name
  token)* for every token of the family name and *(first given name, whole family name)*;
  queries send only the latter. A dropped second given name, one half of a double family
  name (``Lana Bajramović`` for ``Lana Bajramović-Arnautović``) and swapped order keep such
  a pair; a *different* second half (``Molnár-Péter`` for ``Molnár-Pintér``) does not, because
  the query then names a whole family name that the record does not have. Only with a full
  date of birth: a shared first name and half a family name alone are common.
* **Phonetic** (``person.phon.dob``): the folded given names must agree; the family name only
  phonetically (:func:`connectors.keys.normalize.phonetic`). Given names are a small, closed
  set in which one vowel separates different names (Lana/Lena, Omar/Omer); family names are
  a far larger set in which a vowel change is more often a misspelling. Only with a full dob.
* **Typos only with a full date of birth**, because a one-letter difference is exactly what
  separates many genuinely different names (Jovan/Jovana, Petrović/Petković); the date makes a
  chance collision unlikely. Typo forms never touch the *first letter* of a token (typists
  rarely miss it; different real names often differ there: Medon/Redon, Ina/Mina) and never
  change a *final vowel* (an inflection ending: Renat/Renata, Pop/Popa). They are computed on
  typed letters, all under ``person.typo.dob``, told apart by a prefix in the value:

  - ``d:`` *deletion*: records store every form of the name with one letter removed;
    queries send their name as typed. A query that lost a letter (``Hekran``) hits.
  - ``s:`` *squeeze*: runs of one letter collapsed, on both sides. A doubled key
    (``Laszzlo``) or a dropped double (``Eyup`` for ``Eyyüp``) hits.
  - ``a:`` *anagram*: the letters of the whole name sorted, on both sides. Two swapped letters
    (``Mentro``) and names written together (``AnemonaIulia``) hit.
  - ``k:`` *keyboard*: records store their typed name; queries send every form with one letter
    replaced by a neighbouring QWERTY key (``Aulonw``).

  Records never store insertion or substitution forms and queries never send deletion forms:
  that pairing (symmetric deletion neighbourhoods) makes every one-letter substitution a hit,
  including Lana/Lena; one-deletion variants of every name reach 0.94 recall but 17% false
  hits on the development set, against 0.98 and 1.6% for the rules above at ``bk1``
  (``python -m connectors.keys.evaluate``).

The strength of a hit is that of the strongest key type that matched (:func:`match_strength`).

Other identifiers
=================

Documents, plates, VINs and phone numbers are keyed on their canonical forms
(:mod:`connectors.keys.canonical`). A VIN and an E.164 number identify one object worldwide:
EXACT. A document or plate number does so only together with its issuing country (numbering
schemes overlap between states), so ``doc.number``/``vehicle.plate`` (the number alone) are
STRONG and ``doc.number.issuer``/``vehicle.plate.issuer`` (with the ISO alpha-2 issuer,
stored and sent only when known) are EXACT. A query without an issuer still finds every
holder of the number; one with an issuer finds the same-issuer record at EXACT and a record
from another or an unknown issuer at STRONG.
"""

from __future__ import annotations

import bisect
import datetime
import enum
import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType

from connectors.keys import canonical
from connectors.keys.errors import InvalidIdentifier
from connectors.keys.normalize import (
    NameForms,
    anagram,
    deletions,
    keyboard_typos,
    name_forms,
    squeeze,
)

__all__ = [
    "KEY_STRENGTHS",
    "MIN_SECRET_BYTES",
    "SCHEME_VERSION",
    "BlindKey",
    "KeyScheme",
    "Strength",
    "match_strength",
]

#: Bump whenever any normalization rule, table or key definition changes: keys computed under
#: different versions must never be compared (the version is part of every MAC input).
SCHEME_VERSION = "bk1"

MIN_SECRET_BYTES = 16
_DIGEST_BYTES = 16
_MIN_YEAR = 1850
_MAX_YEAR = 2200


class Strength(enum.IntEnum):
    """How strongly a hit matched. The numbers are mirrored in the protobuf enum."""

    WEAK = 1  # name only, no date
    MEDIUM = 2  # name + year of birth, phonetic/partial name + dob, or a typo-tolerant variant
    STRONG = 3  # transliterated/folded name + full date of birth
    EXACT = 4  # exact normalized name + full dob; identical document/plate/VIN/phone


#: Every key type and its strength (the same for record and query keys).
KEY_STRENGTHS: Mapping[str, Strength] = MappingProxyType(
    {
        "person.exact.dob": Strength.EXACT,
        "person.fold.dob": Strength.STRONG,
        "person.swap.dob": Strength.MEDIUM,
        "person.part.dob": Strength.MEDIUM,
        "person.phon.dob": Strength.MEDIUM,
        "person.typo.dob": Strength.MEDIUM,
        "person.fold.yob": Strength.MEDIUM,
        "person.fold": Strength.WEAK,
        "doc.number.issuer": Strength.EXACT,
        "doc.number": Strength.STRONG,
        "vehicle.plate.issuer": Strength.EXACT,
        "vehicle.plate": Strength.STRONG,
        "vehicle.vin": Strength.EXACT,
        "phone.e164": Strength.EXACT,
    }
)


@dataclass(frozen=True, slots=True)
class BlindKey:
    """One keyed hash. ``key_type`` is short, stable and contains no personal data."""

    key_type: str
    strength: Strength
    digest: str


def match_strength(
    query_keys: Iterable[BlindKey], record_keys: Iterable[BlindKey]
) -> Strength | None:
    """Strength of the strongest key the two sets share, or ``None`` when they share none."""
    digests = {key.digest for key in query_keys}
    shared = [key.strength for key in record_keys if key.digest in digests]
    return Strength(max(shared)) if shared else None


#: (key type, value) before keying.
_Item = tuple[str, str]


def _check_date(dob: datetime.date | None, birth_year: int | None) -> int | None:
    """Validate the date arguments and return the year to key on, if any."""
    if dob is not None:
        if isinstance(dob, datetime.datetime) or not isinstance(dob, datetime.date):
            raise InvalidIdentifier("date of birth must be a datetime.date")
        if not _MIN_YEAR <= dob.year <= _MAX_YEAR:
            raise InvalidIdentifier("date of birth out of range")
        if birth_year is not None and birth_year != dob.year:
            raise InvalidIdentifier("birth year disagrees with date of birth")
        return dob.year
    if birth_year is not None:
        if isinstance(birth_year, bool) or not isinstance(birth_year, int):
            raise InvalidIdentifier("birth year must be an integer")
        if not _MIN_YEAR <= birth_year <= _MAX_YEAR:
            raise InvalidIdentifier("birth year out of range")
    return birth_year


def _swapped(dob: datetime.date) -> datetime.date | None:
    """``dob`` with day and month exchanged, if that is a different valid date."""
    if dob.day == dob.month or dob.day > 12:
        return None
    return dob.replace(month=dob.day, day=dob.month)


def _joined(tokens: Iterable[str]) -> str:
    return " ".join(sorted(tokens))


#: Upper bound on deletion forms per record: every key is a row, and names long enough to reach
#: it are distinctive enough without them.
MAX_DELETION_FORMS = 40


def _record_typo_forms(name: NameForms) -> list[str]:
    """Typo forms a record stores (see the module doc): its name, squeezed, anagram, deletions.

    Deletions are made in the first given name and the family names only: a typo in a second
    given name is already covered by the part keys (first given name + family name).
    """
    typed = name.typed
    out = ["k:" + _joined(typed), "s:" + _joined(map(squeeze, typed)), "a:" + anagram(typed)]
    editable = [0, *range(name.given_count, len(typed))] if name.given_count else range(len(typed))
    forms: list[str] = []
    for i in editable:
        rest = typed[:i] + typed[i + 1 :]
        forms.extend("d:" + _joined((*rest, form)) for form in deletions(typed[i]))
    return out + forms[:MAX_DELETION_FORMS]


def _query_typo_messages(typed: tuple[str, ...], head: str) -> list[str]:
    """The MAC inputs (up to the date) of the typo forms a query sends, ``head + form + |``.

    The keyboard forms are most of a query's keys (one per neighbouring key of every letter
    but the first), and most of the cost of keying a name not seen before: so each is
    written out once, prefix and all, and the other tokens are sorted once per token, a
    form being slotted in among them (``bisect``) instead of the name sorted again.
    """
    out = [
        f"{head}d:{_joined(typed)}|",
        f"{head}s:{_joined(map(squeeze, typed))}|",
        f"{head}a:{anagram(typed)}|",
    ]
    k = head + "k:"
    for i, tok in enumerate(typed):
        rest = sorted(typed[:i] + typed[i + 1 :])
        forms = keyboard_typos(tok)
        if not rest:
            out += [f"{k}{form}|" for form in forms]
        elif len(rest) == 1:
            other = rest[0]
            out += [
                f"{k}{form} {other}|" if form <= other else f"{k}{other} {form}|" for form in forms
            ]
        else:
            for form in forms:
                at = bisect.bisect_right(rest, form)
                out.append(k + " ".join((*rest[:at], form, *rest[at:])) + "|")
    return out


def _dob_items(name: NameForms, day: str, record: bool) -> list[_Item]:
    """Exact, folded, part and phonetic keys for one date of birth."""
    items: list[_Item] = [("person.exact.dob", f"{name.exact}|{day}")]
    items += [("person.fold.dob", f"{f}|{day}") for f in name.folds]
    items += [("person.part.dob", f"{p}|{day}") for p in name.whole]
    if record:
        items += [("person.part.dob", f"{p}|{day}") for p in name.parts]
    if name.family_phonetic:
        items.append(("person.phon.dob", f"{name.given_folded}/{name.family_phonetic}|{day}"))
    return items


#: Names whose query forms a KeyScheme remembers (see :class:`_QueryName`): about 4 KB a
#: name, so about 8 MB at the bound; lists (manifests, border lists) repeat names.
QUERY_NAME_CACHE = 2048

#: MAC inputs up to the date, as a cache keeps them: their key type (one for all, or one
#: each) and the inputs joined by newlines. One bytes object instead of ~75 objects and
#: tuples per name (16 KB a name, measured, against ~4 KB); a newline never occurs inside
#: an input (name tokens are split on whitespace; folded and typed forms are letters).
_Group = tuple[str | tuple[str, ...], bytes]


@dataclass(frozen=True, slots=True)
class _QueryName:
    """The part of a person query's keys that depends on the name alone, encoded once.

    Every dated key's MAC input is ``version|type|name form|date``, so a name's forms
    (folds, parts, phonetic code and the 60-odd keyboard-typo forms, which are most of the
    cost of a query's keys) are turned into MAC-input prefixes once and only the date is
    appended per query. Each group is in the order :meth:`KeyScheme.person_query_keys`
    used to emit them, without repeats, so keys come out exactly as before.
    """

    dob: _Group  #: exact, fold, part, phon keys; + ``|date``
    swap: _Group  #: ``person.swap.dob``; + ``|date``
    typo: _Group  #: ``person.typo.dob``; + ``|date``
    yob: _Group  #: ``person.fold.yob``; + ``|year``
    undated: _Group  #: ``person.fold``; the whole MAC input


def _joined_inputs(types: str | tuple[str, ...], messages: Iterable[bytes]) -> _Group:
    """A :data:`_Group` of the messages (already without repeats)."""
    messages = list(messages)
    joined = b"\n".join(messages)
    if joined.count(b"\n") != len(messages) - 1:
        raise InvalidIdentifier("name contains a line break")
    return types, joined


def _encoded(key_type: str, messages: list[str]) -> _Group:
    """The distinct messages, encoded, in order, all of one key type."""
    return _joined_inputs(key_type, dict.fromkeys([m.encode() for m in messages]))


def _group(start: str, key_type: str, values: Iterable[str]) -> _Group:
    """:func:`_encoded` of ``version|key type|value`` for each value."""
    head = f"{start}{key_type}|"
    return _encoded(key_type, [head + value for value in values])


def _query_name(version: str, given: str, family: str) -> _QueryName:
    """The name-dependent MAC-input prefixes of a person query (rules in the module doc)."""
    name = name_forms(given, family)
    start = version + "|"
    dob: dict[bytes, str] = {}
    for key_type, value in _dob_items(name, "", record=False):
        dob.setdefault(f"{start}{key_type}|{value}".encode(), key_type)
    return _QueryName(
        dob=_joined_inputs(tuple(dob.values()), dob),
        swap=_group(start, "person.swap.dob", [f"{f}|" for f in name.folds]),
        typo=_encoded(
            "person.typo.dob", _query_typo_messages(name.typed, f"{start}person.typo.dob|")
        ),
        yob=_group(start, "person.fold.yob", [f"{f}|" for f in name.folds]),
        undated=_group(start, "person.fold", name.folds),
    )


_BLOCK = 64  # SHA-256 block size, for the HMAC pads (RFC 2104)
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class KeyScheme:
    """Computes blind keys under one secret. Immutable, so safe to share between threads.

    The secret comes from configuration (a file or environment variable), never from code; it
    is not shown by ``repr`` and the object refuses to be pickled, so it does not leak into
    logs, tracebacks or caches by accident.

    HMAC-SHA256 is computed as in RFC 2104 with the inner and outer key pads hashed once at
    construction and copied per key (what :mod:`hmac` does internally): this halves the cost of
    a key compared with :func:`hmac.digest`, which re-derives the pads on every call, and keys
    are computed for every person of every register. ``tests/unit/test_keys_scheme.py`` checks
    the result against :func:`hmac.digest`.
    """

    __slots__ = ("_inner", "_outer", "_query_names", "version")

    _inner: hashlib._Hash
    _outer: hashlib._Hash
    _query_names: Callable[[str, str, str], _QueryName]
    version: str

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray | memoryview):
            raise ValueError("secret must be bytes")
        secret = bytes(secret)
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes")
        if len(secret) > _BLOCK:
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(_BLOCK, b"\0")
        object.__setattr__(self, "_inner", hashlib.sha256(secret.translate(_IPAD)))
        object.__setattr__(self, "_outer", hashlib.sha256(secret.translate(_OPAD)))
        object.__setattr__(self, "version", SCHEME_VERSION)
        # Per scheme, bounded, thread-safe (lru_cache locks); it holds name forms, never the
        # secret, and goes with the scheme.
        object.__setattr__(
            self, "_query_names", functools.lru_cache(maxsize=QUERY_NAME_CACHE)(_query_name)
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("KeyScheme is immutable")

    def __repr__(self) -> str:
        return f"KeyScheme(version={self.version!r}, secret=<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("KeyScheme holds a secret and cannot be pickled")

    # -- primitives ---------------------------------------------------------------------------

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under the secret (full 32 bytes)."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def _keys(self, items: Iterable[_Item]) -> list[BlindKey]:
        """MAC each distinct ``(key_type, value)`` once."""
        inner_copy = self._inner.copy
        outer_copy = self._outer.copy
        prefix = self.version + "|"
        seen: set[str] = set()
        out: list[BlindKey] = []
        for key_type, value in items:
            message = f"{prefix}{key_type}|{value}"
            if message in seen:
                continue
            seen.add(message)
            inner = inner_copy()
            inner.update(message.encode())
            outer = outer_copy()
            outer.update(inner.digest())
            digest = outer.digest()[:_DIGEST_BYTES].hex()
            out.append(BlindKey(key_type, KEY_STRENGTHS[key_type], digest))
        return out

    def _digests(self, group: _Group, end: bytes, out: list[tuple[str, bytes]]) -> None:
        """Append ``(key type, 16-byte digest)`` of each input of group followed by ``end``."""
        types, joined = group
        if not joined:
            return
        inner_copy = self._inner.copy
        outer_copy = self._outer.copy
        append = out.append
        kinds = repeat(types) if isinstance(types, str) else types
        for key_type, prefix in zip(kinds, joined.split(b"\n"), strict=False):  # kinds may repeat
            inner = inner_copy()
            inner.update(prefix + end)
            outer = outer_copy()
            outer.update(inner.digest())
            append((key_type, outer.digest()[:_DIGEST_BYTES]))

    # -- persons ------------------------------------------------------------------------------

    def person_record_keys(
        self,
        given: str,
        family: str,
        dob: datetime.date | None,
        birth_year: int | None = None,
    ) -> list[BlindKey]:
        """Keys a connector stores for one person it holds (rules in the module doc).

        ``dob`` may be ``None`` when unknown; ``birth_year`` is used when only the year is
        known (and must agree with ``dob`` when both are given).
        """
        year = _check_date(dob, birth_year)
        name = name_forms(given, family)
        items: list[_Item] = []
        if dob is not None:
            day = dob.isoformat()
            items += _dob_items(name, day, record=True)
            swapped = _swapped(dob)
            if swapped is not None:
                items += [("person.swap.dob", f"{f}|{swapped.isoformat()}") for f in name.folds]
            items += [("person.typo.dob", f"{t}|{day}") for t in _record_typo_forms(name)]
        if year is not None:
            items += [("person.fold.yob", f"{f}|{year}") for f in name.folds]
        items += [("person.fold", f) for f in name.folds]
        return self._keys(items)

    def person_query_keys(
        self,
        given: str,
        family: str,
        dob: datetime.date | None = None,
        birth_year: int | None = None,
    ) -> list[BlindKey]:
        """Keys the broker sends for an officer's criteria (rules in the module doc).

        With a date of birth: dated keys only (no name-only keys). With only a year: year
        keys. With neither: name-only keys (WEAK).
        """
        return [
            BlindKey(key_type, KEY_STRENGTHS[key_type], digest.hex())
            for key_type, digest in self.person_query_digests(given, family, dob, birth_year)
        ]

    def person_query_digests(
        self,
        given: str,
        family: str,
        dob: datetime.date | None = None,
        birth_year: int | None = None,
    ) -> list[tuple[str, bytes]]:
        """:meth:`person_query_keys` as ``(key type, raw 16-byte digest)``, in the same order.

        The form batch screening sends: no hex, no objects per key. The name's part of every
        MAC input comes from a bounded per-scheme cache (:data:`QUERY_NAME_CACHE` names), so
        a name seen again costs only the MACs.
        """
        year = _check_date(dob, birth_year)
        name = self._query_names(self.version, given, family)
        out: list[tuple[str, bytes]] = []
        if dob is not None:
            day = dob.isoformat().encode()
            self._digests(name.dob, day, out)
            if _swapped(dob) is not None:  # this date may be a record's date, swapped
                self._digests(name.swap, day, out)
            self._digests(name.typo, day, out)
        if year is not None:
            self._digests(name.yob, str(year).encode(), out)
        else:
            self._digests(name.undated, b"", out)
        return out

    # -- other identifiers --------------------------------------------------------------------

    def document_keys(
        self, number: str, doc_type: str = "", issuing_country: str = ""
    ) -> list[BlindKey]:
        """Keys for an identity or travel document number.

        ``doc.number`` is the canonical number; ``doc.number.issuer`` adds the ISO alpha-2
        issuing country when known (see the module doc for strengths). ``doc_type`` is
        accepted but not keyed: registers code document types differently (passport, ID card,
        national codes), and a number seen on the "wrong" type is still worth a hit.
        """
        del doc_type
        return self._qualified("doc.number", canonical.canonical_document(number), issuing_country)

    def plate_keys(self, plate: str, country: str = "") -> list[BlindKey]:
        """Keys for a vehicle registration plate (see the module doc for the country rule)."""
        return self._qualified("vehicle.plate", canonical.canonical_plate(plate), country)

    def _qualified(self, key_type: str, value: str, country: str) -> list[BlindKey]:
        """The number alone, and with its issuing country when that is known."""
        if not country:
            return self._keys([(key_type, value)])
        cc = canonical.canonical_country(country)
        return self._keys([(f"{key_type}.issuer", f"{cc}|{value}"), (key_type, value)])

    def vin_keys(self, vin: str) -> list[BlindKey]:
        """Keys for a vehicle identification number (ISO 3779, see ``canonical_vin``)."""
        return self._keys([("vehicle.vin", canonical.canonical_vin(vin))])

    def phone_keys(self, number: str, default_region: str = "") -> list[BlindKey]:
        """Keys for a phone number in E.164; ``default_region`` reads numbers without ``+``."""
        e164 = canonical.canonical_phone(number, default_region)
        return self._keys([("phone.e164", e164)])
