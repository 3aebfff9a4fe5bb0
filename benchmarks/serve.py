"""Launch the real broker, or the bare reference fan-out, as one or more worker processes.

    python -m benchmarks.serve --kind broker --workers 2 --reuseport --config cfg.json

Why a launcher of its own: a gRPC server in Python is bound to one core by the GIL, so the
way to use more cores is several processes accepting on one port (SO_REUSEPORT). gRPC's
core must not be initialised in a process that forks, so this module imports nothing but
the standard library until after the fork; each worker then imports gRPC and the product
and starts its own server. The product has no multi-worker mode yet, and its
`selec.serving.start_server` passes ("grpc.so_reuseport", 0); a worker started with
--reuseport therefore swaps in `reuseport_start_server` (the same start-up with that option
set to 1) before calling the product's `broker.server.start_broker`.

With --workers 1 and no --reuseport the broker is started exactly as `selec broker` starts
it. The launcher prints one line ``READY <port> <pid>,<pid>...`` once every worker serves,
forwards SIGTERM to its workers, and exits when its parent (the harness) is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

READY_TIMEOUT_SECONDS = 60.0
MAX_LIFETIME_SECONDS = 3600.0
POLL_SECONDS = 0.2
LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def free_port(reuseport: bool) -> int:
    """A loopback port nobody listens on now (workers bind it after this socket closes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if reuseport:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- inside a worker, after fork


async def reuseport_start_server(
    listen: str,
    register: Any,
    service_names: Any,
    interceptors: Any = (),
) -> Any:
    """`selec.serving.start_server` with ("grpc.so_reuseport", 1): N processes, one port.

    A copy rather than a call because the product hard-codes the option to 0 (a second
    broker on a busy port must fail, not silently share it); making it a parameter of
    start_server is the product change this harness reports.
    """
    import grpc
    from grpc_health.v1 import health, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection

    from selec.serving import MAX_MESSAGE_BYTES, RunningServer, ServeError

    server = grpc.aio.server(
        interceptors=list(interceptors),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 1),
        ],
    )
    register(server)
    names = tuple(service_names)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(listen)
    if port == 0:
        raise ServeError(f"cannot listen on {listen}")
    await server.start()
    running = RunningServer(server, port, health_servicer, names)
    await running.set_serving(True)
    return running


def broker_settings_from(config: dict[str, Any], listen: str) -> Any:
    """BrokerSettings from the harness's JSON description of the federation."""
    from broker.config import BrokerSettings, CountrySettings, RetryPolicy, SuspensionPolicy

    return BrokerSettings(
        source="benchmark",
        listen=listen,
        key_secret=bytes.fromhex(config["key_secret"]),
        countries=tuple(
            CountrySettings(code, entry["endpoint"], float(entry["deadline_seconds"]))
            for code, entry in config["countries"].items()
        ),
        retry=RetryPolicy(**config["retry"]),
        suspension=SuspensionPolicy(**config["suspension"]),
        answer_margin_seconds=float(config["answer_margin_seconds"]),
        grace_seconds=0.5,
    )


async def _serve_broker(config: dict[str, Any], listen: str, reuseport: bool) -> Any:
    import broker.server

    if reuseport:
        broker.server.start_server = reuseport_start_server  # type: ignore[assignment]
    running = await broker.server.start_broker(broker_settings_from(config, listen))
    return running.server.port, running.stop


async def _serve_bare(config: dict[str, Any], listen: str, reuseport: bool) -> Any:
    from benchmarks.bare import start_bare

    server, port = await start_bare(config, listen, reuseport)
    return port, server.stop


async def _worker_main(kind: str, config: dict[str, Any], listen: str, reuseport: bool, fd: int):
    from selec.serving import termination_signals

    async with termination_signals(os.getppid()) as stopping:
        serve = _serve_broker if kind == "broker" else _serve_bare
        port, stop = await serve(config, listen, reuseport)
        os.write(fd, f"{port} {os.getpid()}\n".encode())
        os.close(fd)
        await stopping.wait()
        await stop(0)


def _run_worker(kind: str, config: dict[str, Any], listen: str, reuseport: bool, fd: int) -> None:
    import asyncio
    import logging

    # The same logging as `selec broker` (INFO, one line per search), to the launcher's stderr.
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    code = 0
    try:
        asyncio.run(_worker_main(kind, config, listen, reuseport, fd))
    except BaseException as exc:
        print(f"worker {os.getpid()} failed: {exc!r}", file=sys.stderr, flush=True)
        code = 1
    os._exit(code)


# ---------------------------------------------------------------- the launcher itself


def _read_ready(fd: int, workers: int) -> list[str]:
    lines: list[str] = []
    buffer = b""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while len(lines) < workers:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{len(lines)} of {workers} workers ready")
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError(f"workers exited before serving ({len(lines)} of {workers})")
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines += [line.decode() for line in complete if line]
    return lines


def _supervise(children: list[int], parent: int) -> int:
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    alive = set(children)
    deadline = time.monotonic() + MAX_LIFETIME_SECONDS
    signalled = False
    while alive and time.monotonic() < deadline:
        if (stopping or os.getppid() != parent) and not signalled:
            for pid in alive:
                os.kill(pid, signal.SIGTERM)
            signalled = True
            deadline = min(deadline, time.monotonic() + 10.0)
        for pid in list(alive):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                alive.discard(pid)
        time.sleep(POLL_SECONDS)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Fork the workers (before any gRPC object exists), report READY, supervise them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--kind", choices=("broker", "bare"), required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reuseport", action="store_true")
    parser.add_argument("--config", type=Path, required=True, help="JSON federation description")
    options = parser.parse_args(argv)
    config = json.loads(options.config.read_text())
    if options.workers > 1 and not options.reuseport:
        parser.error("--workers above 1 needs --reuseport")
    port = free_port(True) if options.reuseport else 0
    listen = f"127.0.0.1:{port}"
    parent = os.getppid()
    read_fd, write_fd = os.pipe()
    children = []
    for _ in range(options.workers):
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _run_worker(options.kind, config, listen, options.reuseport, write_fd)
        children.append(pid)
    os.close(write_fd)
    try:
        lines = _read_ready(read_fd, options.workers)
    except (TimeoutError, RuntimeError) as exc:
        print(f"launcher: {exc}", file=sys.stderr, flush=True)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        return 1
    ports = {line.split()[0] for line in lines}
    if len(ports) != 1:
        print(f"launcher: workers on different ports {sorted(ports)}", file=sys.stderr)
        return 1
    pids = ",".join(line.split()[1] for line in lines)
    print(f"READY {ports.pop()} {pids}", flush=True)
    return _supervise(children, parent)


if __name__ == "__main__":
    sys.exit(main())
