"""The well-known subjects every generated data set contains.

The README and the tests search for these, so they are fixed: same records, same ids, for
every seed and size. Jovan Petrović is held by three states, each in its own writing (Serbian
Cyrillic, Bulgarian Cyrillic, and the Latin of his passport's MRZ as a Romanian border system
would store it) so cross-country correlation can be shown. Records are kept as tuples of
pairs so no caller can change what `generate` yields by mutating `DEMO_SUBJECTS`.
"""

from __future__ import annotations

Pairs = tuple[tuple[str, object], ...]

DEMO_RECORDS: tuple[tuple[str, Pairs], ...] = (
    (
        "RS",
        (
            ("id", "RS-P-000001"),
            ("kind", "person"),
            ("given", "Јован"),
            ("family", "Петровић"),
            ("dob", "1985-03-14"),
            ("sex", "M"),
            ("nationality", "RS"),
            ("category", "wanted"),
        ),
    ),
    (
        "RS",
        (
            ("id", "RS-D-000001"),
            ("kind", "document"),
            ("doc_type", "passport"),
            ("number", "012345678"),
            ("issuing_country", "RS"),
            ("category", "invalidated"),
        ),
    ),
    (
        "RS",
        (
            ("id", "RS-V-000001"),
            ("kind", "vehicle"),
            ("plate", "BG 123-AB"),
            ("plate_country", "RS"),
            ("vin", "WVWZZZ1K49W123456"),
            ("category", "stolen"),
        ),
    ),
    (
        "RS",
        (
            ("id", "RS-T-000001"),
            ("kind", "phone"),
            ("number", "064 123 4567"),
            ("category", "suspect"),
        ),
    ),
    (
        "BG",
        (
            ("id", "BG-P-000001"),
            ("kind", "person"),
            ("given", "Йован"),
            ("family", "Петрович"),
            ("dob", "1985-03-14"),
            ("sex", "M"),
            ("nationality", "RS"),
            ("category", "wanted"),
        ),
    ),
    (
        "RO",
        (
            ("id", "RO-P-000001"),
            ("kind", "person"),
            ("given", "Jovan"),
            ("family", "Petrovic"),
            ("dob", "1985-03-14"),
            ("sex", "M"),
            ("nationality", "RS"),
            ("category", "suspect"),
        ),
    ),
    (
        "RO",
        (
            ("id", "RO-D-000001"),
            ("kind", "document"),
            ("doc_type", "id_card"),
            ("number", "RX 123456"),
            ("issuing_country", "RO"),
            ("category", "stolen"),
        ),
    ),
    (
        "GR",
        (
            ("id", "GR-P-000001"),
            ("kind", "person"),
            ("given", "Γεώργιος"),
            ("family", "Παπαδόπουλος"),
            ("dob", "1979-11-02"),
            ("sex", "M"),
            ("nationality", "GR"),
            ("category", "suspect"),
        ),
    ),
    (
        "TR",
        (
            ("id", "TR-P-000001"),
            ("kind", "person"),
            ("given", "İsmail"),
            ("family", "Yıldırım"),
            ("dob", "1982-07-21"),
            ("sex", "M"),
            ("nationality", "TR"),
            ("category", "wanted"),
        ),
    ),
    (
        "HU",
        (
            ("id", "HU-P-000001"),
            ("kind", "person"),
            ("given", "László"),
            ("family", "Nagy"),
            ("dob", "1975-05-30"),
            ("sex", "M"),
            ("nationality", "HU"),
            ("category", "missing"),
        ),
    ),
    (
        "AL",
        (
            ("id", "AL-P-000001"),
            ("kind", "person"),
            ("given", "Gëzim"),
            ("family", "Çaushi"),
            ("dob", "1990-08-05"),
            ("sex", "M"),
            ("nationality", "AL"),
            ("category", "wanted"),
        ),
    ),
)
