"""Limits: message size, criteria per search, subjects per screening, per-caller rates.

Real brokers over real nodes on loopback, restarted with the `limits:` settings under test.
Each limit, once exceeded, answers with its own status and a message that names it; under
the limit the call works; a rate-limited caller that waits as long as it was told is
served again. Timing is asserted only as lower bounds or "within the first N calls",
which load on the machine cannot break.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from broker.config import IndexSettings, LimitsSettings, Rate
from broker.criteria import CriteriaLimits, search_keys
from broker.limits import RETRY_AFTER, RateLimiter
from broker.server import start_broker
from connectors.keys import KeyScheme
from connectors.service import MAX_KEYS_PER_MATCH
from selec.v1 import broker_pb2, common_pb2, requests_pb2
from tests.federation import KEY_SECRET, Federation, person, start_federation
from tests.secure import JOVAN, SecureFederation, secure_channel, start_secure_federation

pytestmark = pytest.mark.integration

Code = grpc.StatusCode
SMALL = 64 * 1024
# Eight given and eight family names with a date of birth (one whose day and month may be
# swapped): more blind keys than a node's Match takes (512).
MANY_NAMES = person(
    "Aleksandar Bogdan Cvetko Dragoljub Emilijan Filip Gavrilo Hristofor",
    "Petrovic Jovanovic Nikolic Markovic Ilic Popovic Kostic Pavlovic",
    "1985-03-04",
)


async def with_limits(fed: Federation, limits: LimitsSettings) -> Federation:
    """fed, its broker restarted with limits (same nodes)."""
    await fed.channel.close()
    await fed.broker.stop(0)
    fed.broker = await start_broker(replace(fed.broker.settings, limits=limits))
    fed.channel = grpc.aio.insecure_channel(fed.broker.address)
    return fed


@pytest.fixture
async def pair(seeded_dir: Path) -> AsyncIterator[Federation]:
    """RS and BG nodes and a broker without auth."""
    running = await start_federation(seeded_dir, ["RS", "BG"])
    yield running
    await running.close()


@pytest.fixture
async def secure(tmp_path: Path) -> AsyncIterator[SecureFederation]:
    """RS and BG over mTLS, with tokens, grants and the request store."""
    running = await start_secure_federation(
        tmp_path, IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    )
    yield running
    await running.close()


async def secure_with_limits(fed: SecureFederation, limits: LimitsSettings) -> None:
    """Restart fed's broker (same stores and nodes) with limits."""
    settings = replace(fed.broker.settings, limits=limits)
    await fed.channel.close()
    await fed.broker.stop(0)
    fed.broker = await start_broker(settings)
    fed.channel = secure_channel(fed.pki, fed.broker.address)


def search_request(criteria: common_pb2.Criteria) -> broker_pb2.SearchRequest:
    return broker_pb2.SearchRequest(criteria=criteria, purpose="test", legal_basis="test")


async def search_error(
    fed: Federation | SecureFederation,
    criteria: common_pb2.Criteria,
    metadata: tuple[tuple[str, str], ...] = (),
) -> grpc.aio.AioRpcError | None:
    """The error a search ends with, or None when it ends with its summary."""
    stub = fed.stub if isinstance(fed, Federation) else fed.search_stub
    try:
        events = [
            e async for e in stub.Search(search_request(criteria), timeout=10, metadata=metadata)
        ]
    except grpc.aio.AioRpcError as exc:
        return exc
    assert events and events[-1].HasField("summary")
    return None


def screen_messages(
    subjects: Iterable[common_pb2.Criteria],
) -> list[broker_pb2.ScreenRequest]:
    header = broker_pb2.ScreenHeader(purpose="test", legal_basis="test")
    return [broker_pb2.ScreenRequest(header=header)] + [
        broker_pb2.ScreenRequest(
            subject=broker_pb2.ScreenSubject(subject_id=str(n), criteria=criteria)
        )
        for n, criteria in enumerate(subjects)
    ]


async def screen(
    fed: Federation | SecureFederation,
    subjects: Iterable[common_pb2.Criteria],
    metadata: tuple[tuple[str, str], ...] = (),
) -> list[broker_pb2.ScreenEvent]:
    stub = fed.stub if isinstance(fed, Federation) else fed.search_stub
    call = stub.Screen(iter(screen_messages(subjects)), timeout=30, metadata=metadata)
    return [event async for event in call]


def retry_after(error: grpc.aio.AioRpcError) -> float:
    """The machine-readable wait of a RESOURCE_EXHAUSTED answer, in seconds."""
    values = [v for k, v in error.trailing_metadata() or () if k == RETRY_AFTER]
    assert len(values) == 1, error.trailing_metadata()
    return float(values[0])


# ------------------------------------------------------------------------ message size


async def test_an_oversized_message_is_resource_exhausted(pair: Federation) -> None:
    fed = await with_limits(pair, LimitsSettings(max_receive_message_bytes=SMALL))
    big = person("A" * (SMALL + 100), "Petrovic")
    error = await search_error(fed, big)
    assert error is not None and error.code() == Code.RESOURCE_EXHAUSTED
    assert "larger than max" in (error.details() or "")
    # A screening stream whose one message is too big fails the same way.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await screen(fed, [big])
    assert caught.value.code() == Code.RESOURCE_EXHAUSTED
    # Under the limit the message reaches the handler, which judges it on its merits.
    long_name = await search_error(fed, person("A" * 300, "Petrovic"))
    assert long_name is not None and long_name.code() == Code.INVALID_ARGUMENT
    assert "longer than 200 characters" in (long_name.details() or "")
    assert await search_error(fed, person("Jovan", "Petrovic")) is None


# ------------------------------------------------------------------ criteria per search


async def test_too_many_blind_keys_are_refused_before_the_fan_out(pair: Federation) -> None:
    fed = await with_limits(pair, LimitsSettings(max_keys_per_search=20))
    error = await search_error(fed, person("Jovan", "Petrovic", "1985-03-14"))
    assert error is not None and error.code() == Code.RESOURCE_EXHAUSTED
    assert error.details() == (
        "criteria: yield 61 blind keys, at most 20 per search; "
        "give fewer name parts or fewer identifiers at once"
    )
    assert await search_error(fed, person("Jovan", "Petrovic")) is None
    # In a screening, the subject with too many keys fails alone.
    events = await screen(
        fed, [person("Jovan", "Petrovic", "1985-03-14"), person("Jovan", "Petrovic")]
    )
    first, second, summary = events
    assert "at most 20 per search" in first.subject.error
    assert second.subject.subject_id == "1" and not second.subject.error
    assert summary.summary.subjects == 2 and summary.summary.subjects_with_errors == 1


async def test_the_default_key_limit_is_what_a_node_accepts(pair: Federation) -> None:
    """Criteria the nodes would all refuse are refused once, up front, with the reason."""
    unlimited = CriteriaLimits(max_keys=10**6)
    count = len(search_keys(MANY_NAMES, KeyScheme(KEY_SECRET), unlimited).keys)
    assert count > MAX_KEYS_PER_MATCH == 512
    error = await search_error(pair, MANY_NAMES)
    assert error is not None and error.code() == Code.RESOURCE_EXHAUSTED
    assert f"yield {count} blind keys, at most 512 per search" in (error.details() or "")


async def test_name_parts_are_limited(pair: Federation) -> None:
    fed = await with_limits(pair, LimitsSettings(max_name_parts=2))
    error = await search_error(fed, person("Ana Maria Ioana", "Popescu"))
    assert error is not None and error.code() == Code.RESOURCE_EXHAUSTED
    assert error.details() == "criteria.person.given_names: more than 2 names"
    assert await search_error(fed, person("Ana Maria", "Popescu")) is None


# ------------------------------------------------------------- subjects per screening


async def test_subjects_per_screening_are_limited(pair: Federation) -> None:
    fed = await with_limits(pair, LimitsSettings(max_subjects_per_screening=3))
    events = await screen(fed, [person("Jovan", "Petrovic")] * 3)
    assert events[-1].summary.subjects == 3
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await screen(fed, [person("Jovan", "Petrovic")] * 4)
    assert caught.value.code() == Code.RESOURCE_EXHAUSTED
    assert "subjects: at most 3 per screening" in (caught.value.details() or "")


# ------------------------------------------------------------------------- rate limits


async def exhaust(call: object, burst: int) -> grpc.aio.AioRpcError:
    """Call until refused: the first `burst` calls must pass, a refusal must come soon.

    call() returns the error a call ended with, or None. Calls with bad criteria are as
    good as real ones here (the limit is taken before the handler runs) and cheaper.
    """
    outcomes = [await call() for _ in range(burst)]  # type: ignore[operator]
    assert all(o is None or o.code() != Code.RESOURCE_EXHAUSTED for o in outcomes), outcomes
    for _ in range(3):
        outcome = await call()  # type: ignore[operator]
        if outcome is not None and outcome.code() == Code.RESOURCE_EXHAUSTED:
            return outcome
    raise AssertionError("never rate limited")


async def test_search_rate_limit_says_how_long_to_wait_and_recovers(pair: Federation) -> None:
    rate = Rate(per_second=0.5, burst=3)
    fed = await with_limits(pair, LimitsSettings(rates={"search": rate}))
    empty = common_pb2.Criteria()
    refused = await exhaust(lambda: search_error(fed, empty), rate.burst)
    wait = retry_after(refused)
    assert 0 < wait <= 1 / rate.per_second
    details = refused.details() or ""
    assert details.startswith("rate limit: Search calls are limited to 0.5 per second per caller")
    assert f"try again in {wait:.3f} s" in details
    await asyncio.sleep(wait)
    assert await search_error(fed, person("Jovan", "Petrovic")) is None
    # Only Search is limited: a screening is another class.
    assert (await screen(fed, [person("Jovan", "Petrovic")]))[-1].HasField("summary")


async def test_screen_streams_are_refused_when_the_budget_is_spent(pair: Federation) -> None:
    rate = Rate(per_second=0.5, burst=2)
    fed = await with_limits(pair, LimitsSettings(rates={"screen": rate}))

    async def empty_screening() -> grpc.aio.AioRpcError | None:
        try:
            events = await screen(fed, [])
        except grpc.aio.AioRpcError as exc:
            return exc
        assert events[-1].HasField("summary")
        return None

    refused = await exhaust(empty_screening, rate.burst)
    assert "Screen subjects are limited to 0.5 per second" in (refused.details() or "")
    await asyncio.sleep(retry_after(refused))
    assert await empty_screening() is None


async def test_screen_subjects_are_paced_not_cut_off(pair: Federation) -> None:
    """Over its rate a stream is slowed down; every subject still gets its result."""
    rate = Rate(per_second=40, burst=5)
    fed = await with_limits(pair, LimitsSettings(rates={"screen": rate}))
    started = time.monotonic()
    events = await screen(fed, [person("Jovan", "Petrovic")] * 25)
    elapsed = time.monotonic() - started
    assert [e.subject.subject_id for e in events[:-1]] == [str(n) for n in range(25)]
    assert events[-1].summary.subjects == 25
    # 26 tokens (the stream and 25 subjects) from a bucket of 5 refilling at 40/s.
    assert elapsed >= (26 - rate.burst) / rate.per_second * 0.9
    registry = fed.broker.metrics.registry
    assert (
        registry.get_sample_value("selec_rate_paced_seconds_total", {"role": "anonymous"}) or 0
    ) > 0


async def test_rates_are_per_caller_with_overrides_and_bounded_metrics(
    secure: SecureFederation,
) -> None:
    rate = Rate(per_second=0.5, burst=2)
    await secure_with_limits(
        secure,
        LimitsSettings(
            rates={"search": rate, "requests": rate},
            callers={("RS", "officer.rs"): {"search": Rate(per_second=0.5, burst=6)}},
        ),
    )
    empty = common_pb2.Criteria()

    def search_as(who: str) -> object:
        return lambda: search_error(secure, empty, secure.auth(who))

    refused = await exhaust(search_as("officer.gr"), rate.burst)
    assert retry_after(refused) > 0
    # Another officer, of the same country, has a budget of their own.
    assert await search_error(secure, JOVAN, secure.auth("officer2.gr")) is None
    # officer.rs has a larger burst, configured for that account alone.
    await exhaust(search_as("officer.rs"), 6)

    # The RequestService is its own class.
    async def list_as_gr() -> grpc.aio.AioRpcError | None:
        try:
            await secure.requests.ListRequests(
                requests_pb2.ListRequestsRequest(mine=True),
                timeout=10,
                metadata=secure.auth("officer.gr"),
            )
        except grpc.aio.AioRpcError as exc:
            return exc
        return None

    refused = await exhaust(list_as_gr, rate.burst)
    assert "ListRequests calls are limited" in (refused.details() or "")

    registry = secure.broker.metrics.registry
    sample = registry.get_sample_value
    assert (sample("selec_rate_limited_total", {"method": "Search", "role": "officer"}) or 0) >= 2
    assert (
        sample("selec_rate_limited_total", {"method": "ListRequests", "role": "officer"}) or 0
    ) >= 1
    labels = {
        value
        for metric in registry.collect()
        if metric.name.startswith("selec_rate")
        for s in metric.samples
        for value in s.labels.values()
    }
    assert not {v for v in labels if "." in v or v in ("GR", "RS")}, labels


# ------------------------------------------------------------ the limiter's own rules


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waiting_as_told_is_enough() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitsSettings(), clock=clock)
    rate = Rate(per_second=4, burst=2)
    assert limiter.try_take("a", "search", rate) == 0
    assert limiter.try_take("a", "search", rate) == 0
    wait = limiter.try_take("a", "search", rate)
    assert wait == pytest.approx(0.25)
    clock.now += wait
    assert limiter.try_take("a", "search", rate) == 0
    # A paced stream goes into debt, and a call then waits for the debt too.
    assert limiter.pace("a", "screen", rate) == 0
    assert limiter.pace("a", "screen", rate) == 0
    assert limiter.pace("a", "screen", rate) == pytest.approx(0.25)
    assert limiter.try_take("a", "screen", rate) == pytest.approx(0.5)
    # A group of subjects in one message takes a token each.
    assert limiter.pace("b", "screen", rate, tokens=6) == pytest.approx(1.0)


def test_buckets_are_bounded_and_forgotten_once_full() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitsSettings(max_tracked_callers=100), clock=clock)
    rate = Rate(per_second=10, burst=5)
    for caller in range(1000):
        limiter.try_take(caller, "search", rate)
        clock.now += 0.001
    assert limiter.tracked == 100
    # Once a bucket has refilled, forgetting it changes nothing: it is dropped.
    clock.now += 1 / rate.per_second + 0.001
    limiter.try_take("late", "search", rate)
    assert limiter.tracked == 1
