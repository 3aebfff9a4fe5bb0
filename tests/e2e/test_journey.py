"""The whole journey as officers run it, with mTLS and tokens in `selec demo`:
search -> hit -> request -> approve (another user, the owning country) -> reveal,
then `selec audit verify` clean, and broken after one byte of the audit store changes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_cli import Demo, run

pytestmark = pytest.mark.e2e


def as_json(*args: str) -> dict:
    return json.loads(run(*args).stdout.splitlines()[-1])


def flip_one_byte(audit_db: Path, near: str) -> None:
    """Change one byte of the stored audit trail, where near (a hash) is stored."""
    db = sqlite3.connect(audit_db)  # fold the write-ahead log into the file first
    assert db.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    db.close()
    data = bytearray(audit_db.read_bytes())
    where = data.find(near.encode())
    assert where > 0
    data[where] = ord("0") if data[where] != ord("0") else ord("1")
    audit_db.write_bytes(bytes(data))


def test_search_request_approve_reveal_and_audit(tmp_path: Path) -> None:
    demo = Demo(tmp_path, persons=50)
    try:
        demo.wait_ready()
        client = demo.client_args()
        answers = [
            json.loads(line)
            for line in run(
                "search",
                *client,
                "--json",
                "--given",
                "Jovan",
                "--family",
                "Petrovic",
                "--dob",
                "1985-03-14",
                "--countries",
                "RS",
            ).stdout.splitlines()
        ]
        reference = answers[0]["hits"][0]["reference"]
        request = as_json(
            "request",
            *client,
            "--country",
            "RS",
            "--reference",
            reference,
            "--justification",
            "case 17/2026",
        )
        assert request["state"] == "REQUEST_STATE_PENDING"
        request_id = request["request_id"]
        pending = run("requests", *client, "--pending", "--as", "approver.rs").stdout
        assert request_id in pending
        refused = run(
            "decide",
            request_id,
            "--approve",
            "--handling",
            "H1",
            *client,
            "--as",
            "approver.bg",
            check=False,
        )
        assert refused.returncode == 1 and "NOT_FOUND" in refused.stderr
        decided = as_json(
            "decide", request_id, "--approve", "--handling", "H1", *client, "--as", "approver.rs"
        )
        assert decided["state"] == "REQUEST_STATE_APPROVED"
        revealed = as_json("reveal", request_id, *client)
        assert revealed["fields"]["given"] == "Јован"
        assert revealed["handling_code"] == "HANDLING_CODE_H1"
        again = run("reveal", request_id, *client, check=False)
        assert again.returncode == 1 and "already revealed" in again.stderr
        verified = run("audit", "verify", *client, "--as", "auditor.selec")
        assert "audit chain intact" in verified.stdout
        exported = run("audit", "export", *client, "--as", "auditor.selec").stdout
        events = [json.loads(line) for line in exported.splitlines()]
        actions = {event["action"] for event in events}
        decision_hash = next(e["hash"] for e in events if e["action"] == "decision")
        assert {"search", "hit", "request", "decision", "reveal", "refused"} <= actions
        denied = run("audit", "verify", *client, "--as", "officer.gr", check=False)
        assert denied.returncode == 1 and "PERMISSION_DENIED" in denied.stderr
    finally:
        assert demo.stop() == 0
    flip_one_byte(tmp_path / "reference-index-audit.db", decision_hash)
    demo = Demo(tmp_path, persons=50)
    try:
        demo.wait_ready()
        broken = run("audit", "verify", *demo.client_args(), "--as", "auditor.selec", check=False)
        assert broken.returncode == 1
        assert "BROKEN" in broken.stdout or "unreadable" in (broken.stdout + broken.stderr)
    finally:
        assert demo.stop() == 0
