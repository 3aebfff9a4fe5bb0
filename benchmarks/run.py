"""Run the benchmark harness: `make bench`, or `.venv/bin/python -m benchmarks.run`.

Starts 11 real member-state nodes (one process each, over seeded SQLite databases), then
runs the scenarios against servers it launches itself, prints every figure with its target
and PASS/FAIL, and writes the whole report to benchmarks/results/latest.json. See
benchmarks/README.md for what each scenario measures and why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/run.py` as well as `python -m benchmarks.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import cluster, load, profiling
from benchmarks.scenarios import SCENARIOS, TITLES, Bench, format_figure

RESULTS = Path(__file__).resolve().parent / "results"


def _steps(text: str) -> list[int]:
    steps = sorted({int(part) for part in text.split(",") if part.strip()})
    if not steps or steps[0] < 1:
        raise argparse.ArgumentTypeError("expected positive integers, e.g. 1,2,4,8")
    return steps


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option has a default that keeps a run under ~5 minutes."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Federation benchmarks: every target a ratio measured in the same run.",
    )
    parser.add_argument(
        "--scenarios",
        default="1,2,3,4",
        help="which to run, comma separated: 1 fan-out, 2 features, 3 stragglers, 4 scale, "
        "5 batch screening (not in the default: a million subjects take a while)",
    )
    parser.add_argument("--persons", type=int, default=10_000, help="persons per node")
    parser.add_argument(
        "--duration", type=float, default=3.0, help="seconds of load per measurement step"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating A/B rounds in scenarios 1 and 3"
    )
    parser.add_argument("--delay-ms", type=float, default=20.0, help="simulated node distance")
    parser.add_argument(
        "--steps", type=_steps, default=_steps("1,2,4,8,16,32,64"), help="concurrency steps"
    )
    parser.add_argument("--straggler", default="TR", help="the node that hangs in scenario 3")
    parser.add_argument("--straggler-deadline", type=float, default=1.0)
    parser.add_argument(
        "--straggler-rate", type=float, default=4.0, help="searches per second in scenario 3"
    )
    parser.add_argument(
        "--screen-subjects",
        type=int,
        default=200_000,
        help="subjects streamed through Screen for the throughput figures (scenario 5)",
    )
    parser.add_argument(
        "--screen-million",
        type=int,
        default=1_000_000,
        help="subjects of the memory run in scenario 5 (0 skips it)",
    )
    parser.add_argument("--no-ghz", action="store_true", help="use the harness client only")
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the py-spy profile"
    )
    parser.add_argument("--profile-seconds", type=float, default=8.0)
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--data-dir", type=Path, default=RESULTS / "data", help="seeded databases (kept)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target that applies fails"
    )
    return parser


def say(line: str) -> None:
    """Progress and figures go to stdout as they come."""
    print(line, flush=True)


def _machine(ghz: str | None, py_spy: str | None) -> dict[str, object]:
    import grpc

    ghz_version = None
    if ghz:
        done = subprocess.run([ghz, "--version"], capture_output=True, text=True, check=False)
        ghz_version = (done.stdout or done.stderr).strip()
    return {
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "platform": platform.platform(),
        "ghz": ghz,
        "ghz_version": ghz_version,
        "py_spy": py_spy,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios; print the figures; write the JSON report."""
    options = build_parser().parse_args(argv)
    chosen = [s.strip() for s in options.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        say(f"unknown scenario(s) {unknown}; expected some of {', '.join(SCENARIOS)}")
        return 2
    ghz = None if options.no_ghz else load.find_ghz()
    py_spy = profiling.find_py_spy() if options.profile else None
    started = time.monotonic()
    machine = _machine(ghz, py_spy)
    say(
        f"benchmarks: {machine['cores']} cores, load average {machine['load_average']}, "
        f"ghz {'at ' + ghz if ghz else 'not found (harness client instead)'}, "
        f"py-spy {'found' if py_spy else 'not used'}"
    )
    work_dir = RESULTS / "run"
    work_dir.mkdir(parents=True, exist_ok=True)
    data_dir, data = cluster.ensure_data(options.data_dir, options.persons, say)
    say(f"starting {len(cluster.COUNTRIES)} nodes ({options.persons} persons each) ...")
    nodes = cluster.start_nodes(data_dir)
    bench = Bench(options, nodes, work_dir, ghz, py_spy, say)
    failed_scenarios: dict[str, str] = {}
    try:
        for scenario in chosen:
            title = TITLES[scenario].format(
                delay=f"{options.delay_ms:g}", deadline=f"{options.straggler_deadline:g}"
            )
            say(f"\n[{scenario}] {title}")
            began = time.monotonic()
            try:
                SCENARIOS[scenario](bench)
            except Exception as exc:  # one broken scenario must not hide the others' figures
                failed_scenarios[scenario] = f"{type(exc).__name__}: {exc}"
                say(f"  scenario {scenario} failed: {failed_scenarios[scenario]}")
            say(f"  ({time.monotonic() - began:.0f} s)")
    finally:
        cluster.stop_processes(node.process for node in nodes.values())
    report = {
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "machine": machine | {"load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "options": {
            key: (str(value) if isinstance(value, Path) else value)
            for key, value in vars(options).items()
        },
        "data": data,
        "figures": [figure.as_dict() for figure in bench.figures],
        "details": bench.details,
        "failed_scenarios": failed_scenarios,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    say("\nsummary")
    for figure in bench.figures:
        if figure.target is not None:
            say(f"[{figure.scenario}]" + format_figure(figure))
    verdicts = [f.status for f in bench.figures]
    say(
        f"\n{verdicts.count('PASS')} passed, {verdicts.count('FAIL')} failed"
        + (f", {verdicts.count('N/A')} not applicable" if "N/A" in verdicts else "")
        + (f"; scenarios that broke: {', '.join(failed_scenarios)}" if failed_scenarios else "")
        + f"; {report['seconds']:.0f} s; report in {options.output}"
    )
    if failed_scenarios:
        return 1
    return 1 if options.strict and "FAIL" in verdicts else 0


if __name__ == "__main__":
    sys.exit(main())
