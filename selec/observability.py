"""What every server shares for operators: RPC metrics, request ids in logs, /metrics.

- `RpcObserver` is the one interceptor: it takes the caller's `x-request-id` (or makes
  one), puts it in a context variable that every log line of the call and every outgoing
  call carries, and observes each RPC's latency and status code **after** the handler
  finished, streaming RPCs included (a stream is timed to its last message).
- `configure_logging` writes key=value lines with that request id.
- `MetricsEndpoint` serves a service's own registry over HTTP for Prometheus.

Labels are bounded: service, method and status code; never a reference, an officer or a
criterion.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from selec.handlers import HandlerCache, same_shape

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID = 64
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """Metadata that carries the current request id to a downstream call."""
    current = request_id.get()
    return ((REQUEST_ID_HEADER, current),) if current != "-" else ()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """key=value log lines on stderr, each with the request id of the call it belongs to."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(
            "ts=%(asctime)s level=%(levelname)s logger=%(name)s "
            "request_id=%(request_id)s %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _incoming_request_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str):
            cleaned = "".join(ch for ch in value[:MAX_REQUEST_ID] if ch.isalnum() or ch in "-_")
            if cleaned:
                return cleaned
    return uuid.uuid4().hex[:16]


def _code(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if error is None:
        return "OK"
    return "CANCELLED" if isinstance(error, asyncio.CancelledError) else "UNKNOWN"


class RpcObserver(grpc.aio.ServerInterceptor):
    """Request ids and per-RPC latency/status metrics, for every method of a server."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._handlers = HandlerCache(self._wrap)
        self.duration = Histogram(
            "selec_rpc_duration_seconds",
            "Time from the start of an RPC to the end of its handler (streams: last message).",
            ["service", "method", "code"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.handled = Counter(
            "selec_rpc_handled",
            "RPCs handled, by status code.",
            ["service", "method", "code"],
            registry=registry,
        )

    def _observe(self, method: str, started: float, code: str) -> None:
        service, _, name = method.lstrip("/").rpartition("/")
        self.duration.labels(service, name, code).observe(time.perf_counter() - started)
        self.handled.labels(service, name, code).inc()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the method's handler, whatever its streaming shape."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return self._handlers.get(handler, handler_call_details.method)

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        def observed(behaviour: Callable[..., Any], _: bool, streaming_out: bool) -> Any:
            return (self._stream if streaming_out else self._unary)(method, behaviour)

        return same_shape(handler, observed)

    def _unary(self, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            request_id.set(_incoming_request_id(context))
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                return await behaviour(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._observe(method, started, _code(context, error))

        return observed

    def _stream(self, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        async def observed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            request_id.set(_incoming_request_id(context))
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                async for response in behaviour(request, context):
                    yield response
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._observe(method, started, _code(context, error))

        return observed


@dataclass
class MetricsEndpoint:
    """A running HTTP server exposing one registry at /metrics."""

    address: str
    _server: Any

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(listen: str, registry: CollectorRegistry) -> MetricsEndpoint:
    """Serve registry on HOST:PORT (port 0 picks a free one)."""
    host, _, port = listen.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host, registry=registry)
    return MetricsEndpoint(f"{host}:{server.server_port}", server)
