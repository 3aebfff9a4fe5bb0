"""`selec screen FILE` as a user runs it, against a running federation.

The federation runs in this test's event loop; the command runs as a subprocess started
with asyncio, so the loop keeps serving the broker and the nodes while the command works.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path

import pytest

from selec.countries import MEMBER_STATES
from tests.federation import Federation

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FIELDS = "subject_id,given,family,dob,birth_year,sex,nationality,document,document_type,document_country,plate,plate_country,vin,phone,phone_region"  # noqa: E501


def selec_command() -> list[str]:
    """The installed console script, as a user would call it."""
    script = Path(sys.executable).with_name("selec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "selec.cli.main"]


async def selec_screen(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run `selec screen ARGS`; exit status, stdout, stderr."""
    environ = dict(os.environ)
    # The code under test is this tree's, wherever the console script was installed from.
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), environ.get("PYTHONPATH", "")) if p
    )
    process = await asyncio.create_subprocess_exec(
        *selec_command(),
        "screen",
        "--insecure",  # the test federation runs without TLS and tokens
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS.split(","))
        writer.writeheader()
        writer.writerows(rows)
    return path


async def test_screen_a_csv_file_to_an_output_file(federation: Federation, tmp_path: Path) -> None:
    rows = [
        {
            "subject_id": "P1",
            "given": "Jovan",
            "family": "Petrovic",
            "dob": "1985-03-14",
            "sex": "m",
        },
        {"subject_id": "P2", "given": "Jovan", "family": "Petrovic", "dob": "14.03.1985"},
        {"subject_id": "P3", "given": "Ana", "family": "Zzyzx", "sex": "Q"},
        {"subject_id": "D1", "document": "012345678", "document_country": "RS"},
        {"subject_id": "V1", "plate": "BG 123-AB", "plate_country": "RS"},
        {"subject_id": "N1", "given": "Zzyzx", "family": "Qwertyuiop", "dob": "1901-01-01"},
        {"subject_id": "E1"},
        {"subject_id": "T1", "phone": "064 123 4567", "phone_region": "RS"},
    ]
    source = write_csv(tmp_path / "list.csv", rows)
    output = tmp_path / "results.jsonl"
    code, out, err = await selec_screen(
        str(source), "--broker", federation.broker.address, "--output", str(output)
    )
    assert code == 0, err
    assert out == ""
    lines = json_lines(output.read_text())
    results, summary = lines[:-1], lines[-1]
    assert [r["subject_id"] for r in results] == [row["subject_id"] for row in rows]
    assert [r["line"] for r in results] == list(range(2, 2 + len(rows)))
    by_id = {r["subject_id"]: r for r in results}
    assert {h["country"] for h in by_id["P1"]["hits"]} >= {"RS", "BG", "RO"}
    assert by_id["P1"]["hits"][0]["kind"] == "PERSON"
    assert "date_of_birth" in by_id["P2"]["error"]
    assert by_id["P3"]["error"] == "line 4: sex: expected M, F or X, got 'Q'"
    assert [h["country"] for h in by_id["D1"]["hits"]] == ["RS"]
    assert by_id["D1"]["hits"][0]["kind"] == "DOCUMENT"
    assert {h["country"] for h in by_id["V1"]["hits"]} == {"RS"}
    assert by_id["N1"]["hits"] == []
    assert by_id["E1"]["error"].startswith("criteria: empty")
    assert [h["country"] for h in by_id["T1"]["hits"]] == ["RS"]
    assert summary["type"] == "summary"
    assert summary["subjects"] == len(rows)
    assert summary["subjects_with_hits"] == 4
    assert summary["subjects_with_errors"] == 3
    assert summary["unreadable_lines"] == 1
    assert [r["country"] for r in summary["results"]] == list(MEMBER_STATES)
    assert {r["status"] for r in summary["results"]} <= {"HIT", "NO_HIT"}
    assert "screened 7 of 8 read" in err  # the last progress line (stderr is not a TTY)


async def test_screen_a_jsonl_file_to_stdout(federation: Federation, tmp_path: Path) -> None:
    source = tmp_path / "list.jsonl"
    lines = [
        json.dumps(
            {"subject_id": "A", "given": "Јован", "family": "Петровић", "dob": "1985-03-14"}
        ),
        "{not json",
        "",
        json.dumps({"subject_id": "B", "document": "RX 123456", "birth_year": "19x"}),
        json.dumps({"subject_id": "C", "given": "László", "family": "Nagy", "dob": "1975-05-30"}),
        json.dumps({"subject_id": "D", "colour": "blue"}),
        json.dumps({"subject_id": "E", "document": "RX 123456", "document_country": "RO"}),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = await selec_screen(
        str(source),
        "--broker",
        federation.broker.address,
        "--countries",
        "rs,RO",
        "--batch",
        "2",
    )
    assert code == 0, err
    results = json_lines(out)
    summary = results.pop()
    assert [(r["line"], r["subject_id"]) for r in results] == [
        (1, "A"),
        (2, ""),
        (4, "B"),
        (5, "C"),
        (6, "D"),
        (7, "E"),
    ]
    assert {h["country"] for h in results[0]["hits"]} == {"RS", "RO"}
    assert results[1]["error"].startswith("line 2: not JSON")
    assert results[2]["error"] == "line 4: birth_year: expected a year, got '19x'"
    assert results[3]["hits"] == []  # László Nagy is held in HU, which was not asked
    assert results[4]["error"] == "line 6: unknown field 'colour'"
    assert [h["country"] for h in results[5]["hits"]] == ["RO"]
    assert [r["country"] for r in summary["results"]] == ["RS", "RO"]
    assert summary["subjects"] == 6
    assert summary["subjects_with_errors"] == 3


async def test_stdin_with_a_format(federation: Federation) -> None:
    text = "subject_id,given,family,dob\nP1,Jovan,Petrovic,1985-03-14\n"
    code, out, err = await selec_screen(
        "-", "--format", "csv", "--broker", federation.broker.address, stdin=text.encode()
    )
    assert code == 0, err
    first, summary = json_lines(out)
    assert first["subject_id"] == "P1" and first["hits"]
    assert summary["subjects"] == 1


async def test_problems_with_the_file_or_the_options_exit_2(
    federation: Federation, tmp_path: Path
) -> None:
    broker = ("--broker", federation.broker.address)
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("subject_id,name\nP1,Jovan\n")
    code, out, err = await selec_screen(str(bad_header), *broker)
    assert code == 2
    assert "header: unknown field 'name'" in err
    assert out == ""
    code, _, err = await selec_screen(str(tmp_path / "missing.csv"), *broker)
    assert code == 2 and "missing.csv" in err
    unknown = tmp_path / "list.txt"
    unknown.write_text("x\n")
    code, _, err = await selec_screen(str(unknown), *broker)
    assert code == 2 and "--format" in err
    good = write_csv(tmp_path / "good.csv", [{"subject_id": "P1", "document": "012345678"}])
    code, _, err = await selec_screen(str(good), *broker, "--purpose", " ")
    assert code == 2 and "header.purpose: required" in err
    code, _, err = await selec_screen(str(good), *broker, "--countries", "XX")
    assert code == 2 and "header.countries" in err
    code, _, err = await selec_screen(str(good), *broker, "--batch", "0")
    assert code == 2 and "--batch" in err


async def test_no_broker_exits_1(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", [{"subject_id": "P1", "document": "012345678"}])
    code, _, err = await selec_screen(str(good), "--broker", "127.0.0.1:9")
    assert code == 1
    assert "no broker answers" in err


async def test_a_long_list_goes_several_subjects_per_message_and_keeps_every_line(
    federation: Federation, tmp_path: Path
) -> None:
    """More lines than one request message holds (SUBJECTS_PER_MESSAGE), with an unreadable
    line and a subject the broker refuses inside a message: every line gets its result, in
    input order, and the ones around the bad lines are screened."""
    lines = []
    for index in range(250):
        if index == 120:
            lines.append("{not json")
        elif index == 130:
            row = {"subject_id": f"S{index}", "given": "Jovan", "family": "Petrovic"}
            lines.append(json.dumps(row | {"dob": "14.03.1985"}))
        elif index % 50 == 49:
            row = {"subject_id": f"S{index}", "given": "Jovan", "family": "Petrovic"}
            lines.append(json.dumps(row | {"dob": "1985-03-14"}))
        else:
            lines.append(json.dumps({"subject_id": f"S{index}", "document": f"X{index:08d}"}))
    source = tmp_path / "list.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = await selec_screen(str(source), "--broker", federation.broker.address)
    assert code == 0, err
    found = json_lines(out)
    results, summary = found[:-1], found[-1]
    assert [r["line"] for r in results] == list(range(1, 251))
    assert results[120]["error"].startswith("line 121:")
    assert "date_of_birth" in results[130]["error"]
    with_hits = [r["subject_id"] for r in results if r.get("hits")]
    assert with_hits == [f"S{i}" for i in range(49, 250, 50)]
    assert all("error" not in r for i, r in enumerate(results) if i not in (120, 130))
    assert summary["subjects"] == 250
    assert summary["subjects_with_errors"] == 2
    assert summary["subjects_with_hits"] == 5
    assert summary["unreadable_lines"] == 1
