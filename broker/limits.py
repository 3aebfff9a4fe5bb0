"""Per-caller rate limits: a token bucket per caller and class of RPC.

Why per caller and per class: one officer's runaway script, or one national system's
misconfigured loop, must not take the federation's capacity from everyone else, and a
search, a screened subject and an approval step cost very different amounts. The classes
(`broker.config.RATE_CLASSES`) are: `search` (Search calls), `screen` (Screen subjects),
`requests` (every RequestService call), `publish` (Publish calls) and `admin` (GetStatus,
AuditService). A class without a configured rate is not limited.

**Who a caller is.** The verified token's country and subject (`broker.auth` sets
`current_identity` before this interceptor's handler runs), so an officer and a national
system's account each have their own buckets, and `limits.callers` may give one account
(a border system screening manifests) more. Without authentication (development) the
peer's address stands in. The key is held in memory only: it is never logged and never a
metric label.

**What a refusal says.** RESOURCE_EXHAUSTED, a message that names the limit and says how
long to wait, and trailing metadata `retry-after` with the same wait in seconds (a decimal
number), so a client can back off without parsing text. Waiting that long is enough: the
bucket then holds the token the call needs (unless the caller spent it elsewhere meanwhile).

**Screen counts subjects, and paces them instead of failing.** Opening a stream takes one
token and is refused like any call when there is none. Then each subject takes one (a
message carrying a group of subjects takes one per subject): when
the caller is over its rate, the broker stops reading the stream until the subject's
token has accrued, and gRPC flow control slows the sender. A long list is thereby screened
at the caller's rate rather than cut off half way, and several streams of one caller share
its one budget.

**Bounded memory.** A bucket is dropped as soon as it would be full again (idle long enough
to refill: forgetting it then changes nothing), and never more than `max_tracked_callers`
are kept; beyond that the least recently used is dropped early, in the caller's favour.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter

from broker.auth import ANONYMOUS, POLICY, current_identity
from broker.config import LimitsSettings, Rate
from selec.handlers import HandlerCache, same_shape
from selec.tokens import Identity
from selec.v1 import broker_pb2

RETRY_AFTER = "retry-after"
_METHOD_CLASSES = {
    "/selec.v1.BrokerService/Search": "search",
    "/selec.v1.BrokerService/Screen": "screen",
    "/selec.v1.BrokerService/Publish": "publish",
    "/selec.v1.BrokerService/GetStatus": "admin",
}
_SERVICE_CLASSES = {
    "/selec.v1.RequestService/": "requests",
    "/selec.v1.AuditService/": "admin",
}
_UNITS = {"screen": "Screen subjects"}


def rpc_class(method: str) -> str | None:
    """The rate class of a full method name; None for calls never limited (health...)."""
    if method in _METHOD_CLASSES:
        return _METHOD_CLASSES[method]
    for prefix, name in _SERVICE_CLASSES.items():
        if method.startswith(prefix):
            return name
    return None


@dataclass(slots=True)
class _Bucket:
    """Tokens at `updated` (monotonic seconds); negative while a paced stream is ahead."""

    rate: Rate
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(
            float(self.rate.burst), self.tokens + (now - self.updated) * self.rate.per_second
        )
        self.updated = now

    def full_again_at(self) -> float:
        return self.updated + (self.rate.burst - self.tokens) / self.rate.per_second


class RateLimiter:
    """Token buckets by (caller, class), built from the `limits:` settings."""

    def __init__(
        self, settings: LimitsSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._buckets: OrderedDict[tuple[object, str], _Bucket] = OrderedDict()

    @property
    def tracked(self) -> int:
        """Buckets held now (for tests of the memory bound)."""
        return len(self._buckets)

    def rate(self, identity: Identity, name: str) -> Rate | None:
        """The caller's rate for class name: its own override, else the default, else None."""
        override = self._settings.callers.get((identity.country, identity.officer))
        if override is not None and name in override:
            return override[name]
        return self._settings.rates.get(name)

    def _bucket(self, caller: object, name: str, rate: Rate) -> _Bucket:
        now = self._clock()
        self._forget_full(now)
        key = (caller, name)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(rate, float(rate.burst), now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._settings.max_tracked_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.refill(now)
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop the least recently used buckets that have refilled completely."""
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if oldest.full_again_at() > now:
                return
            self._buckets.popitem(last=False)

    def try_take(self, caller: object, name: str, rate: Rate) -> float:
        """Take one token: 0.0 when taken, else the seconds until one is there (not taken)."""
        bucket = self._bucket(caller, name, rate)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate.per_second

    def pace(self, caller: object, name: str, rate: Rate, tokens: int = 1) -> float:
        """Take tokens, going into debt if need be: the seconds to wait before using them."""
        bucket = self._bucket(caller, name, rate)
        bucket.tokens -= tokens
        return max(0.0, -bucket.tokens / rate.per_second)


def _subjects(message: object) -> int:
    """Subjects in one Screen request message: one, or a group's (0 for the header, or
    a message that could not be parsed)."""
    if not isinstance(message, broker_pb2.ScreenRequest):
        return 0
    item = message.WhichOneof("item")
    if item == "subject":
        return 1
    if item == "subjects":
        return len(message.subjects.subjects)  # type: ignore[attr-defined]
    return 0


def _caller(identity: Identity, context: grpc.aio.ServicerContext) -> object:
    """Whose bucket: the token's country and subject, or the peer's host without auth."""
    if identity is ANONYMOUS:
        return ("peer", (context.peer() or "").rpartition(":")[0])
    return (identity.country, identity.officer)


def _role(identity: Identity, method: str) -> str:
    """The role the call was allowed under: a bounded metric label, never the caller."""
    if identity is ANONYMOUS:
        return "anonymous"
    allowed = sorted(identity.roles & POLICY.get(method, frozenset()))
    return allowed[0] if allowed else "none"


def _seconds_up(wait: float) -> float:
    """wait rounded up to the millisecond: waiting that long is always enough."""
    return math.ceil(wait * 1000) / 1000


class RateLimitInterceptor(grpc.aio.ServerInterceptor):
    """Applies a RateLimiter to every limited RPC; must come after the AuthInterceptor."""

    def __init__(self, limiter: RateLimiter, registry: CollectorRegistry | None = None) -> None:
        self._limiter = limiter
        self._handlers = HandlerCache(self._wrap)
        registry = registry if registry is not None else CollectorRegistry()
        self._refused = Counter(
            "selec_rate_limited",
            "Calls refused with RESOURCE_EXHAUSTED by a per-caller rate limit, by method and "
            "the role the call was allowed under.",
            ["method", "role"],
            registry=registry,
        )
        self._paced_seconds = Counter(
            "selec_rate_paced_seconds",
            "Seconds Screen streams were held back to their caller's subject rate.",
            ["role"],
            registry=registry,
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """The handler, wrapped to take a token before it runs (and per Screen subject)."""
        handler = await continuation(details)
        if handler is None or rpc_class(details.method) is None:
            return handler
        return self._handlers.get(handler, details.method)

    async def _admit(
        self, context: grpc.aio.ServicerContext, method: str, name: str
    ) -> tuple[object, Rate] | None:
        """Take the call's token or abort with RESOURCE_EXHAUSTED; the caller's bucket
        key and rate when the class is limited (None when it is not)."""
        identity = current_identity.get()
        rate = self._limiter.rate(identity, name)
        if rate is None:
            return None
        caller = _caller(identity, context)
        wait = self._limiter.try_take(caller, name, rate)
        if wait > 0:
            short = method.rsplit("/", 1)[-1]
            wait = _seconds_up(wait)
            self._refused.labels(short, _role(identity, method)).inc()
            what = _UNITS.get(name, f"{short} calls")
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"rate limit: {what} are limited to {rate.per_second:g} per second per caller "
                f"(bursts of {rate.burst}); try again in {wait:.3f} s",
                trailing_metadata=((RETRY_AFTER, f"{wait:.3f}"),),
            )
        return caller, rate

    def _pace_subjects(
        self, requests: AsyncIterator[Any], caller: object, rate: Rate, role: str
    ) -> AsyncIterator[Any]:
        """The request stream, each subject released only once its token has accrued."""
        limiter, paced = self._limiter, self._paced_seconds

        async def paced_requests() -> AsyncIterator[Any]:
            async for message in requests:
                count = _subjects(message)
                if count:
                    wait = limiter.pace(caller, "screen", rate, count)
                    if wait > 0:
                        paced.labels(role).inc(wait)
                        await asyncio.sleep(wait)
                yield message

        return paced_requests()

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        admit, name = self._admit, rpc_class(method)
        assert name is not None

        def unary(behaviour: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await admit(context, method, name)
                return await behaviour(request, context)

            return run

        def stream(behaviour: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
            async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                admitted = await admit(context, method, name)
                if admitted is not None and name == "screen":
                    caller, rate = admitted
                    role = _role(current_identity.get(), method)
                    request = self._pace_subjects(request, caller, rate, role)
                async for response in behaviour(request, context):
                    yield response

            return run

        return same_shape(
            handler,
            lambda behaviour, _, streaming_out: (stream if streaming_out else unary)(behaviour),
        )
