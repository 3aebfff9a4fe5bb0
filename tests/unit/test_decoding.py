"""RequestDecoding wraps each method's handler once, not on every call."""

from __future__ import annotations

from typing import NamedTuple

import grpc

from selec.decoding import Malformed, RequestDecoding
from selec.v1 import common_pb2


class _CallDetails(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


async def _echo(request: common_pb2.Criteria, context: grpc.aio.ServicerContext) -> object:
    return request


async def test_the_wrapped_handler_is_built_once_per_method() -> None:
    original = grpc.unary_unary_rpc_method_handler(
        _echo,
        request_deserializer=common_pb2.Criteria.FromString,
        response_serializer=common_pb2.Criteria.SerializeToString,
    )

    async def continuation(_: object) -> grpc.RpcMethodHandler:
        return original

    decoding = RequestDecoding()
    details = _CallDetails(method="/selec.v1.Test/Echo", invocation_metadata=())
    first = await decoding.intercept_service(continuation, details)
    second = await decoding.intercept_service(continuation, details)
    assert first is second
    assert first is not original
    assert isinstance(first.request_deserializer(b"\xff\xff\xff"), Malformed)
    parsed = first.request_deserializer(common_pb2.Criteria().SerializeToString())
    assert isinstance(parsed, common_pb2.Criteria)
