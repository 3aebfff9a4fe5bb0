"""`selec demo`: the 11 member states and the broker on one machine, on loopback.

First start: secrets are created, every node's synthetic national data is generated and
keyed (in parallel, one process per core), then the nodes start as separate processes (as
they would run at home, each beside its own database) and the broker in this one. Later
starts find the data and only start the services.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker.config import BrokerSettings, load_broker_settings
from broker.server import start_broker
from connectors.config import ConnectorSettings, load_connector_settings
from connectors.importer import import_records
from connectors.node import make_keyer, open_store
from connectors.synthetic import generate
from selec.cli.keys_cmd import create_demo_security, issue_demo_tokens
from selec.cli.paths import DEFAULT_DATA_DIR, DEMO_CONFIG_DIR, config_environ, node_config
from selec.serving import termination_signals

DEFAULT_PERSONS = 10_000
DEFAULT_SEED = 2026
READY_TIMEOUT_SECONDS = 60.0
DEMO_TOKEN_LIFETIME = dt.timedelta(hours=12)
SAMPLE_CRITERIA = "--given Jovan --family Petrovic --dob 1985-03-14"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `selec demo`."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the national databases and secrets live (default var/demo)",
    )
    parser.add_argument(
        "--persons",
        type=int,
        default=None,
        help=f"synthetic persons per state (default {DEFAULT_PERSONS}; 0: empty)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="synthetic data seed")
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEMO_CONFIG_DIR,
        help="federation config (broker.yaml, nodes/*.yaml)",
    )
    parser.add_argument("--broker-listen", help="HOST:PORT for the broker (default from config)")
    parser.add_argument(
        "--node-port-base",
        type=int,
        help="nodes listen on base+1 .. base+11 instead of the config's ports",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="development only: plaintext everywhere, no tokens, no approval workflow",
    )


def ensure_secret(path: Path) -> None:
    """Create a random 256-bit hex secret at path unless one is there (owner-only)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def _seed_country(
    config: Path, environ: Mapping[str, str], persons: int, seed: int
) -> tuple[str, int, float]:
    """Generate and import one country's synthetic data (runs in a worker process)."""
    started = time.perf_counter()
    settings = load_connector_settings(config, environ=environ)
    records = generate(settings.country, persons=persons, seed=seed)
    count = import_records(
        f"synthetic {settings.country}",
        ((n, r) for n, r in enumerate(records, start=1)),
        open_store(settings),
        make_keyer(settings),
        replace_all=True,
    )
    return settings.country, count, time.perf_counter() - started


def seed_federation(
    node_configs: Mapping[str, Path],
    environ: Mapping[str, str],
    data_dir: Path,
    persons: int | None,
    seed: int,
) -> None:
    """Generate synthetic data unless the data dir already holds what was asked for."""
    marker = data_dir / "synthetic.json"
    previous = json.loads(marker.read_text()) if marker.exists() else None
    wanted = {"persons": DEFAULT_PERSONS if persons is None else persons, "seed": seed}
    if previous is not None and (persons is None or previous == wanted):
        print(f"using the data in {data_dir} ({previous['persons']} persons per state)")
        return
    print(
        f"generating synthetic national data: {wanted['persons']} persons per state ...", flush=True
    )
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(_seed_country, path, dict(environ), wanted["persons"], seed)
            for path in node_configs.values()
        ]
        for future in futures:
            country, count, seconds = future.result()
            print(f"  {country}: {count} records in {seconds:.1f} s", flush=True)
    marker.write_text(json.dumps(wanted) + "\n")
    print(f"data ready in {time.perf_counter() - started:.1f} s", flush=True)


def _node_listen(settings: ConnectorSettings, base: int | None, index: int) -> str:
    if base is None:
        return settings.listen
    host = settings.listen.rpartition(":")[0]
    return f"{host}:{base + index}"


def _metrics_listen(configured: str | None, base: int | None, offset: int) -> str | None:
    """With --node-port-base B, metrics move to B+21.. (nodes) and B+40 (broker)."""
    if base is None or configured is None:
        return configured
    return f"{configured.rpartition(':')[0]}:{base + offset}"


async def _wait_serving(
    address: str, deadline: float, credentials: grpc.ChannelCredentials | None
) -> bool:
    opened = (
        grpc.aio.secure_channel(address, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(address)
    )
    async with opened as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    return False


@dataclass(frozen=True, slots=True)
class NodePlan:
    """Where one demo node's config is and where it listens."""

    config: Path
    listen: str
    metrics_listen: str | None


def _start_nodes(
    nodes: Mapping[str, NodePlan],
    environ: Mapping[str, str],
    log_dir: Path,
    broker: str,
    insecure: bool,
) -> dict[str, subprocess.Popen[bytes]]:
    log_dir.mkdir(parents=True, exist_ok=True)
    children = {}
    for country, plan in nodes.items():
        command = [
            sys.executable,
            "-m",
            "selec.cli.main",
            "connector",
            "--config",
            str(plan.config),
            "--listen",
            plan.listen,
            "--exit-with-parent",
            str(os.getpid()),
            "--publish-to",
            broker,
        ]
        if plan.metrics_listen:
            command += ["--metrics-listen", plan.metrics_listen]
        if insecure:
            command.append("--insecure")
        with (log_dir / f"{country.lower()}.log").open("ab") as log:
            children[country] = subprocess.Popen(
                command,
                env=dict(environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    return children


def _stop_nodes(children: Mapping[str, subprocess.Popen[bytes]], grace: float) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace + 2
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def sample_search(broker: str, data_dir: Path, insecure: bool) -> str:
    """A search for the first demo subject (held in RS, in Cyrillic), typed in plain Latin."""
    where = "" if data_dir == DEFAULT_DATA_DIR.resolve() else f" --data-dir {data_dir}"
    security = " --insecure" if insecure else where
    return f"selec search --broker {broker}{security} {SAMPLE_CRITERIA}"


async def _serve(
    broker_settings: BrokerSettings,
    nodes: Mapping[str, NodePlan],
    environ: Mapping[str, str],
    data_dir: Path,
    *,
    started: float,
    insecure: bool,
) -> int:
    tls = broker_settings.security.tls
    probe = tls.channel_credentials() if tls is not None else None
    async with termination_signals() as stopping:
        # The broker first, so the nodes' first publication finds it.
        broker = await start_broker(broker_settings)
        children = _start_nodes(nodes, environ, data_dir / "logs", broker.address, insecure)
        try:
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            ready = await asyncio.gather(
                *(_wait_serving(plan.listen, deadline, probe) for plan in nodes.values())
            )
            for (country, plan), ok in zip(nodes.items(), ready, strict=True):
                state = f"pid {children[country].pid}" if ok else "NOT READY (see logs)"
                metrics = f"  metrics {plan.metrics_listen}" if plan.metrics_listen else ""
                print(f"  node {country} on {plan.listen}  {state}{metrics}", flush=True)
            shown = (
                f"  metrics {broker.metrics_endpoint.address}" if broker.metrics_endpoint else ""
            )
            print(f"  broker    on {broker.address}{shown}", flush=True)
            print(f"logs in {data_dir / 'logs'}", flush=True)
            print("try, in another terminal:", flush=True)
            print(f"  {sample_search(broker.address, data_dir, insecure)}", flush=True)
            print(
                f"federation ready in {time.perf_counter() - started:.1f} s; "
                "Ctrl-C stops everything.",
                flush=True,
            )
            await stopping.wait()
            print("stopping ...", flush=True)
        finally:
            _stop_nodes(children, grace=5)
            await broker.stop()
    return 0


def run(options: argparse.Namespace) -> int:
    """Set up (first time) and run the demo federation until Ctrl-C or SIGTERM."""
    started = time.perf_counter()
    data_dir: Path = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    environ = config_environ(data_dir)
    config_dir: Path = options.config_dir
    ensure_secret(data_dir / "federation.key")
    if not options.insecure:
        create_demo_security(data_dir)
        issue_demo_tokens(data_dir, DEMO_TOKEN_LIFETIME)
    broker_settings = load_broker_settings(
        config_dir / "broker.yaml", options.broker_listen, environ
    )
    if options.insecure:
        broker_settings = replace(
            broker_settings,
            security=replace(broker_settings.security, tls=None, token_public_key=None),
        )
    node_configs: dict[str, Path] = {}
    nodes: dict[str, NodePlan] = {}
    endpoints = []
    for index, country in enumerate((c.country for c in broker_settings.countries), start=1):
        config = node_config(config_dir, country)
        ensure_secret(data_dir / f"{country.lower()}.reference.key")
        settings = load_connector_settings(config, environ=environ)
        listen = _node_listen(settings, options.node_port_base, index)
        node_configs[country] = config
        metrics = _metrics_listen(settings.metrics_listen, options.node_port_base, 20 + index)
        nodes[country] = NodePlan(config, listen, metrics)
        endpoints.append((country, listen))
    if options.node_port_base is not None:
        broker_settings = replace(
            _with_endpoints(broker_settings, dict(endpoints)),
            metrics_listen=_metrics_listen(
                broker_settings.metrics_listen, options.node_port_base, 40
            ),
        )
    if options.persons is not None and options.persons < 0:
        print("selec demo: --persons must be 0 or more", file=sys.stderr)
        return 2
    seed_federation(node_configs, environ, data_dir, options.persons, options.seed)
    print(
        f"starting {len(nodes)} nodes and the broker "
        f"({time.perf_counter() - started:.1f} s so far) ...",
        flush=True,
    )
    return asyncio.run(
        _serve(
            broker_settings, nodes, environ, data_dir, started=started, insecure=options.insecure
        )
    )


def _with_endpoints(settings: BrokerSettings, endpoints: Mapping[str, str]) -> BrokerSettings:
    countries = tuple(replace(c, endpoint=endpoints[c.country]) for c in settings.countries)
    return replace(settings, countries=countries)
