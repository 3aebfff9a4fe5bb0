"""docs/errors.md and the fuzzers' allow-list are one contract: they must say the same."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fuzz.contract import ALLOWED, COMMON

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
ROW = re.compile(r"^\| `(\w+/\w+)` \| (.+) \|$")
CODE = re.compile(r"`([A-Z_]{2,})`")


def documented() -> dict[str, set[str]]:
    """RPC -> the codes its row lists (beyond the ones every RPC may answer)."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- contract table", 1)[1]
    rows = {}
    for line in table.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows[f"/selec.v1.{match[1]}"] = set(CODE.findall(match[2]))
    return rows


def test_every_rpc_has_a_row_with_the_codes_the_fuzzers_allow() -> None:
    rows = documented()
    assert set(rows) == set(ALLOWED)
    for method, codes in ALLOWED.items():
        assert rows[method] == {c.name for c in codes - COMMON}, method


def test_the_codes_every_rpc_may_answer_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8").split("## Codes by RPC", 1)[0]
    assert {c.name for c in COMMON} <= set(CODE.findall(text))
