"""Wrapping gRPC method handlers: the part every server interceptor of ours shares.

An interceptor that adds behaviour around a method (metrics, rate limits, tolerant
decoding) has to rebuild the method's handler in its own streaming shape, and should not
do so on every call when the result depends only on the method: `same_shape` does the
first, `HandlerCache` the second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

# wrap(behaviour, request_streaming, response_streaming) -> the wrapped behaviour
Wrapper = Callable[[Callable[..., Any], bool, bool], Callable[..., Any]]


def same_shape(
    handler: grpc.RpcMethodHandler,
    wrap: Wrapper,
    request_deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """A handler of handler's streaming shape running wrap(its behaviour, ...), with its
    serializers (or another request deserializer)."""
    kinds = {
        "request_deserializer": request_deserializer or handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary, False, False), **kinds)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap(handler.stream_unary, True, False), **kinds
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream, False, True), **kinds
        )
    return grpc.stream_stream_rpc_method_handler(wrap(handler.stream_stream, True, True), **kinds)


class HandlerCache:
    """Each method's wrapped handler, built once by `build(handler, method)` and reused
    while the inner handler is the same object (one entry per method of the servers it
    guards, so memory is bounded by the contract). An inner handler built per call (one
    carrying the caller's identity) simply replaces the entry each time."""

    def __init__(
        self, build: Callable[[grpc.RpcMethodHandler, str], grpc.RpcMethodHandler]
    ) -> None:
        self._build = build
        self._by_method: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def get(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The wrapped handler of ``method`` whose inner handler is ``handler``."""
        cached = self._by_method.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._build(handler, method)
        self._by_method[method] = (handler, wrapped)
        return wrapped
