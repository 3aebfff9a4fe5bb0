"""Requests that cannot be parsed get INVALID_ARGUMENT, not grpc's UNKNOWN.

grpc-python parses each request message with the method's deserializer before the handler
runs. A message that is not valid protobuf (random bytes, a truncated message, invalid
UTF-8 in a string field) makes the deserializer raise, and grpc answers UNKNOWN with
"Unexpected <class 'google.protobuf.message.DecodeError'>: ...": the wrong code (the
caller sent something bad: INVALID_ARGUMENT), and the text of an internal exception.

`RequestDecoding` swaps each method's deserializer for one that never raises: a message
that cannot be parsed becomes a `Malformed` marker, and the handler is wrapped so the
marker ends the call with INVALID_ARGUMENT and a message that names the expected type.
One interceptor covers every method of every server, whatever its streaming shape, so a
method added to the contract is covered without anyone remembering to.

It must be the innermost interceptor (last in the list): the others (authentication,
metrics) then wrap a handler that already refuses malformed requests, so an unauthenticated
caller is refused as such before its message is even looked at.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from selec.handlers import HandlerCache, same_shape


@dataclass(frozen=True, slots=True)
class Malformed:
    """A request message that could not be parsed, and what it should have been."""

    expected: str

    @property
    def reason(self) -> str:
        """The caller's error message (no exception text, nothing internal)."""
        return (
            f"request: not a valid {self.expected} message "
            "(malformed protobuf, or invalid UTF-8 in a string field)"
        )


def _tolerant(deserializer: Callable[[bytes], Any] | None, expected: str) -> Any:
    """deserializer, returning Malformed instead of raising; None stays None (raw bytes)."""
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, UnicodeDecodeError, ValueError):
            return Malformed(expected)

    return parse


def _expected_type(deserializer: Callable[[bytes], Any] | None, method: str) -> str:
    """The message type a deserializer parses (`FromString` of a generated class)."""
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    full_name = getattr(descriptor, "full_name", None)
    return full_name if isinstance(full_name, str) else f"{method} request"


async def _checked_stream(
    requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
) -> AsyncIterator[Any]:
    async for message in requests:
        if isinstance(message, Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, message.reason)
        yield message


def _unary_in(behaviour: Callable[..., Any], streaming_out: bool) -> Callable[..., Any]:
    if streaming_out:

        async def respond_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, Malformed):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
            async for response in behaviour(request, context):
                yield response

        return respond_stream

    async def respond(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        return await behaviour(request, context)

    return respond


def _stream_in(behaviour: Callable[..., Any], streaming_out: bool) -> Callable[..., Any]:
    if streaming_out:

        async def respond_stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            async for response in behaviour(_checked_stream(requests, context), context):
                yield response

        return respond_stream

    async def respond(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        return await behaviour(_checked_stream(requests, context), context)

    return respond


def _checking(behaviour: Callable[..., Any], streaming_in: bool, streaming_out: bool) -> Any:
    """behaviour, refusing a Malformed request (or message of the request stream)."""
    return (_stream_in if streaming_in else _unary_in)(behaviour, streaming_out)


class RequestDecoding(grpc.aio.ServerInterceptor):
    """Malformed request messages end the call with INVALID_ARGUMENT (see module doc).

    Each method's wrapped handler is built once (`HandlerCache`), not on every call.
    """

    def __init__(self) -> None:
        self._handlers = HandlerCache(self._wrap)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """The method's handler, with a deserializer that cannot raise."""
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        return self._handlers.get(handler, details.method)

    @staticmethod
    def _wrap(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """A copy of handler whose deserializer returns Malformed instead of raising."""
        behaviour = (
            handler.unary_unary
            or handler.unary_stream
            or handler.stream_unary
            or handler.stream_stream
        )
        if not (inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)):
            return handler  # a synchronous handler: grpc runs it elsewhere; left as it is
        expected = _expected_type(handler.request_deserializer, method)
        return same_shape(handler, _checking, _tolerant(handler.request_deserializer, expected))
