"""The long fuzz run: thousands of hostile requests to every RPC of a real federation.

    .venv/bin/python -m benchmarks.fuzz --examples 10000

Starts its own federations on free loopback ports (tests/fuzz/harness.py: a plain one and
one with mutual TLS and tokens), then runs the properties of tests/fuzz with hypothesis,
the examples shared out over every RPC and every way of reaching it (well-formed hostile
messages, and raw bytes), and asks for more until the total is reached (a small request
type, like GetStatus's empty one, runs out of distinct examples early). The property is
the contract of docs/errors.md: a documented status code, never INTERNAL or UNKNOWN, no
traceback, path or SQL in a message; and, after the run, both brokers still answer a
normal search.

Prints examples and a status-code histogram per RPC, then the failures (each with
hypothesis's smallest failing example); exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from hypothesis import HealthCheck, given, settings

from tests.fuzz.contract import ALLOWED, problems
from tests.fuzz.harness import Running, Target, call, start, targets

SUPPRESSED = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
]
MAX_PASSES = 20


@dataclass
class Property:
    """One target with one kind of input, and what its runs saw."""

    target: Target
    kind: str  # "messages" or "raw"
    examples: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    exhausted: bool = False

    @property
    def name(self) -> str:
        """target@channel (kind)."""
        return f"{self.target.name} ({self.kind})"


def run_property(prop: Property, examples: int, failures: list[str]) -> None:
    """Run prop for up to `examples` examples; a failure is recorded, not raised."""
    target = prop.target
    allowed = ALLOWED[target.method] - {grpc.StatusCode.DEADLINE_EXCEEDED}
    inputs = target.requests if prop.kind == "messages" else target.raw
    before = prop.examples

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=SUPPRESSED,
        print_blob=True,
    )
    @given(payload=inputs, metadata=target.metadata)
    def check(payload: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        outcome = call(target.channel, target.method, payload, metadata)
        prop.examples += 1
        prop.codes[outcome.code.name] += 1
        found = problems(outcome, allowed)
        assert not found, "; ".join(found)

    try:
        check()
    except Exception as exc:  # a property failure: recorded, the run goes on
        failures.append(f"{prop.name}: {type(exc).__name__}: {str(exc)[:2000]}")
        prop.exhausted = True
        return
    if prop.examples - before < examples:
        prop.exhausted = True  # hypothesis ran out of distinct examples


def fuzz(
    running: Running, total: int, log: Callable[[str], None]
) -> tuple[list[Property], list[str]]:
    """Share `total` examples over every property; run until they are all spent."""
    props = [Property(t, kind) for t in targets(running) for kind in ("messages", "raw")]
    failures: list[str] = []
    for attempt in range(MAX_PASSES):
        done = sum(p.examples for p in props)
        live = [p for p in props if not p.exhausted]
        if done >= total or not live:
            break
        share = max(1, math.ceil((total - done) / len(live)))
        log(f"pass {attempt + 1}: {total - done} examples left over {len(live)} properties")
        for prop in live:
            started = time.monotonic()
            run_property(prop, share, failures)
            log(f"  {prop.name:60} {prop.examples:6d} examples  {time.monotonic() - started:6.1f}s")
    return props, failures


def report(props: list[Property], failures: list[str], elapsed: float) -> dict[str, Any]:
    """Examples and codes per RPC, in total, and the failures."""
    by_rpc: dict[str, Counter[str]] = {}
    examples: Counter[str] = Counter()
    for prop in props:
        by_rpc.setdefault(prop.target.method, Counter()).update(prop.codes)
        examples[prop.target.method] += prop.examples
    totals: Counter[str] = Counter()
    for codes in by_rpc.values():
        totals.update(codes)
    return {
        "examples": sum(examples.values()),
        "elapsed_seconds": round(elapsed, 1),
        "per_rpc": {
            method: {"examples": examples[method], "codes": dict(by_rpc[method].most_common())}
            for method in sorted(by_rpc)
        },
        "codes": dict(totals.most_common()),
        "failures": failures,
    }


def print_report(summary: dict[str, Any]) -> None:
    """The report as a table."""
    print(f"\n{'RPC':44} {'examples':>8}  status codes")
    for method, row in summary["per_rpc"].items():
        codes = ", ".join(f"{code} {count}" for code, count in row["codes"].items())
        print(f"{method.removeprefix('/selec.v1.'):44} {row['examples']:8d}  {codes}")
    print(
        f"\n{'all':44} {summary['examples']:8d}  "
        + ", ".join(f"{code} {count}" for code, count in summary["codes"].items())
    )
    print(f"elapsed {summary['elapsed_seconds']} s; failures: {len(summary['failures'])}")
    for failure in summary["failures"]:
        print(f"\nFAILURE {failure}")


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzers; 0 when every reply kept the contract and the servers still answer."""
    parser = argparse.ArgumentParser(prog="benchmarks.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--examples", type=int, default=10_000, help="examples in all (default 10000)"
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--quiet", action="store_true", help="no per-property progress lines")
    options = parser.parse_args(argv)

    def log(line: str) -> None:
        if not options.quiet:
            print(line, flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="selec-fuzz-") as data_dir:
        running = start(Path(data_dir))
        try:
            props, failures = fuzz(running, options.examples, log)
            try:
                if not running.search_works():
                    failures.append("after the run, a normal search no longer answers fully")
            except Exception as exc:  # the servers died: the worst failure of all
                failures.append(f"after the run, a normal search failed: {exc!r}")
        finally:
            running.close()
    summary = report(props, failures, time.monotonic() - started)
    print_report(summary)
    if options.json is not None:
        options.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 1 if failures or summary["examples"] < options.examples else 0


if __name__ == "__main__":
    sys.exit(main())
