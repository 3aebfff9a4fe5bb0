"""The `selec` commands as a user runs them: demo, search, import, stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from selec.countries import MEMBER_STATES

pytestmark = pytest.mark.e2e

READY_SECONDS = 120
NODE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo" / "nodes" / "rs.yaml"


def selec_command() -> list[str]:
    """The installed console script, as a user would call it."""
    script = Path(sys.executable).with_name("selec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "selec.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_base() -> int:
    """A base such that base+1 .. base+11 are all free now."""
    for _ in range(50):
        base = free_port() - 12
        sockets = []
        try:
            for offset in range(1, 12):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port range")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*selec_command(), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


class Demo:
    def __init__(self, data_dir: Path, persons: int) -> None:
        self.broker = f"127.0.0.1:{free_port()}"
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [
                *selec_command(),
                "demo",
                "--data-dir",
                str(data_dir),
                "--persons",
                str(persons),
                "--broker-listen",
                self.broker,
                "--node-port-base",
                str(free_port_base()),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        self.output: list[str] = []

    def wait_ready(self) -> float:
        started = time.monotonic()
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("federation ready"):
                return time.monotonic() - started
            if time.monotonic() - started > READY_SECONDS:
                break
        raise AssertionError("demo did not get ready:\n" + "".join(self.output))

    def client_args(self) -> list[str]:
        """How the client reaches this demo: its broker, CA and demo tokens."""
        return ["--broker", self.broker, "--data-dir", str(self.data_dir)]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo"), persons=300)
    try:
        running.wait_ready()
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def search_json(demo: Demo | _At, *criteria: str) -> tuple[list[dict], dict]:
    result = run("search", *demo.client_args(), "--json", *criteria)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["type"] == "summary"
    return lines[:-1], lines[-1]


def test_demo_prints_where_everything_listens(demo: Demo) -> None:
    text = "".join(demo.output)
    for country in MEMBER_STATES:
        assert f"node {country} on 127.0.0.1:" in text
    assert f"broker    on {demo.broker}" in text
    assert "selec search" in text


def test_search_in_latin_finds_the_serbian_record(demo: Demo) -> None:
    answers, summary = search_json(
        demo, "--given", "Jovan", "--family", "Petrovic", "--dob", "1985-03-14"
    )
    statuses = {r["country"]: r["status"] for r in summary["results"]}
    assert list(statuses) == list(MEMBER_STATES)
    assert statuses["RS"] == "HIT"
    assert set(statuses.values()) <= {"HIT", "NO_HIT"}
    rs = next(a for a in answers if a["country"] == "RS")
    assert rs["hits"][0]["kind"] == "PERSON"
    assert rs["hits"][0]["category"] == "WANTED"
    assert len(answers) == 11


def test_table_output_fills_in_and_summarizes(demo: Demo) -> None:
    result = run(
        "search",
        *demo.client_args(),
        "--given",
        "Jovan",
        "--family",
        "Petrovic",
        "--dob",
        "1985-03-14",
        "--countries",
        "RS,BG",
    )
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["COUNTRY", "STATUS", "LATENCY", "HITS"]
    assert any(line.startswith("RS") and "HIT" in line for line in lines)
    assert any("-> RS-" in line for line in lines)
    assert "2 countries asked" in lines[-1]


def test_bad_criteria_exit_2_with_a_clear_message(demo: Demo) -> None:
    result = run("search", *demo.client_args(), "--given", "Jovan", check=False)
    assert result.returncode == 2
    assert "criteria.person.family_names: required" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_into_the_running_demo(demo: Demo, tmp_path: Path) -> None:
    records = tmp_path / "new.jsonl"
    records.write_text(
        json.dumps(
            {
                "id": "RS-NEW-1",
                "kind": "person",
                "given": "Милица",
                "family": "Стојановић",
                "dob": "1991-09-09",
                "sex": "F",
                "category": "missing",
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    _, before = search_json(
        demo,
        "--given",
        "Milica",
        "--family",
        "Stojanovic",
        "--dob",
        "1991-09-09",
        "--countries",
        "RS",
    )
    assert before["results"][0]["status"] == "NO_HIT"
    result = run("import", "--country", "RS", "--data-dir", str(demo.data_dir), str(records))
    assert "imported 1 record" in result.stdout
    _, after = search_json(
        demo,
        "--given",
        "Milica",
        "--family",
        "Stojanovic",
        "--dob",
        "1991-09-09",
        "--countries",
        "RS",
    )
    assert after["results"][0]["status"] == "HIT"


def test_import_of_a_bad_file_names_the_lines(demo: Demo, tmp_path: Path) -> None:
    records = tmp_path / "bad.jsonl"
    records.write_text('{"id": "X", "kind": "person", "category": "wanted"}\n')
    result = run(
        "import", "--country", "RS", "--data-dir", str(demo.data_dir), str(records), check=False
    )
    assert result.returncode == 1
    assert "line 1: given: required" in result.stderr
    assert "nothing imported" in result.stderr


def test_search_without_a_broker_says_so(tmp_path: Path) -> None:
    result = run(
        "search",
        "--broker",
        f"127.0.0.1:{free_port()}",
        "--given",
        "A",
        "--family",
        "B",
        "--deadline",
        "3",
        "--insecure",
        check=False,
    )
    assert result.returncode == 1
    assert "no broker answers" in result.stderr


def test_nodes_exit_when_the_demo_is_killed_outright(tmp_path: Path) -> None:
    demo = Demo(tmp_path, persons=0)
    demo.wait_ready()
    pids = [int(line.split("pid ")[1].split()[0]) for line in demo.output if " pid " in line]
    assert len(pids) == 11
    demo.process.kill()
    demo.process.wait()
    deadline = time.monotonic() + 15
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in pids if _running(pid)]
    assert not alive, f"orphaned nodes still running: {alive}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_demo_stops_cleanly_and_restarts_from_its_data(tmp_path: Path) -> None:
    first = Demo(tmp_path, persons=50)
    try:
        first.wait_ready()
    finally:
        assert first.stop() == 0
    second = Demo(tmp_path, persons=50)
    try:
        second.wait_ready()
        assert any("using the data" in line for line in second.output)
        _, summary = search_json(
            second,
            "--given",
            "Jovan",
            "--family",
            "Petrovic",
            "--dob",
            "1985-03-14",
            "--countries",
            "RS",
        )
        assert summary["results"][0]["status"] == "HIT"
    finally:
        assert second.stop() == 0


def test_publish_then_a_stopped_node_is_answered_from_the_index(tmp_path: Path) -> None:
    demo = Demo(tmp_path, persons=50)
    try:
        demo.wait_ready()
        result = run(
            "publish", "--country", "RS", "--data-dir", str(tmp_path), "--broker", demo.broker
        )
        assert result.stdout.startswith("published ")
        assert " reference(s) of RS as of " in result.stdout
        rs_pid = next(
            int(line.split("pid ")[1].split()[0])
            for line in demo.output
            if line.startswith("  node RS")
        )
        os.kill(rs_pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _running(rs_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _, summary = search_json(
            demo, "--given", "Jovan", "--family", "Petrovic", "--dob", "1985-03-14"
        )
        statuses = {r["country"]: r["status"] for r in summary["results"]}
        assert statuses["RS"] == "INDEXED_HIT"
        assert len(statuses) == 11
        rs = next(r for r in summary["results"] if r["country"] == "RS")
        assert "answered from the index as of" in rs["detail"]
        assert {"RS", "BG", "RO"} <= {
            m["country"] for s in summary["subjects"] for m in s["members"]
        }
    finally:
        assert demo.stop() == 0


def test_broker_with_two_workers_serves_one_port_and_drains(tmp_path: Path) -> None:
    (tmp_path / "federation.key").write_text("ab" * 32)
    port = free_port()
    config = tmp_path / "broker.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"key_secret_file: {tmp_path / 'federation.key'}\n"
        "workers: 2\n"
        f"countries:\n  RS: {{endpoint: 127.0.0.1:{free_port()}, deadline_seconds: 1}}\n"
    )
    process = subprocess.Popen(
        [*selec_command(), "broker", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        listening = 0
        seen = []
        while listening < 2:
            line = process.stdout.readline()
            assert line, f"broker workers did not start: {seen}"
            seen.append(line)
            listening += f"broker listening on 127.0.0.1:{port}" in line
        for _ in range(4):
            _, summary = search_json(
                _At(f"127.0.0.1:{port}"), "--given", "Jovan", "--family", "Petrovic"
            )
            assert summary["results"][0]["status"] == "UNAVAILABLE"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


class _At:
    """Just enough of a Demo for search_json: where the broker listens."""

    def __init__(self, broker: str) -> None:
        self.broker = broker

    def client_args(self) -> list[str]:
        return ["--broker", self.broker, "--insecure"]


def node_files(data_dir: Path) -> None:
    """What the demo RS node's config needs: secrets, and the demo PKI (selec certs)."""
    (data_dir / "federation.key").write_text("ab" * 32)
    (data_dir / "rs.reference.key").write_text("cd" * 32)
    run("certs", "--data-dir", str(data_dir))


def test_a_port_in_use_fails_fast_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        node_files(tmp_path)
        result = run(
            "connector",
            "--config",
            str(NODE_CONFIG),
            "--data-dir",
            str(tmp_path),
            "--listen",
            f"127.0.0.1:{port}",
            "--insecure",
            check=False,
        )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("selec ")]
    assert lines == [
        f"selec connector: cannot listen on 127.0.0.1:{port}: address in use or not available"
    ]
    assert "Traceback" not in result.stderr


def test_an_unreadable_certificate_fails_fast_with_one_line(tmp_path: Path) -> None:
    node_files(tmp_path)
    (tmp_path / "pki" / "ca.pem").unlink()
    result = run(
        "connector",
        "--config",
        str(NODE_CONFIG),
        "--data-dir",
        str(tmp_path),
        "--listen",
        f"127.0.0.1:{free_port()}",
        check=False,
    )
    assert result.returncode == 2
    assert f"cannot read {tmp_path / 'pki' / 'ca.pem'}" in result.stderr
    assert "Traceback" not in result.stderr
