"""A fault-injecting connector: a real node's answers, spoiled on demand.

The documented exception to "real components only": a real node never answers for
another country, never sends undecodable bytes and never names a reference it did not
issue, and a proxy cannot rewrite an HTTP/2 stream. So this servicer puts a real
`ConnectorServicer` (real store, real keys) behind the same gRPC methods and applies one
`Fault` to its Match and MatchBatch answers. Answers are serialized here (the handlers
return bytes), so a fault may send bytes that are no MatchResponse at all, and the server
has no send limit, so an answer may exceed what the broker accepts. Release is passed to
the real node untouched (with the settings' grant key and TLS, as `start_node` serves it),
so step two of a spoiled search meets the node's own answer.
"""

from __future__ import annotations

import base64
import enum
import secrets
from dataclasses import dataclass, field

import grpc
from prometheus_client import CollectorRegistry

from connectors.config import ConnectorSettings
from connectors.metrics import NodeMetrics
from connectors.node import SERVICE_NAME, make_keyer, make_releaser, open_store
from connectors.service import ConnectorServicer
from selec.v1 import common_pb2, connector_pb2

# More than the broker's 4 MiB receive limit once serialized.
OVERSIZED_BYTES = 5 * 1024 * 1024


class Fault(enum.Enum):
    """What the node does wrong."""

    NONE = "none"
    FLAP_UNAVAILABLE = "every other call fails UNAVAILABLE"
    FLAP_INTERNAL = "every other call fails INTERNAL"
    TRUNCATED = "answer bytes cut off mid-field"
    BAD_UTF8 = "answer with a string that is not UTF-8"
    OVERSIZED = "answer larger than the broker accepts"
    OTHER_COUNTRY = "answer signed with another country's code"
    FOREIGN_REFERENCES = "hits whose references are another country's"
    UNREADABLE_REFERENCES = "hits whose references are no reference at all"
    NEVER_ISSUED = "hits with well-formed references the node never issued"
    EXTRA_NEVER_ISSUED = "the real hits plus one well-formed reference the node never issued"
    UNASKED_KEY_TYPES = "hits claiming key types the search did not send"


@dataclass
class FaultyConnector:
    """The spoiler around one real ConnectorServicer; count calls per method."""

    real: ConnectorServicer
    fault: Fault = Fault.NONE
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def country(self) -> str:
        return self.real.country

    def handler(self) -> grpc.GenericRpcHandler:
        """The ConnectorService methods, answering serialized bytes."""
        methods = {
            "Match": (connector_pb2.MatchRequest, self._match),
            "MatchBatch": (connector_pb2.MatchBatchRequest, self._match_batch),
            "Describe": (connector_pb2.DescribeRequest, self._describe),
            "Release": (connector_pb2.ReleaseRequest, self._release),
        }
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                name: grpc.unary_unary_rpc_method_handler(
                    behaviour, request_deserializer=message.FromString
                )
                for name, (message, behaviour) in methods.items()
            },
        )

    async def _count(self, method: str, context: grpc.aio.ServicerContext) -> None:
        calls = self.calls[method] = self.calls.get(method, 0) + 1
        if calls % 2 == 1 and self.fault is Fault.FLAP_UNAVAILABLE:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "flapping (injected)")
        if calls % 2 == 1 and self.fault is Fault.FLAP_INTERNAL:
            await context.abort(grpc.StatusCode.INTERNAL, "flapping (injected)")

    async def _match(
        self, request: connector_pb2.MatchRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        await self._count("Match", context)
        response = await self.real.Match(request, context)
        return self._spoil(response, list(response.hits))

    async def _match_batch(
        self, request: connector_pb2.MatchBatchRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        await self._count("MatchBatch", context)
        response = await self.real.MatchBatch(request, context)
        return self._spoil(response, [hit for result in response.results for hit in result.hits])

    async def _describe(
        self, request: connector_pb2.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        return (await self.real.Describe(request, context)).SerializeToString()

    async def _release(
        self, request: connector_pb2.ReleaseRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        self.calls["Release"] = self.calls.get("Release", 0) + 1  # never flapped
        return (await self.real.Release(request, context)).SerializeToString()

    def _spoil(self, response, hits: list[common_pb2.Hit]) -> bytes:
        """The answer's bytes with the fault applied."""
        fault = self.fault
        if fault is Fault.OTHER_COUNTRY:
            response.country = "BG" if self.country != "BG" else "RS"
        elif fault is Fault.FOREIGN_REFERENCES:
            other = "BG" if self.country != "BG" else "RS"
            for hit in hits:
                hit.reference = other + hit.reference[2:]
        elif fault is Fault.UNREADABLE_REFERENCES:
            for hit in hits:
                hit.reference = "../" + hit.reference + "'; --"
        elif fault is Fault.NEVER_ISSUED:
            for hit in hits:
                hit.reference = never_issued_reference(self.country)
        elif fault is Fault.EXTRA_NEVER_ISSUED and hits:
            # beside the first real hit: in a screening, in the same subject's result
            beside = (
                response.hits
                if isinstance(response, connector_pb2.MatchResponse)
                else next(result.hits for result in response.results if result.hits)
            )
            invented = beside.add()
            invented.CopyFrom(hits[0])
            invented.reference = never_issued_reference(self.country)
        elif fault is Fault.UNASKED_KEY_TYPES:
            for hit in hits:
                hit.matched_key_types.append("made_up_key_type")
        elif fault is Fault.OVERSIZED and hits:
            padding = "x" * 1000
            hits[0].matched_key_types.extend([padding] * (OVERSIZED_BYTES // len(padding)))
        data = response.SerializeToString()
        if fault is Fault.TRUNCATED:
            return data[: max(1, len(data) - 5)] if len(data) > 6 else b"\x0a\x40" + data
        if fault is Fault.BAD_UTF8:
            # field 1 (country), a string of two bytes that are no UTF-8
            return b"\x0a\x02\xff\xfe" + data
        return data


def never_issued_reference(country: str) -> str:
    """A reference in the node's own format that no record of it has."""
    return f"{country}-{base64.b32encode(secrets.token_bytes(16)).decode().rstrip('=')}"


@dataclass
class FaultyNode:
    """A served FaultyConnector."""

    server: grpc.aio.Server
    port: int
    connector: FaultyConnector

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace: float = 0) -> None:
        await self.server.stop(grace)


async def start_faulty_node(
    settings: ConnectorSettings, fault: Fault, listen: str = "127.0.0.1:0"
) -> FaultyNode:
    """Serve a real connector over settings' database, spoiled by fault.

    No message size limit on sending: the broker's receive limit is what is under test.
    With the settings' TLS files the node serves mTLS (the broker's certificate required),
    and with their grant key it releases records, as a real node does.
    """
    keyer = make_keyer(settings)
    store = open_store(settings)
    real = ConnectorServicer(
        settings.country,
        keyer.scheme.version,
        store,
        NodeMetrics(CollectorRegistry(), store),
        releaser=make_releaser(settings),
    )
    connector = FaultyConnector(real, fault)
    server = grpc.aio.server(options=[("grpc.max_send_message_length", -1)])
    server.add_generic_rpc_handlers((connector.handler(),))
    if settings.tls is None:
        port = server.add_insecure_port(listen)
    else:
        credentials = settings.tls.server_credentials(require_client_auth=True)
        port = server.add_secure_port(listen, credentials)
    await server.start()
    return FaultyNode(server, port, connector)
