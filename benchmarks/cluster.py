"""The federation a benchmark runs against: real nodes and the servers under test, on loopback.

Every member-state node is the product's own `ConnectorServicer` over a real SQLite database
seeded with `connectors.synthetic.generate`, served in a process of its own so the broker
never shares a GIL with the nodes it calls (at home each node has its own machine). The
one addition is `DelayedConnector`, a thin wrapper that sleeps before delegating, to stand
for the distance between the broker and a capital, or hangs, to stand for a node that
accepted a call and never answers. The delay and the hang are switched at run time through
shared memory, so one set of node processes serves every scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from typing import Any

from connectors.config import ConnectorSettings
from connectors.synthetic import COUNTRIES

KEY_SECRET = bytes.fromhex("be9c" * 16)
SEED = 7
HANG_SECONDS = 3600.0
READY_TIMEOUT_SECONDS = 90.0
MP = multiprocessing.get_context("spawn")
REPO = Path(__file__).resolve().parent.parent


def node_settings(country: str, data_dir: Path) -> ConnectorSettings:
    """Settings of a benchmark node whose database lives in data_dir."""
    return ConnectorSettings(
        source="benchmark",
        country=country,
        listen="127.0.0.1:0",
        backend="sqlite",
        database=data_dir / f"{country.lower()}.db",
        key_secret=KEY_SECRET,
        reference_secret=(country * 16).encode(),
        grace_seconds=0.0,
    )


# ---------------------------------------------------------------- data


def _seed_country(country: str, data_dir: str, persons: int) -> tuple[str, int, float]:
    from connectors.importer import import_records
    from connectors.node import make_keyer, open_store
    from connectors.synthetic import generate

    started = time.perf_counter()
    settings = node_settings(country, Path(data_dir))
    count = import_records(
        f"benchmark {country}",
        enumerate(generate(country, persons=persons, seed=SEED), start=1),
        open_store(settings),
        make_keyer(settings),
        replace_all=True,
    )
    return country, count, time.perf_counter() - started


def ensure_data(data_root: Path, persons: int, say: Any = print) -> tuple[Path, dict[str, Any]]:
    """The seeded databases for `persons` per state, made once and reused by later runs.

    Seeding 11 states x 10,000 persons takes about half a minute on two cores; the data
    is deterministic (seed, secret), so a marker file says when it can be reused.
    """
    data_dir = data_root / f"persons-{persons}-seed-{SEED}"
    marker = data_dir / "seeded.json"
    wanted = {"persons": persons, "seed": SEED, "key": KEY_SECRET.hex()[:8]}
    if marker.exists():
        found = json.loads(marker.read_text())
        if {k: found.get(k) for k in wanted} == wanted:
            return data_dir, found
    data_dir.mkdir(parents=True, exist_ok=True)
    say(f"seeding {len(COUNTRIES)} node databases with {persons} persons each ...")
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=MP) as pool:
        futures = [pool.submit(_seed_country, c, str(data_dir), persons) for c in COUNTRIES]
        records = {}
        for future in futures:
            country, count, _ = future.result()
            records[country] = count
    found = wanted | {"records": records, "seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(found) + "\n")
    say(f"  seeded in {found['seconds']} s")
    return data_dir, found


# ---------------------------------------------------------------- node processes


class NodeControl:
    """Delay and hang switches one node process reads on every call (shared memory)."""

    def __init__(self, array: SynchronizedArray | Any) -> None:
        self._array = array

    @classmethod
    def create(cls) -> NodeControl:
        """Zero delay, not hanging."""
        return cls(MP.RawArray("d", 2))

    @property
    def delay(self) -> float:
        """Seconds each Match waits before the real servicer runs."""
        return float(self._array[0])

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._array[0] = seconds

    @property
    def hang(self) -> bool:
        """Whether Match waits until the caller gives up."""
        return bool(self._array[1])

    @hang.setter
    def hang(self, value: bool) -> None:
        self._array[1] = 1.0 if value else 0.0


def delayed_connector(inner: Any, control: NodeControl) -> Any:
    """Wrap a real ConnectorServicer: sleep (or hang), then delegate to it unchanged."""
    from selec.v1 import connector_pb2_grpc

    class DelayedConnector(connector_pb2_grpc.ConnectorServiceServicer):
        async def Match(self, request: Any, context: Any) -> Any:
            if control.hang:
                await asyncio.sleep(HANG_SECONDS)  # cancelled when the caller's deadline passes
            delay = control.delay
            if delay > 0:
                await asyncio.sleep(delay)
            return await inner.Match(request, context)

        async def MatchBatch(self, request: Any, context: Any) -> Any:
            if control.hang:
                await asyncio.sleep(HANG_SECONDS)
            delay = control.delay
            if delay > 0:
                await asyncio.sleep(delay)
            return await inner.MatchBatch(request, context)

        async def Describe(self, request: Any, context: Any) -> Any:
            return await inner.Describe(request, context)

    return DelayedConnector()


async def _serve_node(settings: ConnectorSettings, control: NodeControl, ready: Any) -> None:
    from prometheus_client import CollectorRegistry

    from connectors.metrics import NodeMetrics
    from connectors.node import SERVICE_NAME, make_keyer, open_store
    from connectors.service import ConnectorServicer
    from selec.serving import start_server, termination_signals
    from selec.v1 import connector_pb2_grpc

    async with termination_signals(os.getppid()) as stopping:
        # What connectors.node.start_node does, with the servicer wrapped.
        store = open_store(settings)
        version = make_keyer(settings).scheme.version
        metrics = NodeMetrics(CollectorRegistry(), store)
        inner = ConnectorServicer(settings.country, version, store, metrics)
        servicer = delayed_connector(inner, control)
        server = await start_server(
            settings.listen,
            lambda s: connector_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, s),
            [SERVICE_NAME],
        )
        ready.send(server.port)
        ready.close()
        await stopping.wait()
        await server.stop(0)


def _node_main(settings: ConnectorSettings, array: Any, ready: Any) -> None:
    try:
        asyncio.run(_serve_node(settings, NodeControl(array), ready))
    except Exception as exc:
        with contextlib.suppress(OSError):
            ready.send(f"node {settings.country} failed: {exc!r}")


@dataclass
class Node:
    """One running node process: where it listens and how to steer it."""

    country: str
    address: str
    process: Any
    control: NodeControl

    @property
    def pid(self) -> int:
        """The node's process id."""
        return int(self.process.pid)


def start_nodes(data_dir: Path, countries: tuple[str, ...] = COUNTRIES) -> dict[str, Node]:
    """Start one process per country and wait until each one serves."""
    pending = []
    for country in countries:
        control = NodeControl.create()
        receive, send = MP.Pipe(duplex=False)
        process = MP.Process(
            target=_node_main,
            args=(node_settings(country, data_dir), control._array, send),
            name=f"bench-node-{country}",
            daemon=True,
        )
        process.start()
        send.close()
        pending.append((country, process, control, receive))
    nodes: dict[str, Node] = {}
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    try:
        for country, process, control, receive in pending:
            if not receive.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"node {country} did not start in time")
            port = receive.recv()
            if not isinstance(port, int):
                raise RuntimeError(str(port))
            nodes[country] = Node(country, f"127.0.0.1:{port}", process, control)
    except BaseException:
        stop_processes(process for _, process, _, _ in pending)
        raise
    return nodes


def stop_processes(processes: Any) -> None:
    """SIGTERM, wait a little, then SIGKILL: these are ours, by handle, never by name."""
    processes = list(processes)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(2)


# ---------------------------------------------------------------- servers under test


def federation_config(
    nodes: dict[str, Node],
    deadline_seconds: float = 2.0,
    deadlines: dict[str, float] | None = None,
    after_failures: int = 3,
) -> dict[str, Any]:
    """The JSON description of the federation that `benchmarks.serve` workers start from.

    Defaults are the product's (docs/configuration.md): 2 s per country, two attempts,
    suspension after three failures, 50 ms answer margin.
    """
    return {
        "key_secret": KEY_SECRET.hex(),
        "countries": {
            code: {
                "endpoint": node.address,
                "deadline_seconds": (deadlines or {}).get(code, deadline_seconds),
            }
            for code, node in nodes.items()
        },
        "retry": {"attempts": 2, "backoff_seconds": 0.05},
        "suspension": {
            "after_failures": after_failures,
            "initial_seconds": 5.0,
            "max_seconds": 300.0,
        },
        "answer_margin_seconds": 0.05,
    }


@dataclass
class Server:
    """A `benchmarks.serve` launcher and its workers: the broker or the bare fan-out."""

    name: str
    address: str
    worker_pids: list[int]
    process: subprocess.Popen[str]
    log_path: Path
    _log: Any = field(repr=False, default=None)

    def stop(self) -> None:
        """Ask the launcher to drain its workers; kill it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._log is not None:
            self._log.close()


def start_server(
    name: str,
    kind: str,
    config: dict[str, Any],
    work_dir: Path,
    *,
    workers: int = 1,
    reuseport: bool = False,
    tree: Path = REPO,
) -> Server:
    """Launch `python -m benchmarks.serve` and wait for its READY line.

    tree is the source tree the server imports the product from (its working directory
    comes first on sys.path), so a changed copy of the broker can be measured beside the
    original (benchmarks/ab.py).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / f"{name}.json"
    config_path.write_text(json.dumps(config, indent=1))
    log_path = work_dir / f"{name}.log"
    log = log_path.open("w")
    command = [
        sys.executable,
        "-m",
        "benchmarks.serve",
        "--kind",
        kind,
        "--workers",
        str(workers),
        "--config",
        str(config_path),
    ]
    if reuseport:
        command.append("--reuseport")
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), environ.get("PYTHONPATH", "")) if p
    )  # the harness itself, for a tree that has no benchmarks/ of its own
    process = subprocess.Popen(
        command, cwd=tree, env=environ, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the launcher gives up by itself after 60 s
    if not line.startswith("READY "):
        process.kill()
        process.wait(5)
        log.close()
        tail = log_path.read_text()[-2000:]
        raise RuntimeError(f"{name} did not start: {line!r}\n{tail}")
    _, port, pids = line.split()
    return Server(
        name, f"127.0.0.1:{port}", [int(p) for p in pids.split(",")], process, log_path, log
    )


# ---------------------------------------------------------------- CPU accounting


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (0 for a gone process)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


@contextlib.contextmanager
def cpu_meter(groups: dict[str, list[int]]) -> Iterator[dict[str, float]]:
    """CPU seconds used by each group of processes while the block runs."""
    before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    used: dict[str, float] = {}
    yield used
    for name, pids in groups.items():
        used[name] = cpu_seconds(pids) - before[name]
