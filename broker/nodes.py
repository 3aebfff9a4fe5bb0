"""The broker's clients of the member-state nodes, and the parallel fan-out over them.

One channel per node, created once and reused by every search. Each call has the node's
own deadline, capped by what the caller has left; only UNAVAILABLE (the call never reached
the node's logic) is retried, and only while the deadline allows, since Match is
read-only. Every call ends as a `CountryOutcome`: nothing here raises to the search.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from broker.config import CountrySettings, RetryPolicy, SuspensionPolicy
from broker.suspension import Suspension
from selec.countries import MEMBER_STATES
from selec.observability import outgoing_metadata
from selec.v1 import broker_pb2, common_pb2, connector_pb2, connector_pb2_grpc

log = logging.getLogger(__name__)

HIT = broker_pb2.COUNTRY_STATUS_HIT
NO_HIT = broker_pb2.COUNTRY_STATUS_NO_HIT
UNAVAILABLE = broker_pb2.COUNTRY_STATUS_UNAVAILABLE
TIMEOUT = broker_pb2.COUNTRY_STATUS_TIMEOUT
ERROR = broker_pb2.COUNTRY_STATUS_ERROR
INDEXED_HIT = broker_pb2.COUNTRY_STATUS_INDEXED_HIT
INDEXED_NO_HIT = broker_pb2.COUNTRY_STATUS_INDEXED_NO_HIT
MAX_DETAIL = 200
MATCH_BATCH_METHOD = "/selec.v1.ConnectorService/MatchBatch"
RECENT_CALLS = 200
# A retry waits this long at most for a dropped channel to reconnect (see `_reconnected`).
RECONNECT_WAIT_SECONDS = 0.5
# The federation's reference syntax: what RequestDetails and the reference index accept.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
UNDECODABLE = "the node's answer could not be decoded (malformed)"

# (cause, words of gRPC's error text that show it), first match wins.
_UNAVAILABLE_CAUSES = (
    (
        "TLS handshake failed (certificate not trusted, expired, or for another name)",
        ("handshake", "certificate", "ssl", "tls"),
    ),
    ("connection refused", ("connection refused", "connect failed")),
    ("connection reset", ("connection reset", "socket closed", "broken pipe", "eof")),
    ("its address does not resolve", ("dns resolution", "name resolution")),
    ("no connection", ("failed to connect", "ipv4:", "ipv6:", "unix:")),
)

CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.max_receive_message_length", 4 * 1024 * 1024),
)


@dataclass(slots=True)
class CountryOutcome:
    """How one country answered one search."""

    country: str
    status: int
    latency_seconds: float
    hits: list[common_pb2.Hit] = field(default_factory=list)
    detail: str = ""
    indexed_as_of: datetime | None = None

    def result(self) -> broker_pb2.CountryResult:
        """The summary line of this outcome."""
        result = broker_pb2.CountryResult(
            country=self.country,
            status=self.status,  # type: ignore[arg-type]
            latency_seconds=self.latency_seconds,
            hit_count=len(self.hits),
            detail=self.detail,
        )
        if self.indexed_as_of is not None:
            result.indexed_as_of.FromDatetime(self.indexed_as_of)
        return result


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() == grpc.StatusCode.UNAVAILABLE


def _unavailable_detail(details: str) -> str:
    """Why a node was not reached, in words an officer can pass on to an operator.

    gRPC's own text names addresses and library internals; the common causes are told
    apart by it, and anything else (a node that itself answered UNAVAILABLE, as one whose
    database is gone does) is quoted, shortened.
    """
    text = details.lower()
    for cause, words in _UNAVAILABLE_CAUSES:
        if any(word in text for word in words):
            return f"node unreachable: {cause}"
    return f"node unavailable: {details[:MAX_DETAIL]}"


def untrusted_hits(
    hits: Iterable[common_pb2.Hit], country: str, asked_key_types: frozenset[str] | None
) -> str | None:
    """Why a node's hits cannot be passed on as its hits, or None when they can.

    Hits go to the officer, into the audit trail and on to RequestDetails, so the broker
    checks what it can without knowing the node's records: each reference is in the
    federation's reference syntax (else the officer could not even ask for it), is not
    named for another member state ("BG-..." from RS: references carry their owner's
    code, as the SDK's keyer makes them), comes once per answer (a repeat would be audited
    twice), and claims only key types the search sent (asked_key_types; None: not
    checked). A node breaking any of these is broken or lying, so its whole answer is
    refused: keeping the rest would pretend to know which of its hits are true.
    Whether a well-formed reference was ever issued only the node knows: that is
    settled at RequestDetails and Release, where a reference it never issued is refused.
    """
    seen: set[str] = set()
    foreign = tuple(f"{c}-" for c in MEMBER_STATES if c != country)
    for index, hit in enumerate(hits):
        reference = hit.reference
        if not _REFERENCE.fullmatch(reference):
            return f"hits[{index}].reference is not a reference ({reference[:24]!r})"
        if reference.startswith(foreign):
            return f"hits[{index}].reference names another country ({reference[:24]!r})"
        if reference in seen:
            return f"hits[{index}].reference repeats an earlier hit ({reference[:24]!r})"
        seen.add(reference)
        if asked_key_types is not None:
            unasked = [t for t in hit.matched_key_types if t not in asked_key_types]
            if unasked:
                return (
                    f"hits[{index}] claims a key type the search did not send ({unasked[0][:24]!r})"
                )
    return None


class NodeClient:
    """Calls one country's node: deadline, retries, suspension. Owns one channel."""

    def __init__(
        self,
        settings: CountrySettings,
        retry: RetryPolicy,
        suspension: SuspensionPolicy,
        *,
        channel: grpc.aio.Channel | None = None,
        on_retry: Callable[[str], None] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.settings = settings
        self.country = settings.country
        self._retry = retry
        self._on_retry = on_retry
        self.suspension = Suspension(suspension)
        self.recent_latencies: deque[float] = deque(maxlen=RECENT_CALLS)
        if channel is None:
            channel = (
                grpc.aio.secure_channel(settings.endpoint, credentials, options=CHANNEL_OPTIONS)
                if credentials is not None
                else grpc.aio.insecure_channel(settings.endpoint, options=CHANNEL_OPTIONS)
            )
        self._channel = channel
        self._stub = connector_pb2_grpc.ConnectorServiceStub(self._channel)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def describe(self, deadline_seconds: float) -> connector_pb2.DescribeResponse:
        """The node's Describe answer (raises grpc.aio.AioRpcError)."""
        return await self._stub.Describe(connector_pb2.DescribeRequest(), timeout=deadline_seconds)

    async def release(
        self, request: connector_pb2.ReleaseRequest, deadline_seconds: float
    ) -> connector_pb2.ReleaseResponse:
        """Ask the node to release a record for a signed grant (raises AioRpcError).

        Not retried: a release consumes the grant's nonce at the node.
        """
        return await self._stub.Release(
            request, timeout=deadline_seconds, metadata=outgoing_metadata()
        )

    async def ask(
        self, request: connector_pb2.MatchRequest, started: float, cap: float | None
    ) -> CountryOutcome:
        """Ask the node; started is the search's monotonic start, cap the caller's budget."""
        if not self.suspension.allows_call():
            state = self.suspension.state()
            return CountryOutcome(
                self.country,
                UNAVAILABLE,
                time.monotonic() - started,
                detail=(
                    f"suspended for {state.remaining_seconds:.1f} s after "
                    f"{state.consecutive_failures} failures ({state.last_failure})"
                ),
            )
        own = self.settings.deadline_seconds
        budget = own if cap is None else max(0.0, min(own, cap))
        capped_by_caller = budget < own
        deadline = started + budget
        try:
            response = await self._call_with_retries(self._stub.Match, request, deadline)
        except (TimeoutError, grpc.aio.AioRpcError) as exc:
            outcome = self._failure(exc, time.monotonic() - started, budget)
            self.recent_latencies.append(outcome.latency_seconds)
            if not (outcome.status == TIMEOUT and capped_by_caller):
                self.suspension.record_failure(outcome.detail)
            return outcome
        latency = time.monotonic() - started
        self.recent_latencies.append(latency)
        problem = self._answer_problem(response)
        if problem is None and response.hits:
            problem = untrusted_hits(
                response.hits, self.country, frozenset(k.key_type for k in request.keys)
            )
            problem = problem and f"node answered hits the broker cannot pass on: {problem}"
        if problem is not None:
            self.suspension.record_failure(problem)
            return CountryOutcome(self.country, ERROR, latency, detail=problem)
        self.suspension.record_success()
        hits = list(response.hits)
        return CountryOutcome(self.country, HIT if hits else NO_HIT, latency, hits)

    def _answer_problem(
        self, response: connector_pb2.MatchResponse | connector_pb2.MatchBatchResponse | None
    ) -> str | None:
        """What makes an answer no answer of this node's, or None.

        gRPC hands over None for bytes its deserializer could not parse (logging the
        error, raising nothing), so None is the node's malformed answer.
        """
        if response is None:
            return UNDECODABLE
        if response.country != self.country:
            return f"node answered as {response.country[:8]!r}, expected {self.country}"
        return None

    def _failure(self, exc: BaseException, latency: float, budget: float) -> CountryOutcome:
        if isinstance(exc, TimeoutError) or (
            isinstance(exc, grpc.aio.AioRpcError)
            and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        ):
            return CountryOutcome(
                self.country, TIMEOUT, latency, detail=f"no answer within {budget:.2f} s"
            )
        assert isinstance(exc, grpc.aio.AioRpcError)
        code = exc.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            return CountryOutcome(
                self.country, UNAVAILABLE, latency, detail=_unavailable_detail(exc.details() or "")
            )
        detail = f"{code.name}: {(exc.details() or '')[:MAX_DETAIL]}"
        return CountryOutcome(self.country, ERROR, latency, detail=detail)

    async def match_batch(
        self,
        request: connector_pb2.MatchBatchRequest | bytes,
        started: float,
        cap: float | None,
    ) -> tuple[CountryOutcome, list[connector_pb2.KeySetHits]]:
        """Match one batch of a screening, under the rules of `ask`.

        The request may be given serialized: a screening asks every country the same
        batch, and serializing tens of thousands of keys once instead of per country is a
        measurable part of the broker's work.

        The node's own deadline capped by the caller's budget, retries on UNAVAILABLE only
        (MatchBatch is read-only too), no call while suspended, and each outcome counts
        toward the suspension as a search's does, so a node that fails batches is spared
        the rest of a long screening. The outcome is HIT when any set hit and carries no
        hits itself: they are per subject, in the KeySetHits. Batch latencies stay out of
        `recent_latencies`, which `selec status` reads as single-search latencies.
        """
        if not self.suspension.allows_call():
            state = self.suspension.state()
            detail = (
                f"suspended for {state.remaining_seconds:.1f} s after "
                f"{state.consecutive_failures} failures ({state.last_failure})"
            )
            return CountryOutcome(
                self.country, UNAVAILABLE, time.monotonic() - started, detail=detail
            ), []
        own = self.settings.deadline_seconds
        budget = own if cap is None else max(0.0, min(own, cap))
        rpc = self._stub.MatchBatch
        if isinstance(request, bytes):
            rpc = self._channel.unary_unary(
                MATCH_BATCH_METHOD,
                request_serializer=None,
                response_deserializer=connector_pb2.MatchBatchResponse.FromString,
            )
        try:
            response = await self._call_with_retries(rpc, request, started + budget)
        except (TimeoutError, grpc.aio.AioRpcError) as exc:
            outcome = self._failure(exc, time.monotonic() - started, budget)
            if not (outcome.status == TIMEOUT and budget < own):
                self.suspension.record_failure(outcome.detail)
            return outcome, []
        latency = time.monotonic() - started
        problem = self._answer_problem(response)
        for index, result in enumerate(response.results if problem is None else ()):
            untrusted = untrusted_hits(result.hits, self.country, None)
            if untrusted is not None:
                problem = (
                    f"node answered hits the broker cannot pass on: results[{index}].{untrusted}"
                )
                break
        if problem is not None:
            self.suspension.record_failure(problem)
            return CountryOutcome(self.country, ERROR, latency, detail=problem), []
        self.suspension.record_success()
        results = list(response.results)
        return CountryOutcome(self.country, HIT if results else NO_HIT, latency), results

    async def _call_with_retries(
        self, rpc: grpc.aio.UnaryUnaryMultiCallable, request: object, deadline: float
    ) -> Any:
        """Call a read-only unary method of the node (Match, MatchBatch) within deadline.

        A plain first attempt (building a retry controller for every call cost an eighth
        of the broker's CPU per search in the benchmark's profile); tenacity only after a
        transient failure, while the deadline allows.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            return await rpc(request, timeout=remaining, metadata=outgoing_metadata())
        except grpc.aio.AioRpcError as exc:
            if self._retry.attempts < 2 or not _is_transient(exc):
                raise
        if self._on_retry is not None:
            self._on_retry(self.country)
        await self._reconnected(deadline)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts - 1)
            | stop_before_delay(max(0.0, deadline - time.monotonic())),
            wait=wait_exponential_jitter(
                multiplier=self._retry.backoff_seconds, jitter=self._retry.backoff_seconds, max=1.0
            ),
            retry=retry_if_exception(_is_transient),
            before_sleep=lambda _state: self._on_retry and self._on_retry(self.country),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                return await rpc(request, timeout=remaining, metadata=outgoing_metadata())
        raise AssertionError("unreachable: tenacity reraises the last failure")

    async def _reconnected(self, deadline: float) -> None:
        """Wait, briefly, for the channel to be connected again before a retry.

        A call that failed UNAVAILABLE usually met a dropped or refused connection. The
        channel then reconnects only after its reconnect back-off (200 ms at first), and a
        call made meanwhile fails at once without reaching the node: a retry sooner than
        that is wasted, and a node whose link drops now and then would never be saved by
        it. So the retry waits until the channel is READY, at most RECONNECT_WAIT_SECONDS
        and never past the deadline; a node that stays unreachable is retried all the
        same, and fails (that much later, and only until it is suspended).
        """
        wait = min(RECONNECT_WAIT_SECONDS, deadline - time.monotonic())
        if wait <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                state = self._channel.get_state(try_to_connect=True)
                while state != grpc.ChannelConnectivity.READY:
                    await self._channel.wait_for_state_change(state)
                    state = self._channel.get_state(try_to_connect=True)


async def fan_out(
    questions: Iterable[Coroutine[object, object, CountryOutcome]],
) -> AsyncIterator[CountryOutcome]:
    """Run every question in parallel; yield each outcome as it arrives.

    Closing the generator early (the caller went away) cancels the questions still
    running: stragglers are cancelled, never abandoned.
    """
    tasks = [asyncio.create_task(question) for question in questions]
    try:
        for finished in asyncio.as_completed(tasks):
            yield await finished
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
