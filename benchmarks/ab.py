"""Measure a changed broker beside the original: same nodes, same load, alternating.

    .venv/bin/python -m benchmarks.ab /path/to/changed/tree [--concurrency 2 --rounds 6]

Why: a suggested change to the broker is only worth making if it shows on this machine, and
on a shared two-core machine only a side-by-side comparison shows it. Both brokers run at
once over the same 11 nodes (from this repo's harness), each imported from its own source
tree; ghz (or the harness client) loads them in turn, A B B A ..., and the figures are the
medians over rounds of throughput, p50 and the broker process's CPU per search.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import cluster, load
from benchmarks.scenarios import harness_load

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    """Run the A/B comparison and print one line per tree; write results/ab.json."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab")
    parser.add_argument("tree", type=Path, help="source tree with the changed product")
    parser.add_argument("--base", type=Path, default=cluster.REPO, help="the original tree")
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "data")
    options = parser.parse_args(argv)
    trees = {"base": options.base.resolve(), "changed": options.tree.resolve()}
    ghz = load.find_ghz()
    data_dir, _ = cluster.ensure_data(options.data_dir, options.persons)
    nodes = cluster.start_nodes(data_dir)
    servers: dict[str, cluster.Server] = {}
    rows: dict[str, list[load.LoadResult]] = {name: [] for name in trees}
    try:
        for node in nodes.values():
            node.control.delay = options.delay_ms / 1000
        config = cluster.federation_config(nodes)
        for name, tree in trees.items():
            servers[name] = cluster.start_server(
                f"ab-{name}", "broker", config, RESULTS / "run", tree=tree
            )
        for index in range(options.rounds + 1):  # round 0 warms both up and is dropped
            order = list(trees) if index % 2 == 0 else list(reversed(trees))
            for name in order:
                server = servers[name]
                groups = {"server": server.worker_pids, "nodes": [n.pid for n in nodes.values()]}
                with cluster.cpu_meter(groups) as cpu:
                    if ghz:
                        result = load.run_ghz(
                            ghz, server.address, options.concurrency, options.duration
                        )
                    else:
                        result = asyncio.run(
                            harness_load(server.address, options.concurrency, options.duration)
                        )
                result.cpu = dict(cpu)
                if index:
                    rows[name].append(result)
    finally:
        for server in servers.values():
            server.stop()
        cluster.stop_processes(node.process for node in nodes.values())
    report = {}
    for name, results in rows.items():
        cpu = [1000 * r.cpu["server"] / r.calls for r in results if r.calls]
        report[name] = {
            "tree": str(trees[name]),
            "rps": statistics.median(r.rps for r in results),
            "p50_ms": 1000 * statistics.median(r.p50 for r in results),
            "broker_cpu_ms_per_search": statistics.median(cpu),
            "rounds": [r.as_dict() for r in results],
        }
        line = report[name]
        print(
            f"{name:8} {line['rps']:7.1f} searches/s  p50 {line['p50_ms']:6.1f} ms  "
            f"broker CPU {line['broker_cpu_ms_per_search']:5.2f} ms/search  ({trees[name]})"
        )
    base, changed = report["base"], report["changed"]
    cpu_ratio = changed["broker_cpu_ms_per_search"] / base["broker_cpu_ms_per_search"]
    print(
        f"changed / base: throughput {changed['rps'] / base['rps']:.3f}, "
        f"broker CPU per search {cpu_ratio:.3f}"
    )
    (RESULTS / "ab.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
