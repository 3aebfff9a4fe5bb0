"""Bytes no client library would send, to every RPC: random bytes, truncated messages,
invalid UTF-8 inside string fields, trailing garbage; streams of them.

grpc-python answers UNKNOWN with the DecodeError's text when a request cannot be parsed;
selec.decoding turns that into INVALID_ARGUMENT naming the expected message type.
"""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given

from tests.fuzz.contract import ALLOWED, problems
from tests.fuzz.harness import Running, call, target_names, targets

pytestmark = pytest.mark.integration

BAD_UTF8_NAME = b"\x0a\x08\x0a\x06\x0a\x02\xff\xfe"  # criteria.person.given_names = ff fe


@pytest.mark.parametrize("name", target_names())
def test_undecodable_requests_get_a_documented_status(running: Running, name: str) -> None:
    target = {t.name: t for t in targets(running)}[name]
    allowed = ALLOWED[target.method] - {grpc.StatusCode.DEADLINE_EXCEEDED}

    @given(payload=target.raw, metadata=target.metadata)
    def check(payload: object, metadata: tuple[tuple[str, str], ...]) -> None:
        outcome = call(target.channel, target.method, payload, metadata)
        assert not problems(outcome, allowed), (problems(outcome, allowed), outcome)

    check()


@pytest.mark.parametrize(
    ("channel", "method", "payload"),
    [
        ("plain-broker", "/selec.v1.BrokerService/Search", BAD_UTF8_NAME),
        ("secure-broker", "/selec.v1.RequestService/Decide", b"\x0a\x02\xc3\x28"),
        ("plain-broker", "/selec.v1.BrokerService/Publish", [b"\x0a\x04\x0a\x02\xff\xff"]),
        ("plain-broker", "/selec.v1.BrokerService/Screen", [b"\xff\xff\xff\xff"]),
        ("plain-node-RS", "/selec.v1.ConnectorService/Match", b"\x0a\x02\xff\xfe"),
        ("secure-node-RS", "/selec.v1.ConnectorService/MatchBatch", b"\x12\x03\x0a\x01\xff"),
    ],
)
def test_a_request_that_cannot_be_parsed_is_invalid_argument(
    running: Running, channel: str, method: str, payload: bytes | list[bytes]
) -> None:
    """Regression: these were UNKNOWN "Unexpected <class 'DecodeError'>: ..." replies."""
    metadata = running.secure.auth("approver.rs") if channel == "secure-broker" else ()
    outcome = call(running.channels[channel], method, payload, metadata)
    assert outcome.code == grpc.StatusCode.INVALID_ARGUMENT, outcome
    assert "not a valid selec.v1." in outcome.details
    assert "DecodeError" not in outcome.details and "<class" not in outcome.details


def test_servers_still_answer_after_the_fuzzing(running: Running) -> None:
    assert running.search_works()
