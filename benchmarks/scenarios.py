"""The four scenarios. Each returns figures (a value, its target, PASS/FAIL) and details.

Every target is a ratio of two things measured in the same run, close together in time,
and where they alternate (A, B, A, B ...) so that a burst of outside load on this shared
machine hits both sides rather than one.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import cluster, load, profiling
from benchmarks.load import LoadResult, SearchClient, SearchTiming, percentile

TIMEOUT_STATUS = 4  # selec.v1.COUNTRY_STATUS_TIMEOUT
PLATEAU_GAIN = 1.05  # a step that adds less than 5 % throughput does not count as growth
PLATEAU_PATIENCE = 2  # two such steps in a row: saturated
MIN_CORES_TO_SCALE = 4  # two broker workers plus the nodes and the load generator
# SO_REUSEPORT spreads connections, not calls, by a hash: with few connections both can
# land on one worker. Scenario 4 starts at 8 concurrent callers, one connection each.
MIN_CONNECTIONS = 8


@dataclass
class Figure:
    """One reported number and, when it has one, its target."""

    scenario: str
    name: str
    value: float
    unit: str
    target: float | None = None
    op: str = "<="
    applicable: bool = True
    note: str = ""

    @property
    def status(self) -> str:
        """PASS / FAIL against the target, N/A where the target does not apply, INFO else."""
        if self.target is None:
            return "INFO"
        if not self.applicable:
            return "N/A"
        if math.isnan(self.value):
            return "FAIL"
        ok = self.value <= self.target if self.op == "<=" else self.value >= self.target
        return "PASS" if ok else "FAIL"

    def as_dict(self) -> dict[str, object]:
        """For the JSON report."""
        return {
            "scenario": self.scenario,
            "name": self.name,
            "value": None if math.isnan(self.value) else round(self.value, 4),
            "unit": self.unit,
            "target": None if self.target is None else f"{self.op} {self.target}",
            "status": self.status,
            "note": self.note,
        }


@dataclass
class Bench:
    """What every scenario shares: options, the running nodes, tools, where files go."""

    options: Any
    nodes: dict[str, cluster.Node]
    work_dir: Path
    ghz: str | None
    py_spy: str | None
    say: Callable[[str], None]
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def set_nodes(self, delay: float = 0.0, hanging: str | None = None) -> None:
        """Every node's delay, and which one (if any) hangs."""
        for country, node in self.nodes.items():
            node.control.delay = delay
            node.control.hang = country == hanging

    @property
    def node_pids(self) -> list[int]:
        """Process ids of every node."""
        return [node.pid for node in self.nodes.values()]

    def add(self, figure: Figure) -> None:
        """Record a figure and print it at once (a long run shows progress)."""
        self.figures.append(figure)
        self.say(format_figure(figure))


def format_figure(figure: Figure) -> str:
    """One aligned line: name, value, target, status."""
    if figure.unit == "x":
        value = f"{figure.value:8.3f}  "
    elif figure.unit == "ms":
        value = f"{figure.value:8.2f} ms"
    elif figure.unit == "s":
        value = f"{figure.value:8.3f} s "
    else:
        value = f"{figure.value:8.1f} {figure.unit}"
    target = f"target {figure.op} {figure.target:g}" if figure.target is not None else ""
    line = f"  {figure.name:<52} {value}  {target:<16} {figure.status}"
    return line + (f"  ({figure.note})" if figure.note else "")


def _ms(seconds: float) -> float:
    return seconds * 1000


def _warm_up(address: str, count: int) -> None:
    async def run() -> None:
        client = SearchClient(address)
        try:
            for _ in range(count):
                await client.search()
        finally:
            await client.close()

    asyncio.run(run())


def _measure(
    bench: Bench, server: cluster.Server, concurrency: int, duration: float, connections: int
) -> LoadResult:
    """Closed-loop load on a server at one concurrency, with the CPU each side used."""
    groups = {"server": server.worker_pids, "nodes": bench.node_pids}
    groups |= {f"worker {pid}": [pid] for pid in server.worker_pids}
    with cluster.cpu_meter(groups) as cpu:
        if bench.ghz:
            result = load.run_ghz(bench.ghz, server.address, concurrency, duration, connections)
        else:
            result = asyncio.run(harness_load(server.address, concurrency, duration, connections))
    result.cpu = dict(cpu)
    return result


async def harness_load(
    address: str, concurrency: int, duration: float, connections: int = 1
) -> LoadResult:
    """The fallback without ghz: the harness's client, callers spread over connections."""
    clients = [SearchClient(address) for _ in range(max(1, min(connections, concurrency)))]
    turn = 0

    async def search() -> SearchTiming:
        nonlocal turn
        turn += 1
        return await clients[turn % len(clients)].search()

    try:
        timings, seconds = await load.closed_loop(search, concurrency, duration, 100_000)
    finally:
        for client in clients:
            await client.close()
    return load.summarize(timings, seconds, concurrency)


def _saturate(
    bench: Bench, servers: dict[str, cluster.Server], connections_per_call: bool, least: int = 1
) -> dict[str, list[LoadResult]]:
    """Step the concurrency up, both servers at each step, until neither grows any more."""
    curves: dict[str, list[LoadResult]] = {name: [] for name in servers}
    flat = dict.fromkeys(servers, 0)
    steps = [c for c in bench.options.steps if c >= least] or [max(bench.options.steps)]
    for index, concurrency in enumerate(steps):
        order = list(servers) if index % 2 == 0 else list(reversed(servers))
        for name in order:
            connections = concurrency if connections_per_call else 1
            result = _measure(
                bench, servers[name], concurrency, bench.options.duration, connections
            )
            best = max((r.rps for r in curves[name]), default=0.0)
            flat[name] = flat[name] + 1 if result.rps < best * PLATEAU_GAIN else 0
            curves[name].append(result)
        bench.say(
            f"    c={concurrency:<3} "
            + "  ".join(
                f"{name} {curves[name][-1].rps:7.1f}/s p50 {_ms(curves[name][-1].p50):6.1f} ms"
                for name in servers
            )
        )
        if all(count >= PLATEAU_PATIENCE for count in flat.values()):
            break
    return curves


def _peak(curve: list[LoadResult]) -> LoadResult:
    return max(curve, key=lambda r: r.rps)


def _cpu_ms_per_search(result: LoadResult, group: str) -> float:
    return 1000 * result.cpu.get(group, math.nan) / result.calls if result.calls else math.nan


# ---------------------------------------------------------------- 1. fan-out overhead


def fan_out_overhead(bench: Bench) -> None:
    """11 nodes 20 ms away, one search at a time: the broker should cost ~nothing on top.

    The ideal broker answers in max(node latency) = the delay; p50 / delay is what it adds
    (target 1.10). Against the same search done node after node from the harness's client,
    parallel / sequential shows the fan-out is real (ideal 1/11 = 0.09, target 0.12). The
    harness also asks all 11 nodes at once itself: that is the floor on this machine (11
    node processes waking together on two cores), and broker / floor is the broker's share.
    """
    options = bench.options
    delay = options.delay_ms / 1000
    bench.set_nodes(delay=delay)
    config = cluster.federation_config(bench.nodes)
    server = cluster.start_server("s1-broker", "broker", config, bench.work_dir)
    try:
        _warm_up(server.address, 20)
        ghz_result = None
        if bench.ghz:
            ghz_result = load.run_ghz(
                bench.ghz, server.address, 1, options.duration * 2, connections=1
            )
        timings = asyncio.run(_fan_out_rounds(bench, server.address))
    finally:
        server.stop()
        bench.set_nodes()
    broker_p50 = percentile(timings["broker"], 50)
    sequential_p50 = percentile(timings["sequential"], 50)
    floor_p50 = percentile(timings["direct_parallel"], 50)
    outside_p50 = ghz_result.p50 if ghz_result else broker_p50
    tool = "ghz" if ghz_result else "harness client"
    bench.add(
        Figure("1", "broker p50 / node delay", outside_p50 / delay, "x", 1.10, "<=", note=tool)
    )
    bench.add(
        Figure(
            "1",
            "broker parallel / sequential calls (p50)",
            broker_p50 / sequential_p50,
            "x",
            0.12,
            "<=",
        )
    )
    bench.add(Figure("1", f"broker p50 ({tool}, c=1)", _ms(outside_p50), "ms"))
    bench.add(Figure("1", "broker p50 (harness client, c=1)", _ms(broker_p50), "ms"))
    bench.add(Figure("1", "sequential calls p50 (11 nodes)", _ms(sequential_p50), "ms"))
    bench.add(Figure("1", "floor: harness asks 11 nodes at once, p50", _ms(floor_p50), "ms"))
    bench.add(Figure("1", "broker p50 / floor", broker_p50 / floor_p50, "x"))
    bench.add(
        Figure(
            "1", "broker p50 - floor p50 (what the broker adds)", _ms(broker_p50 - floor_p50), "ms"
        )
    )
    bench.details["1"] = {
        "delay_ms": options.delay_ms,
        "ghz": ghz_result.as_dict() if ghz_result else None,
        "harness": {
            name: {
                "count": len(values),
                "p50_ms": round(_ms(percentile(values, 50)), 2),
                "p90_ms": round(_ms(percentile(values, 90)), 2),
                "p99_ms": round(_ms(percentile(values, 99)), 2),
            }
            for name, values in timings.items()
        },
    }


async def _fan_out_rounds(bench: Bench, address: str) -> dict[str, list[float]]:
    from broker.criteria import search_keys
    from connectors.keys import KeyScheme
    from selec.v1 import common_pb2, connector_pb2

    scheme = KeyScheme(cluster.KEY_SECRET)
    keys = search_keys(load.search_request().criteria, scheme)
    match = connector_pb2.MatchRequest(
        scheme_version=scheme.version,
        keys=[common_pb2.BlindKey(key_type=k.key_type, digest=k.digest) for k in keys.keys],
        search_id="benchmark",
        sex=keys.sex,  # type: ignore[arg-type]
    )
    client = SearchClient(address)
    direct = load.DirectNodes({c: n.address for c, n in bench.nodes.items()}, match)
    timings: dict[str, list[float]] = {"broker": [], "sequential": [], "direct_parallel": []}
    rounds = bench.options.rounds
    per_round = max(1.0, bench.options.duration * 2 / rounds)
    try:
        await direct.parallel()
        for _ in range(rounds):
            found, _ = await load.closed_loop(client.search, 1, per_round, 200)
            timings["broker"] += [t.total for t in found if t.summary]
            seq, _ = await load.closed_loop(direct.sequential, 1, per_round, 40)
            timings["sequential"] += seq
            par, _ = await load.closed_loop(direct.parallel, 1, per_round, 200)
            timings["direct_parallel"] += par
    finally:
        await client.close()
        await direct.close()
    return timings


# ---------------------------------------------------------------- 2. cost of the features


def feature_cost(bench: Bench) -> None:
    """Real broker against a bare asyncio fan-out, zero delay, each at its saturation.

    Both serve the same Search over the same nodes; the bare one skips validation,
    suspension, retries, per-country deadlines and logging. Throughput at saturation is
    compared (target broker >= 0.8 x bare), and the CPU each server process spent per search
    says how much of the machine the features take.
    """
    bench.set_nodes()
    config = cluster.federation_config(bench.nodes)
    servers = {
        "bare": cluster.start_server("s2-bare", "bare", config, bench.work_dir),
        "broker": cluster.start_server("s2-broker", "broker", config, bench.work_dir),
    }
    try:
        for server in servers.values():
            _warm_up(server.address, 20)
        curves = _saturate(bench, servers, connections_per_call=False)
        peak = {name: _peak(curve) for name, curve in curves.items()}
        profile = None
        if bench.options.profile:
            busy = max(peak["broker"].concurrency, min(8, max(bench.options.steps)))
            profile = _profile_broker(bench, servers["broker"], busy)
    finally:
        for server in servers.values():
            server.stop()
    ratio = peak["broker"].rps / peak["bare"].rps if peak["bare"].rps else math.nan
    bench.add(
        Figure(
            "2",
            "broker / bare fan-out throughput at saturation",
            ratio,
            "x",
            0.8,
            ">=",
            note=f"broker c={peak['broker'].concurrency}, bare c={peak['bare'].concurrency}",
        )
    )
    for name in ("bare", "broker"):
        bench.add(Figure("2", f"{name} peak throughput", peak[name].rps, "searches/s"))
    for name in ("bare", "broker"):
        bench.add(
            Figure(
                "2",
                f"{name} process CPU per search at peak",
                _cpu_ms_per_search(peak[name], "server"),
                "ms",
            )
        )
    bench.add(
        Figure(
            "2",
            "11 nodes' CPU per search at broker peak",
            _cpu_ms_per_search(peak["broker"], "nodes"),
            "ms",
        )
    )
    cpu_ratio = _cpu_ms_per_search(peak["bare"], "server") / _cpu_ms_per_search(
        peak["broker"], "server"
    )
    bench.add(
        Figure(
            "2",
            "bare / broker CPU per search (throughput ratio if broker-bound)",
            cpu_ratio,
            "x",
            note="what the ratio becomes where nodes are remote and the broker is the limit",
        )
    )
    keying = _keying_cost()
    bench.add(Figure("2", "criteria -> blind keys, in-process (median)", keying, "ms"))
    bench.details["2"] = {
        "curves": {name: [r.as_dict() for r in curve] for name, curve in curves.items()},
        "keying_ms": keying,
        "profile": profile,
    }


def _keying_cost(count: int = 300) -> float:
    """Median ms of search_keys on the benchmark criteria: part of both servers' work."""
    from broker.criteria import search_keys
    from connectors.keys import KeyScheme

    scheme = KeyScheme(cluster.KEY_SECRET)
    criteria = load.search_request().criteria
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        search_keys(criteria, scheme)
        samples.append(time.perf_counter() - started)
    return _ms(statistics.median(samples))


def _profile_broker(bench: Bench, server: cluster.Server, concurrency: int) -> dict | None:
    """py-spy the broker (and one node) under the scenario-2 load at its saturation point."""
    if not bench.py_spy:
        bench.say("    profile skipped: py-spy not found (pip install py-spy)")
        return None
    seconds = bench.options.profile_seconds
    targets = {"broker": server.worker_pids[0], "node": bench.nodes["RS"].pid}
    raws = {name: bench.work_dir / f"profile-{name}.txt" for name in targets}
    recorders = {
        name: profiling.start_recording(bench.py_spy, pid, seconds, raws[name])
        for name, pid in targets.items()
    }
    _measure(bench, server, concurrency, seconds + 1.5, 1)
    result: dict[str, Any] = {"concurrency": concurrency, "seconds": seconds}
    for name, recorder in recorders.items():
        try:
            _, errors = recorder.communicate(timeout=seconds + 30)
        except Exception:
            recorder.kill()
            recorder.communicate()
            errors = "py-spy did not finish"
        if recorder.returncode != 0 or not raws[name].exists():
            bench.say(f"    profile of the {name} failed: {errors.strip()[-300:]}")
            continue
        folded = profiling.read_profile(raws[name], cluster.REPO)
        result[name] = folded.as_dict()
        bench.say(f"    profile of the {name} (pid {targets[name]}) under c={concurrency}:")
        for line in folded.lines(top=12 if name == "broker" else 8):
            bench.say(f"      {line}")
    return result


# ---------------------------------------------------------------- 3. stragglers


def stragglers(bench: Bench) -> None:
    """One node hangs; its deadline is 1 s. The search must end at the deadline, not later,
    and the ten other answers must stream as they come, not wait for the straggler.

    Suspension is set so it never trips here: every search pays the full deadline, the
    worst case (with the product's default, three timeouts suspend the node and later
    searches report it UNAVAILABLE at once). Baseline and straggler blocks alternate, and
    both send searches at the same fixed rate, so the ten other nodes and the broker carry
    the same load with and without the straggler.
    """
    options = bench.options
    straggler = options.straggler
    deadline = options.straggler_deadline
    delay = options.delay_ms / 1000
    bench.set_nodes(delay=delay)
    config = cluster.federation_config(
        bench.nodes, deadlines={straggler: deadline}, after_failures=1_000_000
    )
    server = cluster.start_server("s3-broker", "broker", config, bench.work_dir)
    try:
        _warm_up(server.address, 10)
        runs = asyncio.run(_straggler_rounds(bench, server.address))
    finally:
        server.stop()
        bench.set_nodes()
    base, slow = runs["baseline"], runs["straggler"]
    others = [c for c in bench.nodes if c != straggler]
    ratios = {}
    for country in others:
        before = [t.arrivals[country] for t in base if country in t.arrivals]
        after = [t.arrivals[country] for t in slow if country in t.arrivals]
        ratios[country] = {
            "baseline_p50_ms": round(_ms(percentile(before, 50)), 2),
            "straggler_p50_ms": round(_ms(percentile(after, 50)), 2),
            "ratio_p50": percentile(after, 50) / percentile(before, 50),
            "ratio_p90": percentile(after, 90) / percentile(before, 90),
        }
    worst = max(ratios, key=lambda c: ratios[c]["ratio_p50"])
    totals = [t.total for t in slow if t.summary]
    timed_out = sum(1 for t in slow if t.statuses.get(straggler) == TIMEOUT_STATUS)
    complete = sum(1 for t in slow if t.summary and len(t.statuses) == len(bench.nodes))
    bench.add(
        Figure(
            "3",
            f"broker p99 with {straggler} hanging (deadline {deadline:g} s)",
            percentile(totals, 99),
            "s",
            round(deadline * 1.05, 3),
            "<=",
            note=f"{len(totals)} searches, {options.straggler_rate:g}/s",
        )
    )
    bench.add(
        Figure(
            "3",
            "others' answer arrival p50, with / without straggler",
            ratios[worst]["ratio_p50"],
            "x",
            1.2,
            "<=",
            note=f"worst of {len(others)}: {worst}",
        )
    )
    bench.add(Figure("3", "broker p50 with straggler", percentile(totals, 50), "s"))
    bench.add(
        Figure("3", "broker p50 without straggler", percentile([t.total for t in base], 50), "s")
    )
    bench.add(
        Figure(
            "3",
            f"searches reporting {straggler} TIMEOUT, all countries present",
            100 * min(timed_out, complete) / max(1, len(slow)),
            "%",
        )
    )
    bench.details["3"] = {
        "straggler": straggler,
        "deadline_seconds": deadline,
        "delay_ms": options.delay_ms,
        "searches": {"baseline": len(base), "straggler": len(slow)},
        "errors": sorted({t.error for t in base + slow if t.error}),
        "per_country": {c: {k: round(v, 3) for k, v in r.items()} for c, r in ratios.items()},
    }


async def _straggler_rounds(bench: Bench, address: str) -> dict[str, list[SearchTiming]]:
    options = bench.options
    client = SearchClient(address)
    runs: dict[str, list[SearchTiming]] = {"baseline": [], "straggler": []}
    rate = options.straggler_rate
    slow_seconds = max(options.duration * 2, options.straggler_deadline * 3)
    try:
        for _ in range(options.rounds):
            bench.set_nodes(delay=options.delay_ms / 1000)
            runs["baseline"] += await load.paced(client.search, rate, options.duration, 500)
            bench.set_nodes(delay=options.delay_ms / 1000, hanging=options.straggler)
            runs["straggler"] += await load.paced(client.search, rate, slow_seconds, 500)
    finally:
        bench.set_nodes()
        await client.close()
    return runs


# ---------------------------------------------------------------- 4. scale across cores


def scale_across_cores(bench: Bench) -> None:
    """One broker worker against two on one port (SO_REUSEPORT), zero delay, at saturation.

    Both go through the same launcher (forked before any gRPC object exists, the product's
    start_broker with so_reuseport set to 1), and ghz opens one connection per concurrent
    caller so the kernel spreads connections over the workers.
    """
    cores = os.cpu_count() or 1
    bench.set_nodes()
    config = cluster.federation_config(bench.nodes)
    servers = {
        "1 worker": cluster.start_server(
            "s4-broker-1", "broker", config, bench.work_dir, workers=1, reuseport=True
        ),
        "2 workers": cluster.start_server(
            "s4-broker-2", "broker", config, bench.work_dir, workers=2, reuseport=True
        ),
    }
    try:
        for server in servers.values():
            _warm_up(server.address, 20)
        curves = _saturate(bench, servers, connections_per_call=True, least=MIN_CONNECTIONS)
    finally:
        for server in servers.values():
            server.stop()
    peak = {name: _peak(curve) for name, curve in curves.items()}
    ratio = peak["2 workers"].rps / peak["1 worker"].rps if peak["1 worker"].rps else math.nan
    two = peak["2 workers"]
    shares = [two.cpu.get(f"worker {pid}", 0.0) for pid in servers["2 workers"].worker_pids]
    balance = [round(share / (sum(shares) or 1.0), 3) for share in shares]
    applicable = cores >= MIN_CORES_TO_SCALE
    note = f"{cores} cores" + (
        "" if applicable else f"; target applies from {MIN_CORES_TO_SCALE} cores"
    )
    bench.add(
        Figure(
            "4", "2 broker workers / 1 worker, throughput", ratio, "x", 1.6, ">=", applicable, note
        )
    )
    for name in servers:
        bench.add(
            Figure(
                "4",
                f"{name}: peak throughput",
                peak[name].rps,
                "searches/s",
                note=f"c={peak[name].concurrency}",
            )
        )
    for name in servers:
        bench.add(
            Figure(
                "4",
                f"{name}: broker CPU in use at peak (cores)",
                peak[name].cpu.get("server", math.nan) / peak[name].seconds,
                "cores",
            )
        )
    bench.add(
        Figure(
            "4",
            "2 workers: busier worker's share of broker CPU at peak",
            max(balance, default=math.nan),
            "x",
            note="0.5 is an even spread",
        )
    )
    bench.add(
        Figure(
            "4",
            "2 workers: nodes' CPU in use at peak (cores)",
            peak["2 workers"].cpu.get("nodes", math.nan) / peak["2 workers"].seconds,
            "cores",
        )
    )
    bench.details["4"] = {
        "cores": cores,
        "curves": {name: [r.as_dict() for r in curve] for name, curve in curves.items()},
        "cpu_share_of_each_worker_at_peak": balance,
    }


def batch_screening(bench: Bench) -> None:
    """Scenario 5, in benchmarks/screening.py (imported here, late, as it imports Bench)."""
    from benchmarks.screening import screening

    screening(bench)


SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "1": fan_out_overhead,
    "2": feature_cost,
    "3": stragglers,
    "4": scale_across_cores,
    "5": batch_screening,
}
TITLES = {
    "1": "fan-out overhead (11 nodes, each {delay} ms away, one search at a time)",
    "2": "cost of the product's features (broker vs bare asyncio fan-out, no delay)",
    "3": "stragglers (one node hangs, its deadline {deadline} s)",
    "4": "scale across cores (SO_REUSEPORT, 1 vs 2 broker workers)",
    "5": "batch screening (Screen vs one-by-one Search; memory over a million subjects)",
}
