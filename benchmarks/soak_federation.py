"""The soak's federation: `selec demo` itself, as a process, with node restarts injected.

The soak must exercise the federation a user runs, so it starts `selec demo` unchanged
(TLS, tokens, the approval workflow, the embedded index; its broker runs in the demo's own
process, its nodes as child processes) and reads where everything listens from what the
demo prints. A node is restarted exactly as the demo started it: the same command line and
environment, read from /proc before it is stopped, except that the soak becomes its parent
(`--exit-with-parent` follows the process that spawned it). Linux only, like /proc.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from selec.tls import files_for

READY_PATTERN = "federation ready"
_NODE_LINE = re.compile(r"^\s+node (\w\w) on (\S+)\s+(?:pid (\d+)|NOT READY)")
_BROKER_LINE = re.compile(r"^\s+broker\s+on (\S+)(?:\s+metrics (\S+))?")
NODE_READY_SECONDS = 60.0
WHILE_DOWN_SECONDS = 15.0


class FederationError(Exception):
    """The demo federation did not start, or a node could not be restarted."""


@dataclass(slots=True)
class NodeProcess:
    """One life of a country's node process."""

    country: str
    pid: int
    started_at: float
    child: asyncio.subprocess.Process | None = None  # set when the soak spawned it


@dataclass(frozen=True, slots=True)
class Restart:
    """One injected restart: when the node was stopped, when it served again."""

    country: str
    hard: bool
    old_pid: int
    new_pid: int
    stopped_at: float
    exited_at: float
    ready_at: float

    def as_dict(self, origin: float) -> dict[str, object]:
        """Seconds relative to origin (the start of the load)."""
        return {
            "country": self.country,
            "signal": "SIGKILL" if self.hard else "SIGTERM",
            "old_pid": self.old_pid,
            "new_pid": self.new_pid,
            "at_seconds": round(self.stopped_at - origin, 1),
            "exit_seconds": round(self.exited_at - self.stopped_at, 2),
            "down_seconds": round(self.ready_at - self.stopped_at, 2),
        }


@dataclass(slots=True)
class DemoFederation:
    """A running `selec demo`: its process (the broker), its nodes, its addresses."""

    data_dir: Path
    process: asyncio.subprocess.Process
    broker: str
    broker_metrics: str | None
    nodes: dict[str, NodeProcess]
    node_addresses: dict[str, str]
    log_path: Path
    lives: list[NodeProcess] = field(default_factory=list)

    @property
    def broker_pid(self) -> int:
        """The demo's process runs the broker."""
        return self.process.pid

    def broker_alive(self) -> bool:
        """False once the demo process (and so the broker) has exited."""
        return self.process.returncode is None

    def probe_credentials(self) -> grpc.ChannelCredentials:
        """The broker's credentials: nodes answer only the broker (mutual TLS)."""
        return files_for(self.data_dir / "pki", "broker").channel_credentials()

    async def restart_node(
        self,
        country: str,
        hard: bool,
        while_down: Callable[[str], Awaitable[None]] | None = None,
    ) -> Restart:
        """Stop a node (SIGTERM to drain, or SIGKILL) and start it again as it was started;
        while_down(country) runs between the old process's exit and the new one's start."""
        old = self.nodes[country]
        command, environ = _command_of(old.pid)
        command = _with_parent(command, os.getpid())
        stopped_at = time.monotonic()
        os.kill(old.pid, signal.SIGKILL if hard else signal.SIGTERM)
        await _wait_exit(old)
        exited_at = time.monotonic()
        if while_down is not None:
            await asyncio.wait_for(while_down(country), WHILE_DOWN_SECONDS)
        with (self.data_dir / "logs" / f"{country.lower()}.log").open("ab") as log:
            child = await asyncio.create_subprocess_exec(
                *command,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        new = NodeProcess(country, child.pid, time.monotonic(), child)
        self.nodes[country] = new
        self.lives.append(new)
        deadline = time.monotonic() + NODE_READY_SECONDS
        if not await wait_serving(self.node_addresses[country], deadline, self.probe_credentials()):
            raise FederationError(f"node {country} (pid {child.pid}) did not serve again")
        return Restart(country, hard, old.pid, new.pid, stopped_at, exited_at, time.monotonic())

    async def stop(self, grace: float = 30.0) -> int | None:
        """Stop the nodes the soak started, then the demo; the demo's exit status (None
        when it had to be killed)."""
        mine = [life.child for life in self.lives if life.child is not None]
        for child in mine:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
        for child in mine:
            await _wait_or_kill(child, grace)
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await _wait_or_kill(self.process, grace)


async def start_demo(
    data_dir: Path,
    persons: int,
    *,
    broker_listen: str | None = None,
    node_port_base: int | None = None,
    limit: float = 900.0,
    say: Callable[[str], None] = print,
) -> DemoFederation:
    """Start `selec demo` on data_dir and wait until it says the federation is ready.

    A node the demo reports NOT READY (it waits 60 s, which a busy machine can exceed) is
    given NODE_READY_SECONDS more before the soak gives up.
    """
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / "demo.log"
    command = [
        sys.executable,
        "-m",
        "selec.cli.main",
        "demo",
        "--data-dir",
        str(data_dir),
        "--persons",
        str(persons),
    ]
    if broker_listen:
        command += ["--broker-listen", broker_listen]
    if node_port_base is not None:
        command += ["--node-port-base", str(node_port_base)]
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
    try:
        lines = await _until_ready(process, log_path, offset, limit)
        federation = _parsed(data_dir, process, lines, log_path)
        late = [c for c, n in federation.nodes.items() if n.pid == 0]
        deadline = time.monotonic() + NODE_READY_SECONDS
        for country in late:
            address = federation.node_addresses[country]
            if not await wait_serving(address, deadline, federation.probe_credentials()):
                raise FederationError(f"node {country} did not start (see {logs})")
        _find_pids(federation)
    except BaseException:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await _wait_or_kill(process, 30)
        raise
    say(
        f"demo federation ready: broker {federation.broker} (pid {process.pid}), "
        f"{len(federation.nodes)} nodes" + (f" ({', '.join(late)} late)" if late else "")
    )
    return federation


async def _until_ready(
    process: asyncio.subprocess.Process, log_path: Path, offset: int, limit: float
) -> list[str]:
    deadline = time.monotonic() + limit
    while True:
        with log_path.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode(errors="replace").splitlines()
        if any(line.startswith(READY_PATTERN) for line in lines):
            return lines
        if process.returncode is not None or time.monotonic() > deadline:
            tail = "\n".join(lines[-20:])
            raise FederationError(f"selec demo did not get ready (see {log_path}):\n{tail}")
        await asyncio.sleep(0.5)


def _parsed(
    data_dir: Path, process: asyncio.subprocess.Process, lines: list[str], log_path: Path
) -> DemoFederation:
    """Where the demo says everything listens; a node NOT READY gets pid 0 for now."""
    nodes: dict[str, NodeProcess] = {}
    addresses: dict[str, str] = {}
    broker = metrics = None
    now = time.monotonic()
    for line in lines:
        if found := _NODE_LINE.match(line):
            country, address = found.group(1), found.group(2)
            nodes[country] = NodeProcess(country, int(found.group(3) or 0), now)
            addresses[country] = address
        elif found := _BROKER_LINE.match(line):
            broker, metrics = found.group(1), found.group(2)
    if broker is None or not nodes:
        raise FederationError(f"selec demo printed no broker or nodes (see {log_path})")
    return DemoFederation(
        data_dir, process, broker, metrics, nodes, addresses, log_path, list(nodes.values())
    )


def _find_pids(federation: DemoFederation) -> None:
    """Fill in the pids of nodes the demo reported NOT READY: its children, by config."""
    missing = {c for c, n in federation.nodes.items() if n.pid == 0}
    if not missing:
        return
    tasks = Path(f"/proc/{federation.process.pid}/task")
    children = [
        int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()
    ]
    for pid in children:
        command, _ = _command_of(pid)
        if "--config" in command:
            country = Path(command[command.index("--config") + 1]).stem.upper()
            if country in missing:
                federation.nodes[country].pid = pid
    if any(federation.nodes[c].pid == 0 for c in missing):
        raise FederationError("cannot find the process of a node the demo started late")


async def wait_serving(address: str, deadline: float, credentials: grpc.ChannelCredentials) -> bool:
    """Whether the server at address reports SERVING (standard health) before deadline.

    A fresh channel per attempt: a channel's reconnect back-off (1 s, growing) would see a
    restarted node a second or more late, and the soak reports how long nodes were down.
    """
    request = health_pb2.HealthCheckRequest()
    while time.monotonic() < deadline:
        async with grpc.aio.secure_channel(address, credentials) as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.aio.AioRpcError:
                pass
        await asyncio.sleep(0.05)
    return False


def _command_of(pid: int) -> tuple[list[str], dict[str, str]]:
    """A running process's command line and environment (Linux /proc)."""
    try:
        raw_command = Path(f"/proc/{pid}/cmdline").read_bytes()
        raw_environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError as exc:
        raise FederationError(f"cannot read process {pid}: {exc.strerror}") from None
    command = [part.decode() for part in raw_command.split(b"\0") if part]
    environ = dict(
        part.decode(errors="replace").partition("=")[::2]
        for part in raw_environ.split(b"\0")
        if b"=" in part
    )
    return command, environ


def _with_parent(command: list[str], parent: int) -> list[str]:
    """The command with --exit-with-parent naming parent (the node exits when it does)."""
    if "--exit-with-parent" not in command:
        return [*command, "--exit-with-parent", str(parent)]
    at = command.index("--exit-with-parent")
    return [*command[: at + 1], str(parent), *command[at + 2 :]]


def process_gone(pid: int) -> bool:
    """True when pid has exited (gone, or a zombie its parent has not reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return "Z" in state.split(":", 1)[-1].split()[:1]


async def _wait_exit(life: NodeProcess, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if life.child is not None:
            if life.child.returncode is not None:
                return
        elif process_gone(life.pid):
            return
        await asyncio.sleep(0.05)
    os.kill(life.pid, signal.SIGKILL)
    raise FederationError(f"node {life.country} (pid {life.pid}) did not exit in {limit:.0f} s")


async def _wait_or_kill(process: asyncio.subprocess.Process, grace: float) -> int | None:
    """Its exit status; None when it had to be killed after grace seconds."""
    try:
        return await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
