"""The soak command end to end, briefly: `selec demo` under mixed load with node restarts
(SIGTERM and SIGKILL), an import and publish, then every check the 10-minute soak makes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli import free_port, free_port_base

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_a_short_soak_passes_every_check(tmp_path: Path) -> None:
    report_path = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.soak",
            "--minutes",
            "0.3",
            "--persons",
            "50",
            "--restart-every",
            "6",
            "--kill-share",
            "0.5",
            "--publish-every",
            "5",
            "--warmup",
            "5",
            "--data-dir",
            str(tmp_path / "data"),
            "--broker-listen",
            f"127.0.0.1:{free_port()}",
            "--node-port-base",
            str(free_port_base()),
            "--rng-seed",
            "7",
            "--json",
            str(report_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "RESULT: PASS" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["result"] == "PASS"
    assert report["errors"]["unexpected"] == {}
    assert len(report["restarts"]) >= 2
    assert report["calls"]["search"]["OK"] >= 15
    assert report["calls"]["request"]["OK"] >= 1
    # every OK call left its audit event, and the chain holds all of them
    assert report["audit"]["mismatches"] == {}
    assert report["audit"]["chain"]["ok"] is True
    assert report["audit"]["chain"]["checked"] >= report["audit"]["events"] > 0
    assert report["requests"]["made"] == sum(report["requests"]["states"].values())
    assert "missing" not in report["requests"]["states"]
    assert report["publishes"]["forced_by_soak"].get("publish ok", 0) >= 1
    assert report["publishes"]["broker_accepted_during_run"].get("ok", 0) >= 1
    assert set(report["final_status"].values()) == {"ok"}
    processes = {row["process"] for row in report["memory"]}
    assert "broker" in processes and len(processes) == 12
    assert all(row["verdict"] != "GROWING" for row in report["memory"])
    assert report["demo_exit"] == 0
