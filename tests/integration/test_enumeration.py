"""Enumeration: a guess teaches nothing about what exists.

Over a real secure federation (mTLS, tokens, real stores): a request id that does not
exist and a real one the caller may not see get the same answer, byte for byte, after
the same work (their timing distributions agree); a details request for a guessed
reference looks exactly like one for a real reference; and references and request ids
are unguessable in form. Timing is compared on medians of a few hundred interleaved calls
with a generous tolerance, so load on the machine shifts both alike and cannot fail it.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from broker.config import IndexSettings
from connectors.keying import RecordKeyer
from connectors.keys import KeyScheme
from selec.v1 import requests_pb2
from tests.federation import KEY_SECRET
from tests.secure import SecureFederation, start_secure_federation

pytestmark = pytest.mark.integration

Answer = tuple[grpc.StatusCode, str, tuple[tuple[str, str | bytes], ...]]
TIMED_CALLS = 200
# The median of paired differences may be this fraction of the median call, plus a
# quarter of a millisecond. Measured on the 2-core development machine under load: about
# 0.05 ms between the two paths here (calls take 3 to 5 ms); 0.6 ms when one path skips
# the store read; more when it skips the audit write.
TOLERANCE = 0.15
SLACK_SECONDS = 0.00025


@pytest.fixture
async def fed(tmp_path: Path, backend: IndexSettings) -> AsyncIterator[SecureFederation]:
    federation = await start_secure_federation(tmp_path, backend)
    yield federation
    await federation.close()


@pytest.fixture
async def sqlite_fed(tmp_path: Path) -> AsyncIterator[SecureFederation]:
    federation = await start_secure_federation(
        tmp_path, IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    )
    yield federation
    await federation.close()


async def answer(call: Awaitable[object]) -> Answer:
    """Everything a caller learns from a refused call: code, message, trailers."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        trailers = tuple((k, v) for k, v in exc.trailing_metadata() or ())
        return exc.code(), exc.details() or "", trailers
    raise AssertionError("the call was not refused")


def unknown_id() -> str:
    return secrets.token_hex(16)


def calls(fed: SecureFederation) -> dict[str, Callable[[str, str], Awaitable[object]]]:
    """Every RPC that takes a request id, as (request_id, person) -> call."""
    stub = fed.requests

    def decide(request_id: str, who: str) -> Awaitable[object]:
        return stub.Decide(
            requests_pb2.DecideRequest(
                request_id=request_id, approve=True, handling_code=requests_pb2.HANDLING_CODE_H1
            ),
            timeout=10,
            metadata=fed.auth(who),
        )

    def withdraw(request_id: str, who: str) -> Awaitable[object]:
        return stub.Withdraw(
            requests_pb2.WithdrawRequest(request_id=request_id), timeout=10, metadata=fed.auth(who)
        )

    def reveal(request_id: str, who: str) -> Awaitable[object]:
        return stub.Reveal(
            requests_pb2.RevealRequest(request_id=request_id), timeout=10, metadata=fed.auth(who)
        )

    return {"Decide": decide, "Withdraw": withdraw, "Reveal": reveal}


# Who may not see officer.gr's request for an RS record, per RPC (each has the RPC's role).
OUTSIDERS = {
    "Decide": ["approver.bg"],
    "Withdraw": ["officer.rs", "officer2.gr"],
    "Reveal": ["officer.rs", "officer2.gr"],
}


async def test_unknown_and_not_yours_get_the_same_answer(fed: SecureFederation) -> None:
    pending = await fed.request_details(await fed.hit_reference())
    approved = await fed.request_details(await fed.hit_reference())
    await fed.approve(approved.request_id)
    for rpc, call in calls(fed).items():
        for who in OUTSIDERS[rpc]:
            for real in (pending.request_id, approved.request_id):
                theirs = await answer(call(real, who))
                guessed = await answer(call(unknown_id(), who))
                assert theirs == guessed, (rpc, who)
                assert theirs[:2] == (
                    grpc.StatusCode.NOT_FOUND,
                    "no such request (or not one you may see)",
                )
    # Nothing was changed by the outsiders: the requester still withdraws, then reveals
    # nothing (withdrawn), and the approved one is still theirs to reveal.
    assert (await fed.reveal(approved.request_id)).reference == approved.reference
    withdrawn = await fed.requests.Withdraw(
        requests_pb2.WithdrawRequest(request_id=pending.request_id),
        timeout=10,
        metadata=fed.auth("officer.gr"),
    )
    assert withdrawn.state == requests_pb2.REQUEST_STATE_WITHDRAWN


async def timings(
    call: Callable[[str], Awaitable[object]], first: Callable[[], str], second: Callable[[], str]
) -> tuple[list[float], list[float]]:
    """Seconds per call for ids from first() and second(), in pairs of one each, so load
    on the machine falls on both alike; which one goes first alternates, so an effect of
    the order cannot pass for a difference between the paths."""
    times: tuple[list[float], list[float]] = ([], [])

    async def timed(make: Callable[[], str], into: list[float]) -> None:
        request_id = make()
        started = time.perf_counter()
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call(request_id)
        into.append(time.perf_counter() - started)

    for n in range(TIMED_CALLS):
        pair = [(first, times[0]), (second, times[1])]
        for make, into in pair if n % 2 == 0 else reversed(pair):
            await timed(make, into)
    return times


def assert_indistinguishable(a: list[float], b: list[float]) -> None:
    """The median of the paired differences is small against the median call."""
    difference = statistics.median(x - y for x, y in zip(a, b, strict=True))
    typical = statistics.median(a + b)
    assert abs(difference) <= TOLERANCE * typical + SLACK_SECONDS, (
        f"paths differ by {difference * 1000:.3f} ms in calls of {typical * 1000:.3f} ms"
    )


async def test_unknown_and_not_yours_take_the_same_time(sqlite_fed: SecureFederation) -> None:
    fed = sqlite_fed
    real = (await fed.request_details(await fed.hit_reference())).request_id
    reveal = calls(fed)["Reveal"]
    for _ in range(10):  # warm up channel, thread pool and store
        await answer(reveal(real, "officer.rs"))
    theirs, guessed = await timings(
        lambda request_id: reveal(request_id, "officer.rs"), lambda: real, unknown_id
    )
    assert_indistinguishable(theirs, guessed)


async def test_a_guessed_reference_looks_like_a_real_one(sqlite_fed: SecureFederation) -> None:
    """RequestDetails does not look references up: its answer cannot depend on them."""
    fed = sqlite_fed
    real = await fed.hit_reference("officer.gr")
    guessed = f"RS-{base64.b32encode(secrets.token_bytes(16)).decode().rstrip('=')}"

    def shape(message: requests_pb2.DetailsRequest) -> bytes:
        """The answer without what differs by construction: id, reference, times."""
        for name in ("request_id", "reference", "created_at", "deadline_at"):
            message.ClearField(name)
        return message.SerializeToString(deterministic=True)

    # officer2.gr never searched: the real reference was never returned to them.
    answers = [
        await fed.request_details(reference, person="officer2.gr") for reference in (real, guessed)
    ]
    assert shape(answers[0]) == shape(answers[1])
    assert answers[0].state == requests_pb2.REQUEST_STATE_PENDING

    async def request(reference: str) -> object:
        return await fed.request_details(reference, person="officer2.gr")

    known, unknown = await timings(request, lambda: real, lambda: guessed)
    assert_indistinguishable(known, unknown)


async def test_references_and_request_ids_are_unguessable(fed: SecureFederation) -> None:
    reference = await fed.hit_reference()
    country, _, payload = reference.partition("-")
    assert country == "RS" and len(payload) == 26  # 128 bits in base32
    assert set(payload) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    # Derived from the record id only with the node's own secret: the same ids under
    # another secret give other references.
    scheme = KeyScheme(KEY_SECRET)
    node = RecordKeyer("RS", scheme, b"RS" * 16)
    other = RecordKeyer("RS", scheme, secrets.token_bytes(32))
    ids = [str(n) for n in range(1, 2001)]
    ours = [node.reference(i) for i in ids]
    assert len(set(ours)) == len(ids)
    assert not set(ours) & {other.reference(i) for i in ids}
    # The payload's symbols are spread evenly (consecutive ids give no pattern).
    counts = collections.Counter("".join(r.partition("-")[2][:25] for r in ours))
    expected = len(ids) * 25 / 32
    assert len(counts) == 32 and all(0.8 * expected < c < 1.2 * expected for c in counts.values())
    # Request ids: 128 random bits, not a sequence.
    first = (await fed.request_details(reference)).request_id
    second = (await fed.request_details(reference)).request_id
    assert len(first) == len(second) == 32 and first != second
    assert abs(int(first, 16) - int(second, 16)) > 2**64
