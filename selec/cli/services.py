"""`selec broker`, `selec connector` and `selec import`: one service or one file at a time."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import grpc

from broker.config import load_broker_settings
from broker.server import start_broker
from connectors.config import load_connector_settings
from connectors.importer import ImportRejected, import_file
from connectors.node import broker_access, make_keyer, open_store, start_node
from connectors.publisher import publish
from connectors.store import StoreError
from selec.cli.paths import DEFAULT_BROKER, DEMO_CONFIG_DIR, config_environ, node_config
from selec.serving import termination_signals


def add_service_arguments(parser: argparse.ArgumentParser, default_config: Path | None) -> None:
    """--config, --listen and --data-dir, shared by the service commands."""
    parser.add_argument(
        "--config",
        type=Path,
        default=default_config,
        required=default_config is None,
        help="YAML settings file",
    )
    parser.add_argument("--listen", help="HOST:PORT, overrides the file's listen")
    parser.add_argument("--data-dir", type=Path, help="sets ${SELEC_DATA_DIR} for the config")
    parser.add_argument("--exit-with-parent", type=int, metavar="PID", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--publish-to", metavar="HOST:PORT", help="broker to publish to (overrides publish.broker)"
    )
    parser.add_argument(
        "--metrics-listen", metavar="HOST:PORT", help="Prometheus endpoint (overrides the file)"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="development only: plaintext, no TLS and no tokens, whatever the file says",
    )


def run_broker(options: argparse.Namespace) -> int:
    """Serve the broker until SIGINT or SIGTERM; drain and exit 0.

    With `workers: N` above 1, this process supervises N worker processes that share the
    port (SO_REUSEPORT): each is a fresh interpreter, so no gRPC state crosses a fork.
    """
    settings = load_broker_settings(
        options.config, options.listen, config_environ(options.data_dir)
    )
    if options.insecure:
        settings = replace(
            settings, security=replace(settings.security, tls=None, token_public_key=None)
        )
    if settings.workers > 1 and options.exit_with_parent is None:
        return supervise_workers(settings.workers, options)
    if settings.workers > 1 and settings.metrics_listen is not None:
        # Each worker has its own registry; they cannot share one metrics port.
        host, _, port = settings.metrics_listen.rpartition(":")
        worker = options.worker_index or 0
        settings = replace(settings, metrics_listen=f"{host}:{int(port) + worker}")
    elif options.metrics_listen:
        settings = replace(settings, metrics_listen=options.metrics_listen)

    async def serve() -> None:
        async with termination_signals(options.exit_with_parent) as stopping:
            broker = await start_broker(settings)
            print(f"broker listening on {broker.address}", flush=True)
            await stopping.wait()
            await broker.stop()

    asyncio.run(serve())
    return 0


def run_connector(options: argparse.Namespace) -> int:
    """Serve one member-state node until SIGINT or SIGTERM; drain and exit 0."""
    settings = load_connector_settings(
        options.config, options.listen, config_environ(options.data_dir)
    )
    if options.publish_to:
        settings = settings.with_publish_broker(options.publish_to)
    if options.insecure:
        settings = settings.without_transport_security()
    if options.metrics_listen:
        settings = replace(settings, metrics_listen=options.metrics_listen)

    async def serve() -> None:
        async with termination_signals(options.exit_with_parent) as stopping:
            node = await start_node(settings)
            print(f"node {settings.country} listening on {node.address}", flush=True)
            await stopping.wait()
            await node.stop()

    asyncio.run(serve())
    return 0


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `selec import`."""
    parser.add_argument("--country", required=True, help="the node to import into, e.g. RS")
    parser.add_argument("--config", type=Path, help="node YAML (default: the demo's)")
    parser.add_argument("--data-dir", type=Path, help="sets ${SELEC_DATA_DIR} for the config")
    parser.add_argument(
        "--replace", action="store_true", help="replace every record (default: add or update)"
    )
    parser.add_argument("file", type=Path, help="records, .jsonl or .csv (docs/import-format.md)")


def run_import(options: argparse.Namespace) -> int:
    """Import a file into a node's database; 1 with line-numbered errors if any line is bad."""
    config = options.config or node_config(DEMO_CONFIG_DIR, options.country)
    settings = load_connector_settings(config, environ=config_environ(options.data_dir))
    if settings.country != options.country.upper():
        print(
            f"selec import: {config} is the {settings.country} node, not {options.country}",
            file=sys.stderr,
        )
        return 2
    try:
        count = import_file(
            options.file, open_store(settings), make_keyer(settings), options.replace
        )
    except ImportRejected as exc:
        print(f"selec import: {exc}", file=sys.stderr)
        for error in exc.errors:
            print(f"  {exc.source}: {error}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"selec import: {exc}", file=sys.stderr)
        return 1
    print(f"imported {count} record(s) into {settings.country} ({settings.database})")
    return 0


def add_publish_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `selec publish`."""
    parser.add_argument("--country", required=True, help="the node that publishes, e.g. RS")
    parser.add_argument("--config", type=Path, help="node YAML (default: the demo's)")
    parser.add_argument("--data-dir", type=Path, help="sets ${SELEC_DATA_DIR} for the config")
    parser.add_argument("--broker", help="HOST:PORT (default: the config's publish.broker)")


def run_publish(options: argparse.Namespace) -> int:
    """Publish a node's anonymized references to the broker's index, once, now."""
    config = options.config or node_config(DEMO_CONFIG_DIR, options.country)
    settings = load_connector_settings(config, environ=config_environ(options.data_dir))
    broker = options.broker or (settings.publish.broker if settings.publish else DEFAULT_BROKER)
    keyer = make_keyer(settings)
    try:
        reply = publish(
            open_store(settings),
            settings.country,
            keyer.scheme.version,
            broker,
            access=broker_access(settings),
        )
    except grpc.RpcError as exc:
        print(f"selec publish: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    except StoreError as exc:
        print(f"selec publish: {exc}", file=sys.stderr)
        return 1
    as_of = reply.as_of.ToDatetime().isoformat(timespec="seconds")
    print(f"published {reply.reference_count} reference(s) of {reply.country} as of {as_of}Z")
    return 0


def supervise_workers(workers: int, options: argparse.Namespace) -> int:
    """Start the broker's worker processes; forward SIGINT/SIGTERM; exit 0 once all drained."""
    command = [
        sys.executable,
        "-m",
        "selec.cli.main",
        "broker",
        "--config",
        str(options.config),
        "--exit-with-parent",
        str(os.getpid()),
    ]
    if options.listen:
        command += ["--listen", options.listen]
    if options.data_dir:
        command += ["--data-dir", str(options.data_dir)]
    children = [
        subprocess.Popen([*command, "--worker-index", str(index)], stdin=subprocess.DEVNULL)
        for index in range(workers)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    codes = [child.wait() for child in children]
    return 0 if all(code == 0 for code in codes) else 1
