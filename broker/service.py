"""The BrokerService: validate, key, fan out, stream answers, summarize.

The summary is the broker's promise to the officer: every asked country appears in it
with a status, and a country that did not answer is never NO_HIT.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping

import grpc

from broker.criteria import InvalidCriteria, search_keys
from broker.nodes import TIMEOUT, CountryOutcome, NodeClient, fan_out
from connectors.keys import KeyScheme
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2, connector_pb2

log = logging.getLogger(__name__)

MAX_PURPOSE = 200
MAX_COUNTRIES = 64


class SearchRejected(ValueError):
    """The search request is malformed; the message names the field."""


def _required_text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise SearchRejected(f"{field}: required")
    if len(value) > MAX_PURPOSE:
        raise SearchRejected(f"{field}: longer than {MAX_PURPOSE} characters")
    if any(ch < " " for ch in value):
        raise SearchRejected(f"{field}: contains control characters")
    return value


class BrokerServicer(broker_pb2_grpc.BrokerServiceServicer):
    """Serves Search over the configured nodes."""

    def __init__(
        self,
        scheme: KeyScheme,
        clients: Mapping[str, NodeClient],
        answer_margin_seconds: float,
    ) -> None:
        self._scheme = scheme
        self._clients = clients
        self._margin = answer_margin_seconds

    def _countries(self, asked: list[str]) -> list[str]:
        if not asked:
            return list(self._clients)
        if len(asked) > MAX_COUNTRIES:
            raise SearchRejected(f"countries: at most {MAX_COUNTRIES}")
        chosen = list(dict.fromkeys(code.strip().upper() for code in asked))
        unknown = [code for code in chosen if code not in self._clients]
        if unknown:
            listed = ", ".join(repr(code[:8]) for code in unknown[:5])
            raise SearchRejected(
                f"countries: not in this federation: {listed} "
                f"(expected some of {', '.join(self._clients)})"
            )
        return chosen

    async def Search(
        self, request: broker_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[broker_pb2.SearchEvent]:
        """Stream each asked country's answer, then the summary."""
        started = time.monotonic()
        try:
            _required_text(request.purpose, "purpose")
            _required_text(request.legal_basis, "legal_basis")
            countries = self._countries(list(request.countries))
            keys = search_keys(request.criteria, self._scheme)
        except (SearchRejected, InvalidCriteria) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        search_id = uuid.uuid4().hex
        remaining = context.time_remaining()
        cap = None if remaining is None else max(0.0, remaining - self._margin)
        match = connector_pb2.MatchRequest(
            scheme_version=self._scheme.version,
            keys=[common_pb2.BlindKey(key_type=k.key_type, digest=k.digest) for k in keys.keys],
            search_id=search_id,
            sex=keys.sex,  # type: ignore[arg-type]
        )
        outcomes: dict[str, CountryOutcome] = {}
        stream = fan_out((self._clients[c] for c in countries), match, cap)
        try:
            async for outcome in stream:
                outcomes[outcome.country] = outcome
                yield broker_pb2.SearchEvent(
                    answer=broker_pb2.CountryAnswer(result=outcome.result(), hits=outcome.hits)
                )
        finally:
            await stream.aclose()
        elapsed = time.monotonic() - started
        results = [
            (outcomes.get(c) or CountryOutcome(c, TIMEOUT, elapsed, detail="no answer")).result()
            for c in countries
        ]
        log.info(
            "search search_id=%s countries=%d keys=%d outcomes=%s elapsed=%.3f",
            search_id,
            len(countries),
            len(match.keys),
            ",".join(
                f"{r.country}:{broker_pb2.CountryStatus.Name(r.status)[15:]}" for r in results
            ),
            elapsed,
        )
        yield broker_pb2.SearchEvent(
            summary=broker_pb2.SearchSummary(
                search_id=search_id, results=results, elapsed_seconds=elapsed
            )
        )
