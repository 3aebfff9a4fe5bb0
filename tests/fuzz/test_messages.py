"""Well-formed but hostile messages to every RPC: each ends in a documented status.

Messages are built from the descriptors (any field, any value of its type, boundary
values, 10,000 entries) or by breaking a valid request one field at a time; streams come
in odd shapes. See tests/fuzz/strategies.py and docs/errors.md.
"""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given

from tests.fuzz.contract import ALLOWED, problems
from tests.fuzz.harness import Running, call, target_names, targets

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", target_names())
def test_every_reply_keeps_the_contract(running: Running, name: str) -> None:
    target = {t.name: t for t in targets(running)}[name]
    allowed = ALLOWED[target.method] - {grpc.StatusCode.DEADLINE_EXCEEDED}

    @given(request=target.requests, metadata=target.metadata)
    def check(request: object, metadata: tuple[tuple[str, str], ...]) -> None:
        outcome = call(target.channel, target.method, request, metadata)
        assert not problems(outcome, allowed), (problems(outcome, allowed), outcome)

    check()


def test_every_rpc_is_fuzzed() -> None:
    """A method added to the contract must be added to the fuzz targets (and docs/errors.md)."""
    methods = {f"/selec.v1.{name.split('@')[0]}" for name in target_names()}
    assert methods == set(ALLOWED)


def test_servers_still_answer_after_the_fuzzing(running: Running) -> None:
    assert running.search_works()
