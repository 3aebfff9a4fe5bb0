"""The reference the broker is measured against: the least code that does a federated search.

It serves the same `BrokerService.Search` over the same nodes, and does only what a search
cannot do without: turn the criteria into the same blind keys, ask every node in parallel
with asyncio, stream each answer as it comes, end with a summary. No validation of purpose
or countries, no suspension, no retries, no per-country deadline policy, no logging. The
gap between its throughput and the broker's is what the product's features cost.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc

from broker.criteria import search_keys
from connectors.keys import KeyScheme
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2, connector_pb2, connector_pb2_grpc

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
HIT = broker_pb2.COUNTRY_STATUS_HIT
NO_HIT = broker_pb2.COUNTRY_STATUS_NO_HIT
ERROR = broker_pb2.COUNTRY_STATUS_ERROR


class BareFanOut(broker_pb2_grpc.BrokerServiceServicer):
    """Search as a plain asyncio fan-out: one channel per node, as_completed, stream."""

    def __init__(self, scheme: KeyScheme, endpoints: dict[str, str], deadline: float) -> None:
        self._scheme = scheme
        self._deadline = deadline
        self._stubs = {
            country: connector_pb2_grpc.ConnectorServiceStub(grpc.aio.insecure_channel(address))
            for country, address in endpoints.items()
        }

    async def _ask(
        self, country: str, stub: Any, request: connector_pb2.MatchRequest, started: float
    ) -> broker_pb2.CountryAnswer:
        try:
            response = await stub.Match(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as exc:
            result = broker_pb2.CountryResult(
                country=country,
                status=ERROR,
                latency_seconds=time.monotonic() - started,
                detail=exc.code().name,
            )
            return broker_pb2.CountryAnswer(result=result)
        result = broker_pb2.CountryResult(
            country=country,
            status=HIT if response.hits else NO_HIT,
            latency_seconds=time.monotonic() - started,
            hit_count=len(response.hits),
        )
        return broker_pb2.CountryAnswer(result=result, hits=response.hits)

    async def Search(
        self, request: broker_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[broker_pb2.SearchEvent]:
        """Key the criteria, ask every node at once, stream answers, then the summary."""
        started = time.monotonic()
        keys = search_keys(request.criteria, self._scheme)
        match = connector_pb2.MatchRequest(
            scheme_version=self._scheme.version,
            keys=[common_pb2.BlindKey(key_type=k.key_type, digest=k.digest) for k in keys.keys],
            search_id=uuid.uuid4().hex,
            sex=keys.sex,  # type: ignore[arg-type]
        )
        tasks = [
            asyncio.create_task(self._ask(country, stub, match, started))
            for country, stub in self._stubs.items()
        ]
        results = []
        for finished in asyncio.as_completed(tasks):
            answer = await finished
            results.append(answer.result)
            yield broker_pb2.SearchEvent(answer=answer)
        yield broker_pb2.SearchEvent(
            summary=broker_pb2.SearchSummary(
                search_id=match.search_id,
                results=results,
                elapsed_seconds=time.monotonic() - started,
            )
        )


async def start_bare(config: dict[str, Any], listen: str, reuseport: bool) -> tuple[Any, int]:
    """Serve BareFanOut on listen; returns the started grpc.aio server and its port."""
    servicer = BareFanOut(
        KeyScheme(bytes.fromhex(config["key_secret"])),
        {code: entry["endpoint"] for code, entry in config["countries"].items()},
        max(float(entry["deadline_seconds"]) for entry in config["countries"].values()),
    )
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 1 if reuseport else 0),
        ]
    )
    broker_pb2_grpc.add_BrokerServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port(listen)
    await server.start()
    return server, port
