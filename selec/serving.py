"""Starting and stopping a grpc.aio server the same way for the broker and every node.

Every server gets the standard health service (so load balancers and `grpcurl` can probe
it) and reflection (so outside clients need none of our files), binds to its address or
fails fast with one clear line, and drains in-flight calls on stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from selec.decoding import RequestDecoding
from selec.observability import RpcObserver

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
PARENT_POLL_SECONDS = 1.0


class ServeError(Exception):
    """The server could not start (e.g. its port is in use); one line says why."""


@dataclass
class RunningServer:
    """A started server, the port it got, and its health servicer."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: Sequence[str]

    async def set_serving(self, serving: bool) -> None:
        """Report every service (and the server as a whole) as SERVING or NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.service_names):
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        """Stop taking calls, let in-flight ones finish within grace seconds."""
        await self.set_serving(False)
        await self.server.stop(grace)


async def start_server(
    listen: str,
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    *,
    registry: CollectorRegistry | None = None,
    reuse_port: bool = False,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    max_receive_message_bytes: int = MAX_MESSAGE_BYTES,
    max_send_message_bytes: int = MAX_MESSAGE_BYTES,
) -> RunningServer:
    """Create, bind and start a server; register adds the project's servicers to it.

    With a registry, every RPC is observed into it (see selec.observability). reuse_port
    lets several worker processes serve one port (the kernel spreads the connections);
    off by default, so a port already taken fails fast. A request message larger than
    max_receive_message_bytes is refused by gRPC itself, before any handler or interceptor
    sees it: the caller gets RESOURCE_EXHAUSTED ("Received message larger than max").
    """
    observers = [RpcObserver(registry)] if registry is not None else []
    server = grpc.aio.server(
        interceptors=[*observers, *interceptors, RequestDecoding()],
        options=[
            ("grpc.max_receive_message_length", max_receive_message_bytes),
            ("grpc.max_send_message_length", max_send_message_bytes),
            ("grpc.so_reuseport", 1 if reuse_port else 0),
        ],
    )
    register(server)
    names = tuple(service_names)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        if credentials is None:
            port = server.add_insecure_port(listen)
        else:
            port = server.add_secure_port(listen, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        raise ServeError(f"cannot listen on {listen}: address in use or not available")
    await server.start()
    running = RunningServer(server, port, health_servicer, names)
    await running.set_serving(True)
    return running


def bound_address(listen: str, port: int) -> str:
    """HOST:PORT actually listened on (listen may say port 0)."""
    host = listen.rpartition(":")[0]
    return f"{host}:{port}"


@asynccontextmanager
async def termination_signals(parent_pid: int | None = None) -> AsyncIterator[asyncio.Event]:
    """An event set by the first SIGINT or SIGTERM while the block runs.

    Enter it before starting servers, so a signal during start-up also ends in a clean
    drain rather than the default abrupt death. With parent_pid, the event is also set
    when that parent process is gone, so a supervisor killed outright (SIGKILL) leaves
    no orphaned servers holding their ports.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watcher = (
        asyncio.create_task(_watch_parent(parent_pid, stop)) if parent_pid is not None else None
    )
    try:
        yield stop
    finally:
        if watcher is not None:
            watcher.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    while os.getppid() == parent_pid:  # noqa: ASYNC110 (no event exists for a parent's death)
        await asyncio.sleep(PARENT_POLL_SECONDS)
    stop.set()


async def watch_health(
    server: RunningServer, check: Callable[[], Awaitable[bool]], interval: float
) -> None:
    """Report NOT_SERVING while check() says the service cannot do its job; until cancelled.

    The broker checks its reference index, a node its database: a load balancer then
    sends callers elsewhere instead of to a server that can only fail them.
    """
    serving: bool | None = None
    while True:
        try:
            healthy = await check()
        except Exception:  # a failing check is an unhealthy service, not a crash
            healthy = False
        if healthy != serving:
            await server.set_serving(healthy)
            serving = healthy
        await asyncio.sleep(interval)
