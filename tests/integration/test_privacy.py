"""No plaintext personal data in what the broker writes: the index, and its logs.

Nodes hold records with known plaintext canaries (names in their own scripts, document
numbers, plates, phones, dates of birth); everything is published and searched, a node is
stopped so answers also come from the index; then every document the index holds, the
index's raw database file and every log line are scanned for each canary, in the forms an
attacker would try: as written, upper and lower case, folded to ASCII, without separators.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest
from anyascii import anyascii

from broker.config import IndexSettings
from connectors.records import parse_record
from connectors.synthetic import DEMO_SUBJECTS, generate
from tests.federation import node_settings, person, seed_node, start_federation

pytestmark = pytest.mark.integration

COUNTRIES = ("RS", "BG", "GR", "TR")
HEX_ONLY = re.compile(r"[0-9a-f]+")
CANARIES = [
    {
        "id": "RS-CANARY-1",
        "kind": "person",
        "given": "Живорад",
        "family": "Канаринчевић",
        "dob": "1961-02-03",
        "sex": "M",
        "category": "wanted",
    },
    {
        "id": "RS-CANARY-2",
        "kind": "document",
        "doc_type": "passport",
        "number": "CN9876543",
        "issuing_country": "RS",
        "category": "stolen",
    },
    {
        "id": "RS-CANARY-3",
        "kind": "vehicle",
        "plate": "ZZ 987-QX",
        "plate_country": "RS",
        "vin": "WVWZZZ1JZXW987654",
        "category": "stolen",
    },
    {"id": "RS-CANARY-4", "kind": "phone", "number": "+381 64 987 6543", "category": "suspect"},
]


def forms(value: str) -> set[str]:
    """How a plaintext value might appear: as written, cased, ASCII-folded, unseparated."""
    folded = anyascii(value)
    found = {value, value.upper(), value.casefold(), folded, folded.upper(), folded.casefold()}
    found |= {re.sub(r"[\s\-.+]", "", f) for f in set(found)}
    return {f for f in found if len(f) >= 6 and not HEX_ONLY.fullmatch(f.casefold())}


def date_forms(iso: str) -> set[str]:
    year, month, day = iso.split("-")
    return {iso, f"{year}{month}{day}", f"{day}.{month}.{year}", f"{day}/{month}/{year}"}


def canaries_of(records: Iterable[dict]) -> set[str]:
    found: set[str] = set()
    for raw in records:
        record = parse_record(raw)
        for name, value in record.fields.items():
            if name == "dob":
                found |= date_forms(str(value))
            elif name in {"given", "family", "number", "plate", "vin"}:
                found |= forms(str(value))
    return found


def tokens(value: str) -> set[str]:
    """Words of 6+ characters that are not plain hex (digests are hex by design)."""
    words = re.findall(r"\w+", value.casefold())
    return {w for w in words if len(w) >= 6 and not HEX_ONLY.fullmatch(w)}


def leaks(text: str, canaries: set[str]) -> list[str]:
    """Canary words found among the words of text."""
    wanted = set().union(*(tokens(c) for c in canaries))
    return sorted(wanted & tokens(text))


async def test_nothing_plaintext_in_index_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, backend: IndexSettings
) -> None:
    for logger in ("broker", "connectors", "selec"):
        caplog.set_level(logging.DEBUG, logger=logger)
    held: list[dict] = []
    for country in COUNTRIES:
        extra = CANARIES if country == "RS" else []
        seed_node(node_settings(country, tmp_path), 300, extra)
        held += [*generate(country, persons=300, seed=7), *extra]
    canaries = canaries_of(held) | canaries_of(s["record"] for s in DEMO_SUBJECTS)
    assert len(canaries) > 1000
    federation = await start_federation(tmp_path, COUNTRIES, index=backend)
    try:
        for country in COUNTRIES:
            await federation.publish(country)
        await federation.search(person("Живорад", "Канаринчевић", "1961-02-03"))
        await federation.nodes["RS"].stop(0)
        _, summary = await federation.search(person("Zivorad", "Kanarincevic", "1961-02-03"))
        assert summary.results[0].status != 0
        documents = list(federation.broker.index.index.documents())  # type: ignore[union-attr]
    finally:
        await federation.close()
    assert len(documents) > 1000
    text = json.dumps(documents, ensure_ascii=False)
    assert "RS-" in text  # the scan reads real documents
    assert leaks(text, canaries) == []
    if backend.sqlite_path is not None:
        with sqlite3.connect(backend.sqlite_path) as db:
            dump = "\n".join(db.iterdump())  # every row of every table, metadata included
        assert "reference" in dump
        assert leaks(dump, canaries) == []
    assert leaks(caplog.text, canaries) == []
    # The test can fail: the canaries are in the node's own database.
    with sqlite3.connect(tmp_path / "rs.db") as db:
        node_dump = "\n".join(db.iterdump())
    assert "Канаринчевић".casefold() in leaks(node_dump, canaries)
