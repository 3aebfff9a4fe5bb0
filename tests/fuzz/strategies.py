"""Hypothesis strategies for every request of the contract, derived from the descriptors.

`messages(descriptor, hints)` builds any protobuf message by walking its descriptor, so a
field added to a .proto is fuzzed the day it is added, with no change here. Each field gets
a value of its wire type drawn from a mix of random values and boundary values (empty,
just under, at and over the limits, control characters, mixed scripts, unknown enum
numbers, timestamps out of range, 10,000 repeated entries). `hints` add plausible values by
field name (a member state for `country`, a real reference for `reference`), so enough
messages get past the first check to reach the code behind it.

`mutated(valid, ...)` starts from a valid message and breaks one thing at a time, the other
way to reach deep; `streams(...)` builds request streams of odd shapes (none, no header,
two headers, the end first); `raw_requests(...)` builds bytes no client library would send:
random bytes, truncated messages, invalid UTF-8 inside a string field, trailing garbage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from selec.countries import MEMBER_STATES

Hints = Mapping[str, st.SearchStrategy[Any]]
MAX_DEPTH = 4
BULK_COUNTS = (1_000, 10_000)
BULK_ELEMENT_BYTES = 256
# Lengths around the limits the services enforce (200, 2000 text; 64, 128 ids; 4 MiB
# messages) and far beyond them.
LENGTHS = (1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 199, 200, 201, 1999, 2000, 2001)
HUGE_LENGTHS = (65_536, 1_000_000, 4 * 1024 * 1024 + 1024)

SCRIPTS = (
    "Петровић Јован",
    "Πετρόπουλος Γιώργος",
    "İsmail Işık",
    "Ștefan Țurcanu",
    "Kovács Éva",
    "Hoxha Ëndrit Çela",
    "Методија Стојановски",
    "محمد",
    "שלום",
    "王伟",
    "ｊｏｖａｎ",  # fullwidth
    "J\u0301ovan",  # combining accent
    "Jo\u200bvan",  # zero-width space
    "\u202eJovan",  # right-to-left override
    "\ufeffJovan",  # byte-order mark
    "Jovan 🙂",
    "ǅ",  # titlecase digraph
    "ß ẞ ﬁ",
    "Pеtrović",  # Cyrillic е inside a Latin name
)
CONTROL = ("\x00", "\x01", "\x07", "\x08", "\t", "\n", "\r", "\x1b[31m", "\x7f", "\x85", "\u2028")
HOSTILE = (
    "' OR '1'='1",
    "'; DROP TABLE records;--",
    '" OR ""="',
    "1 UNION SELECT * FROM records--",
    "%",
    "_",
    "*",
    "?",
    "\\",
    "%s%s%n{0}{__class__}",
    "../../../../etc/passwd",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "null",
    "None",
    "-1",
    "0",
    "NaN",
)
DATES = (
    "1985-03-14",
    "0000-00-00",
    "0001-01-01",
    "1899-12-31",
    "1900-01-01",
    "2999-12-31",
    "9999-12-31",
    "10000-01-01",
    "1985-02-30",
    "1985-13-01",
    "1985-3-14",
    "14.03.1985",
    "19850314",
    "1985-03-14T00:00:00",
    "+1985-03-14",
    "-1985-03-14",
    "١٩٨٥-٠٣-١٤",  # Arabic-Indic digits
    "１９８５-０３-１４",  # fullwidth digits
)
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _long(length: int, unit: str) -> str:
    return (unit * length)[:length] if len(unit) == 1 else unit * (length // len(unit) + 1)


def long_texts(lengths: Sequence[int] = LENGTHS) -> st.SearchStrategy[str]:
    """Strings of the boundary lengths, in one- and multi-byte characters."""
    return st.builds(
        lambda n, unit: (unit * n)[:n],
        st.sampled_from(lengths),
        st.sampled_from(("a", "é", "Ж", "🙂", "a b ", "' OR 1=1 -- ")),
    )


def many_names(count: int) -> str:
    """count space-separated names, in several scripts."""
    names = ("Ana", "Јован", "Γιώργος", "İsmail", "Ștefan")
    return " ".join(names[i % len(names)] for i in range(count))


def texts() -> st.SearchStrategy[str]:
    """Any string a client could send, weighted towards the ones that break things."""
    return st.one_of(
        st.text(max_size=24),
        st.sampled_from(("", " ", "  \t ", *SCRIPTS, *CONTROL, *HOSTILE)),
        st.builds(lambda a, b: a + b, st.sampled_from(SCRIPTS), st.sampled_from(CONTROL)),
        st.text(
            st.characters(codec="utf-8", categories=("Cc", "Cf", "Zs", "Zl", "Mn")), max_size=8
        ),
        long_texts(),
        st.sampled_from(HUGE_LENGTHS).map(lambda n: "x" * n),
        st.sampled_from((10, 100, 10_000)).map(many_names),
    )


def _integers(kind: int) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[kind]
    edges = sorted({low, high, 0, 1, -1 if low < 0 else 2, 1899, 1900, 2026, 9999, 10000, 720, 721})
    return st.one_of(
        st.sampled_from([e for e in edges if low <= e <= high]), st.integers(low, high)
    )


def timestamps(descriptor: Descriptor) -> st.SearchStrategy[Message]:
    """google.protobuf.Timestamp: valid moments and far out of range ones."""
    cls = GetMessageClass(descriptor)
    max_seconds = 253402300799  # 9999-12-31T23:59:59Z, the last valid one
    min_seconds = -62135596800  # 0001-01-01T00:00:00Z, the first valid one
    now = int(dt.datetime.now(dt.UTC).timestamp())
    seconds = st.one_of(
        st.sampled_from(
            (
                0,
                now,
                now + 3600,
                now - 86400 * 365,
                max_seconds,
                max_seconds + 1,
                min_seconds,
                min_seconds - 1,
                2**63 - 1,
                -(2**63),
            )
        ),
        st.integers(-(2**63), 2**63 - 1),
        st.integers(min_seconds, max_seconds),
    )
    nanos = st.one_of(
        st.sampled_from((0, 999_999_999, 1_000_000_000, -1)), st.integers(-(2**31), 2**31 - 1)
    )
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def _scalar(field: FieldDescriptor, hints: Hints) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        generic: st.SearchStrategy[Any] = texts()
    elif kind == FieldDescriptor.TYPE_BYTES:
        generic = st.one_of(
            st.binary(max_size=64),
            st.sampled_from((b"", b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80")),
            st.sampled_from(LENGTHS).map(lambda n: b"\x80" * n),
        )
    elif kind == FieldDescriptor.TYPE_BOOL:
        generic = st.booleans()
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        generic = st.floats(width=64 if kind == FieldDescriptor.TYPE_DOUBLE else 32)
    elif kind == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        generic = st.one_of(
            st.sampled_from(known), st.integers(-(2**31), 2**31 - 1), st.integers(-3, 40)
        )
    else:
        generic = _integers(kind)
    # Hints are keyed by name, and a name may be a string in one message and an enum in
    # another (Grant.handling_code, DecideRequest.handling_code): enums take none.
    hint = None if kind == FieldDescriptor.TYPE_ENUM else hints.get(field.name)
    return st.one_of(hint, generic) if hint is not None else generic


def _value(field: FieldDescriptor, hints: Hints, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        hint = hints.get(field.name)
        built = messages(field.message_type, hints, depth + 1)
        return st.one_of(hint, built) if hint is not None else built
    return _scalar(field, hints)


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _bulk(drawn: tuple[Any, int]) -> list[Any]:
    """count copies of a small element; a large one (a 1 MB string) twice, not 10,000 times."""
    element, count = drawn
    size = element.ByteSize() if isinstance(element, Message) else len(str(element))
    return [element] * (count if size <= BULK_ELEMENT_BYTES else 2)


def _repeated(field: FieldDescriptor, hints: Hints, depth: int) -> st.SearchStrategy[list[Any]]:
    element = _value(field, hints, depth)
    small = st.lists(element, max_size=4 if depth < 2 else 2)
    if depth > 1:
        return small
    bulk = st.tuples(element, st.sampled_from(BULK_COUNTS)).map(_bulk)
    return st.one_of(small, small, bulk)


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, hints: Hints, depth: int) -> Message:
    message = GetMessageClass(descriptor)()
    chosen_oneofs = {
        oneof.name: draw(st.sampled_from([None, *oneof.fields]))
        for oneof in descriptor.oneofs
        if not (len(oneof.fields) == 1 and oneof.name.startswith("_"))
    }
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.name in chosen_oneofs:
            if chosen_oneofs[oneof.name] is not field:
                continue
        elif not draw(st.booleans()):
            continue
        if depth >= MAX_DEPTH and field.type == FieldDescriptor.TYPE_MESSAGE:
            continue
        if _is_map(field):
            entry = field.message_type
            keys = _scalar(entry.fields_by_name["key"], hints)
            values = _value(entry.fields_by_name["value"], hints, depth)
            target = getattr(message, field.name)
            for key, value in draw(st.dictionaries(keys, values, max_size=3)).items():
                if entry.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                    target[key].CopyFrom(value)
                else:
                    target[key] = value
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(_repeated(field, hints, depth)))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, field.name).CopyFrom(draw(_value(field, hints, depth)))
        else:
            setattr(message, field.name, draw(_value(field, hints, depth)))
    return message


def messages(
    descriptor: Descriptor, hints: Hints | None = None, depth: int = 0
) -> st.SearchStrategy[Message]:
    """Any message of the descriptor's type (see module doc)."""
    hints = hints or {}
    if descriptor.full_name == "google.protobuf.Timestamp":
        return timestamps(descriptor)
    return _message(descriptor, hints, depth)


def mutated(valid: Message, hints: Hints | None = None) -> st.SearchStrategy[Message]:
    """A valid message with fields replaced by fuzzed ones, or cleared."""
    descriptor = valid.DESCRIPTOR

    def mutate(changes: Message, cleared: list[str]) -> Message:
        message = type(valid)()
        message.CopyFrom(valid)
        for name in cleared:
            message.ClearField(name)
        for field, _value in changes.ListFields():
            message.ClearField(field.name)
        message.MergeFrom(changes)
        return message

    names = [f.name for f in descriptor.fields]
    cleared = st.lists(st.sampled_from(names), max_size=2, unique=True) if names else st.just([])
    return st.builds(mutate, messages(descriptor, hints), cleared)


def streams(
    descriptor: Descriptor,
    valid: Sequence[Message],
    hints: Hints | None = None,
) -> st.SearchStrategy[list[Message]]:
    """Request streams: generic ones, and valid ones with messages dropped, doubled,
    replaced or inserted (no header, two headers, end first, empty...)."""
    generic = messages(descriptor, hints)

    def edit(ops: list[tuple[int, int, Message]]) -> list[Message]:
        out = list(valid)
        for op, position, message in ops:
            at = position % (len(out) + 1)
            if op == 0 and out:
                del out[min(at, len(out) - 1)]
            elif op == 1 and out:
                out.insert(at, out[min(at, len(out) - 1)])
            elif op == 2 and out:
                out[min(at, len(out) - 1)] = message
            else:
                out.insert(at, message)
        return out

    edited = st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 50), generic), min_size=0, max_size=3
    ).map(edit)
    shapes = [st.just([]), st.lists(generic, max_size=5), edited, edited]
    if valid:
        # A valid header, then anything.
        shapes.append(st.lists(generic, max_size=4).map(lambda rest: [valid[0], *rest]))
    return st.one_of(*shapes)


# ---------------------------------------------------------------- raw bytes


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _string_paths(descriptor: Descriptor, depth: int = 0) -> list[list[FieldDescriptor]]:
    """Paths of fields from descriptor down to every string field (a few levels deep)."""
    paths: list[list[FieldDescriptor]] = []
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            paths.append([field])
        elif field.type == FieldDescriptor.TYPE_MESSAGE and depth < 3 and not _is_map(field):
            paths.extend([field, *rest] for rest in _string_paths(field.message_type, depth + 1))
        elif _is_map(field):
            for sub in field.message_type.fields:
                if sub.type == FieldDescriptor.TYPE_STRING:
                    paths.append([field, sub])
    return paths


BAD_UTF8 = (
    b"\xff",
    b"\xc3\x28",
    b"\xa0\xa1",
    b"\xe2\x28\xa1",
    b"\xed\xa0\x80",
    b"\xf8\x88\x80\x80\x80",
    b"ok\xc0\xafok",
    b"\x80" * 300,
)


def raw_requests(descriptor: Descriptor, hints: Hints | None = None) -> st.SearchStrategy[bytes]:
    """Bytes that claim to be a message of descriptor's type but are not all valid."""
    valid = messages(descriptor, hints).map(lambda m: m.SerializeToString())
    paths = _string_paths(descriptor)

    def invalid_utf8(path: list[FieldDescriptor], bad: bytes, prefix: bytes) -> bytes:
        payload = bad
        for field in reversed(path):
            payload = _length_delimited(field.number, payload)
        return prefix + payload

    options = [
        st.binary(max_size=256),
        st.builds(lambda data, cut: data[: cut % (len(data) + 1)], valid, st.integers(0, 10_000)),
        st.builds(lambda data, tail: data + tail, valid, st.binary(min_size=1, max_size=16)),
        st.sampled_from(
            (b"", b"\x00", b"\x08", b"\x0a", b"\x0a\xff\xff\xff\xff\x0f", b"\xff" * 11)
        ),
    ]
    if paths:
        options.append(
            st.builds(invalid_utf8, st.sampled_from(paths), st.sampled_from(BAD_UTF8), valid)
        )
    return st.one_of(*options)


def member_states() -> st.SearchStrategy[str]:
    """Country codes a broker knows, and near misses."""
    return st.one_of(
        st.sampled_from(MEMBER_STATES),
        st.sampled_from(MEMBER_STATES).map(str.lower),
        st.sampled_from(MEMBER_STATES).map(lambda c: f" {c} "),
        st.sampled_from(("XX", "EU", "R", "RSS", "Р", "ＲＳ", "rs\x00")),
    )
